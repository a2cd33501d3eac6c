"""Who is asking, without reading it all again on every request.

A request needs its user (with roles), his roles' grants and, for a manager, his team's
members: four statements before the page's own. Each process keeps what it read, per app,
for as long as the **auth epoch** is unchanged: ``core_state['auth_epoch']``, which database
triggers move inside any transaction that writes users, role memberships, grants, teams or
API tokens (``core_0002``), whichever code or tool writes them (Odoo signals its caches
between workers the same way, through a sequence).

The epoch is read once per request, in the request's own transaction, with the other values
every request reads first (``core.web.request_state``). A cache built under one
epoch is dropped as soon as a request sees another. A transaction that changes the rows
commits its new epoch with them, so a request that sees the new epoch reads the new rows;
one that still sees the old epoch may read new rows and keep them under the old epoch, which
the next request's newer epoch discards.

Outside HTTP requests (jobs, the CLI, tests calling services) nothing is cached here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from typing import TypeVar

from flask import current_app
from flask import has_request_context
from flask import request
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm import make_transient_to_detached

from core.cache import request_cached
from core.extensions import db
from core.security.models import User

T = TypeVar("T")

ENVIRON_KEY = "tandem.auth_epoch"
MAX_ENTRIES = 10_000  # users, role sets and teams of one epoch; beyond it, read afresh


class PrincipalCache:
    """Values computed under one auth epoch; another epoch empties it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoch: int | None = None
        self._values: dict[Any, Any] = {}

    def get(self, epoch: int, key: Any, compute: Callable[[], T]) -> T:
        with self._lock:
            if epoch != self._epoch:
                self._epoch, self._values = epoch, {}
            elif key in self._values:
                return self._values[key]
        value = compute()
        with self._lock:  # None (not found) is not kept: unknown tokens must not fill it
            if value is not None and epoch == self._epoch and len(self._values) < MAX_ENTRIES:
                self._values[key] = value
        return value

    def replace(self, epoch: int, key: Any, value: Any) -> None:
        with self._lock:
            if epoch == self._epoch:
                self._values[key] = value


def current_epoch() -> int | None:
    """This request's auth epoch (read once); None outside a request or without the row."""
    if not has_request_context():
        return None
    environ = request.environ
    if ENVIRON_KEY not in environ:
        environ[ENVIRON_KEY] = read_epoch()
    return environ[ENVIRON_KEY]


def read_epoch() -> int | None:
    """The auth epoch, for a request that did not read it first (``core.web.request_state``
    reads it with the registry version)."""
    try:  # through the session's connection: the ORM's execution adds nothing to a scalar
        return db.session.connection().scalar(_EPOCH)
    except SQLAlchemyError:  # a database not migrated yet: nothing is cached
        db.session.rollback()
        return None


_EPOCH = text("SELECT value FROM core_state WHERE key = 'auth_epoch'")


def cached(key: Any, compute: Callable[[], T]) -> T:
    """``compute()``, kept while the auth epoch stays the same (without an epoch: for this
    request only); outside requests computed on every call."""
    epoch = current_epoch()
    if epoch is not None:
        return _cache().get(epoch, key, compute)
    if has_request_context():
        return request_cached(f"principal:{key!r}", compute)
    return compute()


def remember(key: Any, value: Any) -> None:
    """Replace a kept value under the current epoch (a token's last use, say)."""
    epoch = current_epoch()
    if epoch is not None:
        _cache().replace(epoch, key, value)


def _cache() -> PrincipalCache:
    cache = current_app.extensions.get("tandem_principal")
    if cache is None:  # the first request of this app
        cache = current_app.extensions.setdefault("tandem_principal", PrincipalCache())
    return cache


def attached(snapshot: Any) -> Any:
    """A kept (detached) ORM object as an object of this request's session, without SQL; the
    session's own object when it already holds that row (its state is left as it is)."""
    existing = db.session.identity_map.get(sa_inspect(snapshot).key)
    return existing if existing is not None else db.session.merge(snapshot, load=False)


def snapshot(obj: Any, *related: str) -> Any:
    """A detached copy of ``obj`` (its column values, and copies of the objects in its
    ``related`` collections) to keep and merge into later sessions. The loaded object itself
    stays where it is: the request's session (and whoever holds it) is not disturbed."""
    if obj is None:
        return None
    copy = _copy_columns(obj)
    for name in related:
        setattr(copy, name, [_copy_columns(item) for item in getattr(obj, name)])
        for item in getattr(copy, name):
            make_transient_to_detached(item)
    make_transient_to_detached(copy)
    return copy


def _copy_columns(obj: Any) -> Any:
    mapper = sa_inspect(obj).mapper
    return mapper.class_(**{a.key: getattr(obj, a.key) for a in mapper.column_attrs})


def load_user(user_id: int) -> Any:
    """The active user ``user_id`` with his roles, in this request's session."""
    def read() -> Any:
        return db.session.get(User, user_id, options=[joinedload(User.roles)])

    if current_epoch() is None:
        user = read()
    else:
        kept = cached(("user", user_id), lambda: snapshot(read(), "roles"))
        user = attached(kept) if kept is not None else None
    return user if user is not None and user.active else None
