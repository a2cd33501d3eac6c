"""Audit log: who changed what, when, through which channel (web/api/bot/job/cli).

Models with :class:`core.db.AuditedMixin` are audited automatically on flush; services add
business events (``claim``, ``status``…) with :func:`record`.
"""

from __future__ import annotations

import decimal
import enum
from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import event
from sqlalchemy import inspect
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from core import realtime
from core.db import utcnow
from core.extensions import db
from core.security.models import User
from core.services import AFTER_ROLLBACK
from core.services import ServiceContext
from core.services import current_context
from core.services import run_after_rollback


class AuditLog(db.Model):
    __tablename__ = "core_audit_log"
    __table_args__ = (Index("ix_core_audit_log_record", "model", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship(viewonly=True)


def jsonable(value: Any) -> Any:
    """A JSON-safe form of a column value."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return "<bytes>"
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def _row(
    ctx: ServiceContext | None,
    model: str,
    record_id: Any,
    action: str,
    changes: dict,
    message: str | None = None,
) -> dict:
    return {
        "at": (ctx.now if ctx else utcnow()),
        "actor_id": ctx.actor_id if ctx else None,
        "source": ctx.source if ctx else "system",
        "model": model,
        "record_id": str(record_id),
        "action": action,
        "changes": changes,
        "message": message,
    }


def primary_key(obj: Any) -> str:
    """The primary key of a mapped object as a string (composite keys joined by ``,``)."""
    values = inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join(str(v) for v in values)


def record(
    ctx: ServiceContext,
    obj_or_model: Any,
    action: str,
    message: str | None = None,
    changes: dict | None = None,
    record_id: Any = None,
) -> None:
    """Add a business event to the audit log (in the current transaction)."""
    if isinstance(obj_or_model, str):
        model = obj_or_model
    else:
        model = obj_or_model.__tablename__
        if record_id is None:
            db.session.flush()
            record_id = primary_key(obj_or_model)
    db.session.add(
        AuditLog(**_row(ctx, model, record_id, action, jsonable(changes or {}), message))
    )


_NOT_AUDITED: dict[type, frozenset[str]] = {}


def _not_audited(model: type) -> frozenset[str]:
    """Fields left out of the audit: ``__audit_exclude__`` (secrets) and what the model
    declares hidden in history (bookkeeping such as ``last_login_at``, counters,
    ``updated_at``), so a login or a recount writes no audit row."""
    if model not in _NOT_AUDITED:
        from core.history import hidden_fields

        _NOT_AUDITED[model] = hidden_fields(model) - {"id"}
    return _NOT_AUDITED[model]


def _column_changes(obj: Any, only_changed: bool) -> dict:
    state = inspect(obj)
    exclude = _not_audited(type(obj))
    changes: dict[str, list] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in exclude:
            continue
        hist = state.attrs[key].history
        if only_changed:
            if not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old == new:
                continue
            changes[key] = [jsonable(old), jsonable(new)]
        else:
            value = getattr(obj, key)
            if value is not None:
                changes[key] = [None, jsonable(value)]
    return changes


def forget_records(connection: Any, records: list[tuple[str, str]]) -> None:
    """Drop what was kept about deleted records apart from the audit trail: their comments,
    chat contexts and unsent notifications (issue 14 #1, #15). The audit rows stay: they are
    the record's deletion history, visible to whoever may read the audit log, and ids are
    never reused, so they cannot show on another record."""
    by_table: dict[str, list[str]] = {}
    for table, record_id in records:
        by_table.setdefault(table, []).append(str(record_id))
    for name in ("core_comment", "core_bot_chat_context"):
        kept = db.metadata.tables.get(name)
        if kept is None:
            continue
        for table, ids in by_table.items():  # one DELETE per deleted records' table
            connection.execute(kept.delete().where(kept.c.model == table,
                                                   kept.c.record_id.in_(ids)))


# Core tables that keep rows about a record by (model, ``record_id``) and outlive it unless
# removed: (table, model column). Uninstall counts and removes them; the SQLite id upgrade
# reads them for the highest id a deleted record ever had.
HISTORY_TABLES = (("core_audit_log", "model"), ("core_comment", "model"),
                  ("core_bot_chat_context", "model"), ("core_notification", "record_model"),
                  ("core_change_event", "model"))


def forget_tables(connection: Any, prefix: str) -> dict[str, int]:
    """Remove every core row keyed by a record of the tables named ``prefix…`` (a module's,
    at uninstall): audit rows, comments, chat contexts, notifications and the inbox
    messages made from them, and the module's events of the changes feed. Returns how many
    rows of each kind went."""
    tables = db.metadata.tables
    removed: dict[str, int] = {}
    pattern = prefix.replace("_", "\\_") + "%"
    for name, column in HISTORY_TABLES:
        table = tables.get(name)
        if table is None:
            continue
        where = table.c[column].like(pattern, escape="\\")
        if name == "core_notification" and "core_inbox_message" in tables:
            inbox = tables["core_inbox_message"]
            ids = sa_select(table.c.id).where(where)
            result = connection.execute(inbox.delete().where(inbox.c.notification_id.in_(ids)))
            removed["core_inbox_message"] = result.rowcount or 0
        removed[name] = connection.execute(table.delete().where(where)).rowcount or 0
    return removed


@event.listens_for(Session, "after_flush")
def _audit_after_flush(session: Session, flush_context: object) -> None:
    ctx = current_context()
    rows = []
    for obj in session.new:
        if getattr(obj, "__audited__", False):
            rows.append(
                _row(
                    ctx,
                    obj.__tablename__,
                    primary_key(obj),
                    "create",
                    _column_changes(obj, only_changed=False),
                )
            )
    for obj in session.dirty:
        if getattr(obj, "__audited__", False) and session.is_modified(obj):
            changes = _column_changes(obj, only_changed=True)
            if changes:
                rows.append(_row(ctx, obj.__tablename__, primary_key(obj), "update", changes))
    gone = []
    for obj in session.deleted:
        if getattr(obj, "__audited__", False):
            rows.append(_row(ctx, obj.__tablename__, primary_key(obj), "delete", {}))
        if hasattr(obj, "__tablename__"):
            gone.append((obj.__tablename__, primary_key(obj)))
    if gone:
        forget_records(session.connection(), gone)
    if rows:
        session.connection().execute(AuditLog.__table__.insert(), rows)
    changed = session.info.setdefault("changed_records", [])
    for row in rows:
        changed.append((row["model"], row["record_id"], row["action"]))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: wait for the real commit
        return
    callbacks = session.info.pop("after_commit", [])
    session.info.pop(AFTER_ROLLBACK, None)  # committed: nothing to undo
    changed = session.info.pop("changed_records", [])
    if changed:

        realtime.publish_changes(changed)
    for cb in callbacks:
        cb()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: unit_of_work cuts back its own part
        return
    session.info.pop("after_commit", None)
    session.info.pop("changed_records", None)
    run_after_rollback(session.info.pop(AFTER_ROLLBACK, []))
