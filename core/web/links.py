"""Links built without a ``url_for`` each: to records (lists and boards show hundreds), on
every page (assets, navigation) and within a list page (sort, pages, export)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from flask import request
from flask import url_for

from core.cache import app_cached

_MARKER = 987654321


def record_url(endpoint: str, param: str = "id") -> Callable[[int], str]:
    """``url_for(endpoint, id=…)`` built once around a marker, then filled per record id."""
    head, _, tail = url_for(endpoint, **{param: _MARKER}).partition(str(_MARKER))
    return lambda record_id: f"{head}{record_id}{tail}"


def fixed_url(endpoint: str, **values: Any) -> str:
    """``url_for`` for a link that is the same on every page (an asset, the navigation bar),
    built once per app and script root: every page shows a dozen, at tens of microseconds
    each."""
    return app_cached(("fixed_url", request.script_root, endpoint, *sorted(values.items())),
                      lambda: url_for(endpoint, **values))


def query_url(base: str, args: Mapping[str, Any]) -> str:
    """``base`` with ``args`` as its query string (what ``url_for(endpoint, **args)`` gives
    for an endpoint without URL parameters), for the many links of one list page."""
    query = urlencode({k: v for k, v in args.items() if v is not None})
    return f"{base}?{query}" if query else base
