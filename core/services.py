"""Service context and unit of work shared by the web, API, bot, jobs and CLI edges.

Module services take a :class:`ServiceContext` (never ``current_user``), check permissions,
``flush()`` only, and raise :class:`core.errors.TandemError` subclasses. The edge that called
them owns the transaction through :func:`unit_of_work`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal

from flask_babel import gettext
from sqlalchemy.exc import InvalidRequestError

from core.db import utcnow
from core.errors import PermissionDenied
from core.extensions import db
from core.security.permissions import has_permission
from core.security.permissions import permission_label
from core.security.rules import apply_record_rules

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.orm import Session

    from core.security.models import User

log = logging.getLogger(__name__)

Source = Literal["web", "api", "bot", "job", "cli", "system"]

_current: ContextVar[ServiceContext | None] = ContextVar("tandem_service_ctx", default=None)


@dataclass
class ServiceContext:
    """Who acts, through which channel, and when."""

    actor: User | None
    source: Source = "system"
    now: datetime = field(default_factory=utcnow)
    locale: str = "zh_CN"
    chat_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def actor_id(self) -> int | None:
        return self.actor.id if self.actor is not None else None

    def can(self, permission: str) -> bool:
        return has_permission(self.actor, permission)

    def require(self, permission: str) -> None:
        """Raise :class:`PermissionDenied` (with the missing permission) unless allowed."""
        if not self.can(permission):
            label = permission_label(permission)
            raise PermissionDenied(gettext("无权限：需要“%(label)s”（%(permission)s）",
                                           label=gettext(label) if label else label,
                                           permission=permission))

    def scoped(self, stmt: Select, model: type) -> Select:
        """Apply the record rules of ``model`` for this actor to a SELECT."""
        return apply_record_rules(stmt, model, self.actor)

    @classmethod
    def system(cls, source: Source = "system") -> ServiceContext:
        return cls(actor=None, source=source)


def current_context() -> ServiceContext | None:
    """The context of the unit of work in progress, if any (used by the audit listener)."""
    return _current.get()


def after_commit(callback: Callable[[], None], session: Session | None = None) -> None:
    """Run ``callback`` once the outermost transaction commits.

    Dropped when that transaction rolls back, and when the savepoint of the nested
    :func:`unit_of_work` that registered it rolls back."""
    session = session or db.session()
    session.info.setdefault("after_commit", []).append(callback)


def after_rollback(callback: Callable[[], None], session: Session | None = None) -> None:
    """Run ``callback`` if the work that registered it is rolled back: the outermost
    transaction, or the savepoint of the nested :func:`unit_of_work` it was registered in.
    Dropped when the outermost transaction commits. For what a transaction did outside the
    database (a file stored): the callback undoes it, and must not use the database."""
    session = session or db.session()
    session.info.setdefault(AFTER_ROLLBACK, []).append(callback)


def run_after_rollback(callbacks: list[Callable[[], None]]) -> None:
    """Run rollback callbacks; one that fails is logged, the others still run."""
    for callback in callbacks:
        try:
            callback()
        except Exception:  # noqa: BLE001 - the rollback itself must go on
            log.exception("a rollback callback failed")


AFTER_ROLLBACK = "tandem_after_rollback"
_DEPTH = "tandem_uow_depth"
# Lists in ``session.info`` that belong to what a savepoint did: cut back when it rolls back.
_SAVEPOINT_LISTS = ("after_commit", "changed_records", "tandem_change_buffer")


def in_unit_of_work(session: Session | None = None) -> bool:
    """Whether a :func:`unit_of_work` is open on ``session`` (an edge owns the transaction)."""
    return bool((session or db.session()).info.get(_DEPTH))


@contextmanager
def unit_of_work(ctx: ServiceContext) -> Iterator[Session]:
    """One business transaction, owned by the edge that opens the outermost unit.

    The outermost unit (a request's view, a WeCom callback, a job, a CLI command) commits on
    success and rolls back on error. A unit opened inside another one is a SAVEPOINT
    (``session.begin_nested()``): on success it is released and its rows commit only with
    the outer transaction; on error only its own work is rolled back (the outer unit's rows
    stay) and the error propagates to the caller, which may catch it and go on. The
    :func:`after_commit` callbacks and changed-record notices of an inner unit wait for the
    outer commit, and are dropped with the savepoint or with the outer transaction.

    Code inside a unit never calls ``session.commit()`` itself; services only ``flush()``.
    ``ctx`` is the current context (:func:`current_context`) while the unit runs.
    """
    token = _current.set(ctx)
    session = db.session()
    depth = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    try:
        if depth:
            with _savepoint(session):
                yield session
            return
        try:
            yield session
            session.commit()
            session.info.pop(AFTER_ROLLBACK, None)
        except BaseException:
            session.rollback()
            # also when no statement had begun a transaction (no rollback event then)
            run_after_rollback(session.info.pop(AFTER_ROLLBACK, []))
            raise
    finally:
        session.info[_DEPTH] = depth
        _current.reset(token)
    run_post_commit(session)


@contextmanager
def _savepoint(session: Session) -> Iterator[None]:
    session.flush()
    _sqlite_begin(session)
    marks = {key: len(session.info.get(key, ())) for key in _SAVEPOINT_LISTS}
    undo_mark = len(session.info.get(AFTER_ROLLBACK, ()))
    nested = session.begin_nested()
    try:
        yield
        if nested.is_active:
            nested.commit()  # flushes what is pending: a failing write still fails here
    except BaseException:
        # Also when a failed flush left it inactive: until rolled back, it blocks the session.
        with suppress(InvalidRequestError):  # already closed (e.g. the session committed)
            nested.rollback()
        for key, mark in marks.items():
            del session.info.get(key, [])[mark:]
        undo = session.info.get(AFTER_ROLLBACK, [])
        callbacks, undo[undo_mark:] = undo[undo_mark:], []
        run_after_rollback(callbacks)
        raise


def _sqlite_begin(session: Session) -> None:
    """Open SQLite's transaction before a SAVEPOINT when pysqlite has not yet (it begins
    lazily, before the first write): a SAVEPOINT outside a transaction would start one of
    its own, and releasing it would commit at once, before the outer unit."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.driver_connection
    if raw is not None and not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")


_POST_COMMIT = "tandem_post_commit"


def after_commit_returns(callback: Callable[[], None], session: Session | None = None) -> None:
    """Run ``callback`` once the commit has returned, from :func:`run_post_commit` (the end
    of the outermost unit of work, or of the request): unlike an :func:`after_commit`
    callback, which runs inside SQLAlchemy's commit event, it may use the database. Queue
    it from an :func:`after_commit` callback (jobs start this way)."""
    session = session or db.session()
    session.info.setdefault(_POST_COMMIT, []).append(callback)


def run_post_commit(session: Session) -> None:
    """Run the callbacks committed transactions queued with :func:`after_commit_returns`."""
    for callback in session.info.pop(_POST_COMMIT, []):
        callback()
