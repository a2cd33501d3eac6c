"""The one way code reaches the running app's hooks and registrations: :func:`call` and
:func:`registry` (the core's own registrations are in :mod:`core.plugin`)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from flask import current_app
from flask import has_app_context

if TYPE_CHECKING:
    from flask import Flask


def registry(app: Flask | None = None) -> Any:
    """The module registry of ``app`` (default: the running app): installed modules and
    their registrations."""
    return (app or current_app).extensions["tandem_registry"]


def registry_or_none() -> Any:
    """The running app's registry; ``None`` outside an app context or while it is built."""
    return current_app.extensions.get("tandem_registry") if has_app_context() else None


def call(name: str, **kwargs: Any) -> Any:
    """Call hook ``name`` on every installed module that implements it.

    Returns pluggy's answer (a list of results, or one result for ``firstresult`` specs);
    ``None`` when no installed module declares the hook (e.g. its module is not installed).
    """
    caller = getattr(registry().hook, name, None)
    return caller(**kwargs) if caller is not None else None
