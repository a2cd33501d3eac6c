"""Links to records, built without a ``url_for`` per row (lists and boards show hundreds)."""

from __future__ import annotations

from collections.abc import Callable

from flask import url_for

_MARKER = 987654321


def record_url(endpoint: str, param: str = "id") -> Callable[[int], str]:
    """``url_for(endpoint, id=…)`` built once around a marker, then filled per record id."""
    head, _, tail = url_for(endpoint, **{param: _MARKER}).partition(str(_MARKER))
    return lambda record_id: f"{head}{record_id}{tail}"
