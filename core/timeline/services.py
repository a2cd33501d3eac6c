"""A record's timeline (audit rows and comments, newest first) and adding a comment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import hooks
from core.audit import AuditLog
from core.errors import NotFoundError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.timeline.models import Comment

MAX_COMMENT = 5000


@dataclass(frozen=True)
class Entry:
    kind: str  # "audit" or "comment"
    at: datetime
    actor: str
    source: str
    action: str
    changes: dict
    text: str


def _owner_and_model(table: str) -> tuple[str, type]:
    registry = hooks.registry()
    for owner, models in registry.models.items():
        for model in models:
            if model.__tablename__ == table:
                return owner, model
    raise NotFoundError(gettext("记录不存在"))


def read_permission(table: str) -> str:
    """``crm_customer`` → ``crm.customer.read``; ``demo_a_widget`` → ``demo_a.widget.read``."""
    owner, _model = _owner_and_model(table)
    return f"{owner}.{table[len(owner) + 1:]}.read"


def visible_record(ctx: ServiceContext, table: str, record_id: str) -> Any:
    """The record if the actor may read it, else NotFoundError (never a hint that it exists)."""
    _owner, model = _owner_and_model(table)
    permission = read_permission(table)
    registry = hooks.registry()
    if permission not in registry.permissions or not ctx.can(permission):
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


def timeline(table: str, record_id: Any, limit: int = 100) -> list[Entry]:
    """Audit rows and comments of one record, newest first (two queries, names included)."""
    rid = str(record_id)
    audits = db.session.scalars(
        select(AuditLog).options(selectinload(AuditLog.actor))
        .where(AuditLog.model == table, AuditLog.record_id == rid)
        .order_by(AuditLog.id.desc()).limit(limit))
    comments = db.session.scalars(
        select(Comment).options(selectinload(Comment.author))
        .where(Comment.model == table, Comment.record_id == rid)
        .order_by(Comment.id.desc()).limit(limit))
    system = gettext("系统")  # no actor: a job, the CLI or the system itself
    entries = [Entry("audit", a.at, a.actor.name if a.actor else system, a.source, a.action,
                     a.changes or {}, a.message or "") for a in audits]
    entries += [Entry("comment", c.created_at, c.author.name if c.author else system, "web",
                      "comment", {}, c.body) for c in comments]
    return sorted(entries, key=lambda e: e.at, reverse=True)[:limit]
