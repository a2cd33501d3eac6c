"""Service context and unit of work shared by the web, API, bot, jobs and CLI edges.

Module services take a :class:`ServiceContext` (never ``current_user``), check permissions,
``flush()`` only, and raise :class:`core.errors.TandemError` subclasses. The edge that called
them owns the transaction through :func:`unit_of_work`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal

from flask_babel import gettext

from core.db import utcnow
from core.errors import PermissionDenied
from core.extensions import db

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.orm import Session

    from core.security.models import User

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
        from core.security.permissions import has_permission

        return has_permission(self.actor, permission)

    def require(self, permission: str) -> None:
        """Raise :class:`PermissionDenied` (with the missing permission) unless allowed."""
        if not self.can(permission):
            from core.security.permissions import permission_label

            label = permission_label(permission)
            raise PermissionDenied(gettext("无权限：需要“%(label)s”（%(permission)s）",
                                           label=gettext(label) if label else label,
                                           permission=permission))

    def scoped(self, stmt: Select, model: type) -> Select:
        """Apply the record rules of ``model`` for this actor to a SELECT."""
        from core.security.rules import apply_record_rules

        return apply_record_rules(stmt, model, self.actor)

    @classmethod
    def system(cls, source: Source = "system") -> ServiceContext:
        return cls(actor=None, source=source)


def current_context() -> ServiceContext | None:
    """The context of the unit of work in progress, if any (used by the audit listener)."""
    return _current.get()


def after_commit(callback: Callable[[], None], session: Session | None = None) -> None:
    """Run ``callback`` once the current transaction commits (dropped on rollback)."""
    session = session or db.session()
    session.info.setdefault("after_commit", []).append(callback)


@contextmanager
def unit_of_work(ctx: ServiceContext) -> Iterator[Session]:
    """One business transaction: commit on success, roll back on error; ``ctx`` is current."""
    token = _current.set(ctx)
    session = db.session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _current.reset(token)
    run_post_commit(session)


def run_post_commit(session: Session) -> None:
    """Start the jobs a committed transaction queued (they may use the database, which
    SQLAlchemy's own after-commit event may not)."""
    from core.jobs import run_pending

    run_pending(session)


@contextmanager
def acting_as(ctx: ServiceContext) -> Iterator[ServiceContext]:
    """Make ``ctx`` current without owning the transaction (tests, nested edges)."""
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
