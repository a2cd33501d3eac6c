"""Extension points the wecom module offers to modules that depend on it."""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

import pluggy

if TYPE_CHECKING:
    from core.services import ServiceContext

hookspec = pluggy.HookspecMarker("tandem")


@hookspec
def wecom_external_contact_changed(event: dict[str, Any], ctx: ServiceContext) -> None:
    """A 客户联系 event arrived (``event`` is the decrypted XML as a dict, ``_event_id`` the
    stored event's id); bridges link it. Runs in a savepoint of the callback's transaction."""


@hookspec(firstresult=True)
def wecom_official_account_message(message: dict[str, Any], ctx: ServiceContext) -> str | None:
    """A message to the official account (e.g. a phone number to bind); the first answer
    that is not ``None`` is the reply."""
