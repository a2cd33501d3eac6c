"""Helpers for assembling the crm module from its parts."""

from __future__ import annotations

from core.util import optional_import


def import_optional_parts(package: str, parts: tuple[str, ...]) -> list:
    """Import ``package.part`` for each part that exists."""
    return [m for m in (optional_import(f"{package}.{p}") for p in parts) if m is not None]
