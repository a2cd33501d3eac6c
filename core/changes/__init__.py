"""The changes feed: an ordered, resumable list of the records of installed modules that
were created, updated or deleted, for integrators syncing another system
(``GET /api/v1/changes``) and for webhook subscriptions (:mod:`core.changes.webhooks`).

Events are written by :mod:`core.changes.capture` in the transaction of the change, in
commit order; :func:`read_changes` pages through them by an opaque cursor, keeping only
what the caller may see:

* a create or update: the record must exist now and be readable by the caller (the
  model's read permission and record rules, as on the record's page); its ``data`` are the
  record's values as that transaction committed them;
* a delete: only the id, served to callers holding the model's read permission whose
  record rules admit the record **as it was when deleted** (its last values are kept in
  the event for that, never served);
* records of models without a read permission of their own (order lines, quote lines…)
  only to admins and system contexts.

Events older than ``TANDEM_CHANGES_RETENTION_DAYS`` are pruned by a daily job; a cursor
pointing before the pruned part answers 410 (resync from the lists, then follow the feed).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import iterate

from core import hooks
from core.changes.capture import key_column
from core.changes.capture import key_value
from core.changes.capture import owned_tables
from core.changes.models import ChangeEvent
from core.db import utcnow
from core.errors import TandemError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.registry.models import CoreState
from core.security.rules import rule_clause
from core.services import ServiceContext

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
PRUNED_KEY = "changes_pruned_upto"  # core_state: the highest event id pruned
_CURSOR_PREFIX = "ce1:"


class BadCursor(UserError):
    code = "invalid_cursor"


class CursorExpired(TandemError):
    """The cursor points at events already pruned (older than the retention period)."""

    code = "cursor_expired"
    http_status = 410


def encode_cursor(event_id: int) -> str:
    """An opaque cursor: the position after event ``event_id``."""
    raw = f"{_CURSOR_PREFIX}{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The event id a cursor stands for; :class:`BadCursor` for anything else."""
    message = gettext("无效的游标：请使用上一次返回的 next_cursor，或不带 since 从头读取")
    if not cursor or len(cursor) > 64:
        raise BadCursor(message)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise BadCursor(message) from exc
    number = raw[len(_CURSOR_PREFIX):]
    if not raw.startswith(_CURSOR_PREFIX) or not number.isdigit() or len(number) > 19:
        raise BadCursor(message)
    return int(number)


def installed_modules() -> list[str]:
    """Modules whose records can appear in the feed (installed, with audited models)."""
    return sorted({module for module, _model in owned_tables().values()})


def check_modules(names: Iterable[str] | None) -> list[str] | None:
    """The ``modules`` filter checked against the installed modules (422 naming the
    unknown ones); ``None`` or empty: every module."""
    wanted = [n.strip() for n in names or () if n and n.strip()]
    if not wanted:
        return None
    known = set(installed_modules())
    unknown = sorted(set(wanted) - known)
    if unknown:
        problem = gettext("未安装或没有可同步数据的应用：%(names)s（可选：%(known)s）",
                          names=", ".join(unknown), known=", ".join(sorted(known)))
        raise ValidationError(problem, fields={"modules": problem})
    return sorted(set(wanted))


def pruned_upto() -> int:
    return db.session.scalar(select(CoreState.value).where(CoreState.key == PRUNED_KEY)) or 0


def read_changes(ctx: ServiceContext, since: str | None = None,
                 modules: Iterable[str] | None = None,
                 limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """One page of the feed after ``since`` (an opaque cursor; none: from the oldest event
    kept). Scans at most ``limit`` events: ``data`` may hold fewer (those the caller may not
    see are skipped) and ``next_cursor`` is after the last event scanned, so a page that
    shows nothing still moves on; ``has_more`` says whether to ask again at once."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    wanted = check_modules(modules)
    after = 0
    if since:
        after = decode_cursor(since)
        if after < pruned_upto():
            raise CursorExpired(gettext(
                "游标已过期：此后的部分变更已按保留期（%(days)s 天）清理，"
                "请先全量同步，再从不带 since 的请求重新开始",
                days=retention_days()))
    stmt = select(ChangeEvent).where(ChangeEvent.id > after).order_by(ChangeEvent.id)
    if wanted is not None:
        stmt = stmt.where(ChangeEvent.module.in_(wanted))
    events = list(db.session.scalars(stmt.limit(limit)))
    last = events[-1].id if events else after
    return {"data": [serialize(e) for e in visible_events(ctx, events)],
            "meta": {"next_cursor": encode_cursor(last), "has_more": len(events) == limit,
                     "limit": limit}}


def serialize(event: ChangeEvent) -> dict[str, Any]:
    """An event as served: a delete carries the id only."""
    deleted = event.action == "delete"
    return {"cursor": encode_cursor(event.id), "module": event.module, "model": event.model,
            "record_id": event.record_id, "action": event.action, "at": event.at,
            "source": event.source, "actor_id": event.actor_id,
            "changed": [] if deleted else list(event.changed or []),
            "data": None if deleted else dict(event.data or {})}


def _read_permission(owner: str, table: str) -> str:
    return f"{owner}.{table[len(owner) + 1:]}.read"


def visible_events(ctx: ServiceContext, events: list[ChangeEvent]) -> list[ChangeEvent]:
    """The events ``ctx.actor`` may see (see the module's docstring); order kept."""
    user = ctx.actor
    if user is None or (user.is_admin and user.is_active) or not events:
        return events
    registry = hooks.registry()
    tables = owned_tables()
    readable: dict[str, bool] = {}
    for table in {e.model for e in events}:
        owner_model = tables.get(table)
        permission = _read_permission(owner_model[0], table) if owner_model else ""
        readable[table] = bool(owner_model) and permission in registry.permissions \
            and ctx.can(permission)
    live: dict[str, set[str]] = {}
    for e in events:
        if readable[e.model] and e.action != "delete":
            live.setdefault(e.model, set()).add(e.record_id)
    seen: set[tuple[str, str]] = set()
    for table, ids in live.items():
        model = tables[table][1]
        key = key_column(model.__table__)
        if key is None:  # a composite key: served to unrestricted callers only
            continue
        query = ctx.scoped(select(key).where(key.in_([key_value(key, i) for i in sorted(ids)])),
                           model)
        seen |= {(table, str(i)) for i in db.session.scalars(query)}
    kept = []
    for e in events:
        if not readable[e.model]:
            continue
        if e.action == "delete":
            if _deleted_visible(user, tables[e.model][1], e.data or {}):
                kept.append(e)
        elif (e.model, e.record_id) in seen:
            kept.append(e)
    return kept


def _deleted_visible(user: Any, model: type, last: dict) -> bool:
    """Whether ``user``'s record rules admit a deleted record, judged on its last values:
    the rule's WHERE is evaluated against a one-row SELECT of those values standing in for
    the table. A value that cannot be compared (the rule fails) hides the deletion."""
    clause = rule_clause(model, user)
    if clause is None:
        return True
    table = model.__table__
    used = {c.key for c in iterate(clause) if getattr(c, "table", None) is table}
    columns = [literal(_python(column, last.get(column.key)), type_=column.type).label(column.key)
               for column in table.columns if column.key in used]
    if not columns:
        return bool(db.session.scalar(select(exists().where(clause))))
    row = select(*columns).subquery()
    adapted = ClauseAdapter(row, include_fn=lambda c: getattr(c, "table", None) is table,
                            adapt_on_names=True).traverse(clause)
    try:
        with db.session.begin_nested():
            return bool(db.session.scalar(select(exists().select_from(row).where(adapted))))
    except Exception:  # noqa: BLE001 - not decidable: not shown
        return False


def _python(column: Any, value: Any) -> Any:
    """A JSON value of the event back to the column's Python type (ids, flags, dates)."""
    if value is None:
        return None
    try:
        kind = getattr(column.type, "impl", column.type).python_type
    except NotImplementedError:
        return value
    if kind is bool or kind is int:
        return kind(value)
    if kind.__name__ in ("datetime", "date", "Decimal"):
        from datetime import date
        from datetime import datetime
        from decimal import Decimal

        return {"datetime": datetime.fromisoformat, "date": date.fromisoformat,
                "Decimal": Decimal}[kind.__name__](value)
    return value


# ------------------------------------------------------------------------------ retention
def retention_days() -> int:
    return int(current_app.config.get("TANDEM_CHANGES_RETENTION_DAYS", 30))


def prune() -> int:
    """Periodic: delete events older than the retention period and remember the highest
    id deleted (cursors before it answer 410). Returns how many went."""
    cutoff = utcnow() - timedelta(days=retention_days())
    upto = db.session.scalar(select(func.max(ChangeEvent.id)).where(ChangeEvent.at < cutoff))
    if upto is None:
        return 0
    removed = db.session.execute(delete(ChangeEvent).where(ChangeEvent.id <= upto)).rowcount
    state = db.session.get(CoreState, PRUNED_KEY)
    if state is None:
        db.session.add(CoreState(key=PRUNED_KEY, value=upto))
    else:
        state.value = max(state.value, upto)
    db.session.flush()
    return removed or 0


__all__ = ["BadCursor", "CursorExpired", "check_modules", "decode_cursor", "encode_cursor",
           "prune", "read_changes", "visible_events"]
