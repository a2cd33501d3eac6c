"""Extension points the wecom module offers to modules that depend on it."""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("tandem")


@hookspec
def wecom_external_contact_changed(event: dict[str, Any], ctx: Any) -> None:
    """A 客户联系 event arrived (``event`` is the decrypted XML as a dict); bridges link it."""


@hookspec
def wecom_official_account_message(message: dict[str, Any], ctx: Any) -> str | None:
    """A message to the official account (e.g. a phone number to bind); return a reply."""
