"""Record-change events for server-sent events (filled in by the realtime work)."""

from __future__ import annotations


def publish_changes(changes: list[tuple[str, str, str]]) -> None:
    """Publish (model, record_id, action) tuples after a commit."""
    return None
