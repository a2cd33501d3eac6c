"""A record's timeline (audit rows and comments, newest first) and adding a comment."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import hooks
from core.audit import AuditLog
from core.errors import NotFoundError
from core.errors import ValidationError
from core.extensions import db
from core.history import HistoryEntry
from core.history import action_label
from core.history import as_utc
from core.history import history_entries
from core.history import source_label
from core.services import ServiceContext
from core.timeline.models import Comment

MAX_COMMENT = 5000


Entry = HistoryEntry  # what the timeline lists: actions (folded, readable) and comments


def _owner_and_model(table: str) -> tuple[str, type]:
    registry = hooks.registry()
    for owner, models in registry.models.items():
        for model in models:
            if model.__tablename__ == table:
                return owner, model
    raise NotFoundError(gettext("记录不存在"))


def _read_permission(owner: str, table: str) -> str:
    return f"{owner}.{table[len(owner) + 1:]}.read"


def read_permission(table: str) -> str:
    """``crm_customer`` → ``crm.customer.read``; ``demo_a_widget`` → ``demo_a.widget.read``."""
    owner, _model = _owner_and_model(table)
    return _read_permission(owner, table)


def _may_read(ctx: ServiceContext, permission: str) -> bool:
    """Whether the actor holds ``permission`` (one an installed module declares)."""
    return permission in hooks.registry().permissions and ctx.can(permission)


def visible_history(ctx: ServiceContext, column_model: Any, column_id: Any) -> Any:
    """A WHERE clause keeping rows of history (``column_model`` the table, ``column_id`` the
    record id as text: audit rows, comments) about records the actor may see: their model's
    read permission and record rules, as the record's own page (issue 14 #9). Admins and
    system contexts see everything; a record that no longer exists, only they."""
    from sqlalchemy import String
    from sqlalchemy import and_
    from sqlalchemy import cast
    from sqlalchemy import false
    from sqlalchemy import or_

    from core.security.rules import rule_clause

    user = ctx.actor
    if user is None or user.is_admin:
        return None
    registry = hooks.registry()
    clauses = []
    for owner, models in registry.models.items():
        for model in models:
            table = model.__tablename__
            if not _may_read(ctx, _read_permission(owner, table)):
                continue
            ids = select(cast(model.id, String))
            rule = rule_clause(model, user)
            if rule is not None:
                ids = ids.where(rule)
            clauses.append(and_(column_model == table, column_id.in_(ids)))
    return or_(*clauses) if clauses else false()


def visible_record(ctx: ServiceContext, table: str, record_id: str) -> Any:
    """The record if the actor may read it, else NotFoundError (never a hint that it exists)."""
    _owner, model = _owner_and_model(table)
    if not _may_read(ctx, read_permission(table)):
        raise NotFoundError(gettext("记录不存在"))
    try:
        key = int(record_id)
    except ValueError as exc:
        raise NotFoundError(gettext("记录不存在")) from exc
    record = db.session.scalar(ctx.scoped(select(model).where(model.id == key), model))
    if record is None:
        raise NotFoundError(gettext("记录不存在"))
    return record


def add_comment(ctx: ServiceContext, table: str, record_id: str, body: str) -> Comment:
    visible_record(ctx, table, record_id)
    body = (body or "").strip()
    if not body:
        raise ValidationError(gettext("请输入备注内容"), fields={"body": gettext("请输入备注内容")})
    if len(body) > MAX_COMMENT:
        raise ValidationError(gettext("备注过长"),
                              fields={"body": gettext("最多 %(n)s 字", n=MAX_COMMENT)})
    comment = Comment(model=table, record_id=str(record_id), author_id=ctx.actor_id, body=body)
    db.session.add(comment)
    db.session.flush()
    return comment


def timeline(table: str, record_id: Any, limit: int = 100) -> list[HistoryEntry]:
    """A record's actions (one entry each, in people's words: :mod:`core.history`) and its
    comments, newest first; a few queries whatever the length (names resolved per table)."""
    rid = str(record_id)
    audits = list(db.session.scalars(
        select(AuditLog).options(selectinload(AuditLog.actor))
        .where(AuditLog.model == table, AuditLog.record_id == rid)
        .order_by(AuditLog.id.desc()).limit(limit)))
    comments = db.session.scalars(
        select(Comment).options(selectinload(Comment.author))
        .where(Comment.model == table, Comment.record_id == rid)
        .order_by(Comment.id.desc()).limit(limit))
    system = gettext("系统")  # no actor: a job, the CLI or the system itself
    entries = history_entries(audits)
    entries += [HistoryEntry("comment", as_utc(c.created_at),
                             c.author.name if c.author else system, "web",
                             source_label("web"), "comment", action_label(None, "comment"),
                             c.body, model=table, record_id=rid) for c in comments]
    return sorted(entries, key=lambda e: e.at, reverse=True)[:limit]
