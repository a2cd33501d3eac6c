"""Tandem core: app factory, module system and the services every module shares."""

from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("tandem")


def create_app(test_config: dict | None = None):  # noqa: ANN201
    """Build the Flask app (see :func:`core.app.create_app`)."""
    from core.app import create_app as _create_app

    return _create_app(test_config)


__all__ = ["create_app", "hookimpl"]
