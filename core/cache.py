"""Values computed once per HTTP request or once per app (usable with or without a request)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from flask import has_request_context
from flask import request

T = TypeVar("T")


def request_cached(key: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per HTTP request (outside a request, on every call). Kept in the
    request's environ, not in ``g``, which tests share between requests."""
    if not has_request_context():
        return compute()
    cache = request.environ.setdefault("tandem.request_cache", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def app_cached(key: object, compute: Callable[[], T]) -> T:
    """``compute()`` once per app (per key): for what depends only on the app's installed
    modules and routes (and a key's other parts), such as links the same on every page and
    a filter's labels in each language."""
    cache = current_app.extensions.get("tandem_app_cache")
    if cache is None:  # the first value of this app
        cache = current_app.extensions.setdefault("tandem_app_cache", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


KEPT_SWEEP_AT = 5000  # values kept per app before the expired ones are dropped


def app_kept(key: object, compute: Callable[[], T], seconds: float) -> T:
    """``compute()`` once per app (per key) every ``seconds``: for a setting read on every
    page that may change, or a reader's own choices, where a statement a request would cost
    more than a change showing a little later. Keys may be per user: once the app keeps
    :data:`KEPT_SWEEP_AT` values, the expired ones are dropped."""
    from time import monotonic

    cache = current_app.extensions.setdefault("tandem_app_kept", {})
    now = monotonic()
    kept = cache.get(key)
    if kept is None or kept[0] < now:
        if len(cache) >= KEPT_SWEEP_AT:
            for stale in [k for k, (until, _value) in cache.items() if until < now]:
                cache.pop(stale, None)
        cache[key] = kept = (now + seconds, compute())
    return kept[1]
