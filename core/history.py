"""History in people's words: audit rows as readable entries for the record timeline and
the audit log.

A model declares how its fields read in history, next to its columns::

    class Opportunity(AuditedMixin, TimestampMixin, db.Model):
        __label__ = "商机"                          # what the record is called
        __record_title__ = "product_name"           # how a reference to it reads
        __labels__ = {"owner_id": "负责人", "status": "状态"}   # field labels (msgids)
        __choices__ = {"status": STATUSES}          # stored value (or a list of them) → label
        __hidden_in_history__ = ("followed_up_at",)  # bookkeeping: never shown, not audited
        __history_actions__ = {"claim": "认领"}     # named actions of its services
        __references__ = {"manager_id": "core_user"}  # a reference without a database FK
        __formats__ = {"quote": "money"}            # a change key that is not a column

or on one column: ``mapped_column(..., info={"label": "负责人", "choices": STATUSES,
"hidden_in_history": True})``. Labels are Chinese msgids, translated where shown (the
module's ``.po``). ``id``, ``created_at`` and ``updated_at`` are always hidden.

Values read as people write them: a choice's label, a referenced record's title (one query
per referenced table, e.g. ``owner_id`` → the user's name), money as ``¥185,000.00``, times
in the display time zone, dates, 是/否. One action is one entry: the rows a unit of work
wrote for a record (same actor, channel and moment) fold into the named action, with the
field changes under it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext
from sqlalchemy import Boolean
from sqlalchemy import Date
from sqlalchemy import DateTime
from sqlalchemy import Numeric
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.types import TypeDecorator

from core.extensions import db

ALWAYS_HIDDEN = frozenset({"id", "created_at", "updated_at"})
BASIC_ACTIONS = ("create", "update", "delete")
SOURCES = {"web": "网页", "api": "API", "bot": "机器人", "job": "后台任务", "cli": "命令行",
           "system": "系统"}
# Labels of named actions common to many modules; a model adds its own
# (``__history_actions__``).
ACTIONS = {
    "create": "创建",
    "update": "修改",
    "delete": "删除",
    "comment": "备注",
    "status": "状态变更",
    "claim": "认领",
    "assign": "分配",
    "quote": "报价",
    "follow_up": "跟进",
    "completed": "完成",
}
EMPTY = "—"
MAX_TEXT = 200


# ----------------------------------------------------------------------- declarations
def model_for_table(table: str) -> type | None:
    """The mapped class of a table (any model imported in this process)."""
    for mapper in db.Model.registry.mappers:
        cls = mapper.class_
        if getattr(cls, "__tablename__", None) == table:
            return cls
    return None


def _column(model: type, key: str) -> Any:
    try:
        return sa_inspect(model).columns[key]
    except (KeyError, AttributeError):
        return None


def hidden_fields(model: type) -> frozenset[str]:
    """Fields never shown in history (and not audited): bookkeeping such as
    ``last_login_at``, denormalised counters, ``updated_at``."""
    hidden = set(ALWAYS_HIDDEN) | set(getattr(model, "__hidden_in_history__", ()))
    hidden |= set(getattr(model, "__audit_exclude__", ()))
    try:
        columns = sa_inspect(model).columns
    except Exception:  # noqa: BLE001 - not a mapped class
        return frozenset(hidden)
    hidden |= {c.key for c in columns if c.info.get("hidden_in_history")}
    return frozenset(hidden)


def field_label(model: type | None, key: str) -> str:
    """The declared label of a field (translated); the key itself when none is declared."""
    if model is not None:
        label = getattr(model, "__labels__", {}).get(key)
        if label is None and (col := _column(model, key)) is not None:
            label = col.info.get("label")
        if label:
            return gettext(label)
    return key


def undeclared_fields(model: type) -> list[str]:
    """Audited fields of ``model`` that would show under their column name: a test of each
    module can assert this is empty."""
    hidden = hidden_fields(model)
    return [c.key for c in sa_inspect(model).columns
            if c.key not in hidden and field_label(model, c.key) == c.key]


def model_label(table: str) -> str:
    model = model_for_table(table)
    label = getattr(model, "__label__", None) if model is not None else None
    return gettext(label) if label else table


def action_label(model: type | None, action: str) -> str:
    declared = getattr(model, "__history_actions__", {}) if model is not None else {}
    label = declared.get(action) or ACTIONS.get(action)
    return gettext(label) if label else action


def source_label(source: str) -> str:
    label = SOURCES.get(source)
    return gettext(label) if label else source


def _choices(model: type | None, key: str) -> dict | None:
    if model is None:
        return None
    choices = getattr(model, "__choices__", {}).get(key)
    if choices is None and (col := _column(model, key)) is not None:
        choices = col.info.get("choices")
    return choices


def _reference(model: type | None, key: str) -> type | None:
    """The model a foreign-key field points at, when it declares ``__record_title__``."""
    declared = getattr(model, "__references__", {}).get(key) if model is not None else None
    if declared:  # a reference without a database FK (e.g. core_team.manager_id)
        target = model_for_table(declared)
        return target if target is not None and _in_this_app(target) else None
    col = _column(model, key) if model is not None else None
    if col is None:
        return None
    for fk in col.foreign_keys:
        target = model_for_table(fk.column.table.name)
        if target is not None and getattr(target, "__record_title__", None):
            return target
    return None


def _in_this_app(model: type) -> bool:
    """Whether ``model``'s table is in this app's database: core's, or an installed
    module's. A reference without a FK may name another module's record (a maintenance
    record's service ticket) whose module is not installed, or no longer."""
    from core.hooks import registry_or_none

    registry = registry_or_none()
    if registry is None or model.__tablename__.startswith("core_"):
        return True
    return any(model in models for models in registry.models.values())


# ----------------------------------------------------------------------------- values
@dataclass(frozen=True)
class Change:
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    """One action on one record, as people read it."""

    kind: str  # "audit" or "comment"
    at: datetime
    actor: str
    source: str
    source_label: str
    action: str
    action_label: str
    text: str
    changes: list[Change] = field(default_factory=list)
    model: str = ""
    record_id: str = ""
    model_label: str = ""
    ids: tuple[int, ...] = ()


def money(value: Decimal) -> str:
    """¥1,234.50 (as the pages write amounts)."""
    return f"¥{value:,.2f}"


def local_dt(value: datetime) -> str:
    """A UTC time in the display time zone (Asia/Shanghai), to the minute."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
    return value.astimezone(zone).isoformat(" ", "minutes")[:16]


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _formatter(model: type | None, key: str, names: dict[tuple[str, str], str]) -> Any:
    """How the values of one field are written."""
    choices = _choices(model, key)
    if choices:
        def choice(v: Any) -> str:
            if isinstance(v, list):  # a JSON list of choices (e.g. an engineer's skills)
                return "、".join(choice(x) for x in v)
            return gettext(choices[v]) if isinstance(v, str | int) and choices.get(v) \
                else str(v)
        return choice
    target = _reference(model, key)
    if target is not None:
        table = target.__tablename__
        return lambda v: names.get((table, str(v)), f"#{v}")
    col = _column(model, key) if model is not None else None
    kind = col.type if col is not None else None
    if isinstance(kind, TypeDecorator):  # e.g. core.db.UTCDateTime
        kind = kind.impl_instance
    declared = getattr(model, "__formats__", {}).get(key) if model is not None else None
    if declared:  # a change that is not a column (e.g. a quote's amount on its opportunity)
        kind = {"money": Numeric(14, 2), "datetime": DateTime(), "date": Date(),
                "bool": Boolean()}.get(declared, kind)
    if isinstance(kind, Boolean):
        return lambda v: gettext("是") if v else gettext("否")
    if isinstance(kind, Numeric) and (kind.scale or 0) == 2 and not (
            col is not None and col.info.get("not_money")):
        def amount(v: Any) -> str:
            try:
                return money(Decimal(str(v)))
            except InvalidOperation:
                return str(v)
        return amount
    if isinstance(kind, DateTime):
        def when(v: Any) -> str:
            try:
                return local_dt(as_utc(datetime.fromisoformat(str(v))))
            except ValueError:
                return str(v)
        return when
    if isinstance(kind, Date):
        def day(v: Any) -> str:
            try:
                return date.fromisoformat(str(v)[:10]).isoformat()
            except ValueError:
                return str(v)
        return day
    return _text


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if isinstance(value, list | dict):
        text = "、".join(str(v) for v in value) if isinstance(value, list) else str(value)
    else:
        text = str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def _resolve_names(groups: Iterable[tuple[type | None, dict]]) -> dict[tuple[str, str], str]:
    """Titles of every record referenced by a foreign-key change: one query per table."""
    wanted: dict[type, set[int]] = {}
    for model, changes in groups:
        for key, change in changes.items():
            target = _reference(model, key)
            if target is None or not _is_pair(change):
                continue
            for value in change:
                if value is not None and str(value).lstrip("-").isdigit():
                    wanted.setdefault(target, set()).add(int(value))
    names: dict[tuple[str, str], str] = {}
    for target, ids in wanted.items():
        title = getattr(target, target.__record_title__)
        rows = db.session.execute(select(target.id, title).where(target.id.in_(ids)))
        names.update({(target.__tablename__, str(rid)): str(name) for rid, name in rows})
    return names


def _is_pair(change: Any) -> bool:
    return isinstance(change, list | tuple) and len(change) == 2


def readable_changes(model: type | None, changes: dict,
                     names: dict[tuple[str, str], str]) -> list[Change]:
    """A row's changes as (label, old, new), hidden fields left out, in declared order."""
    hidden = hidden_fields(model) if model is not None else ALWAYS_HIDDEN
    out = []
    for key, change in changes.items():
        if key in hidden or not _is_pair(change):
            continue
        write = _formatter(model, key, names)
        old, new = (EMPTY if v is None or v == "" else write(v) for v in change)
        if old == new:
            continue
        out.append(Change(field_label(model, key), old, new))
    return out


def _merge(rows: list[Any]) -> dict:
    """Field changes of one unit of work, oldest row first: the first old, the last new."""
    merged: dict[str, list] = {}
    for row in rows:
        for key, change in (row.changes or {}).items():
            if not _is_pair(change):
                continue
            if key in merged:
                merged[key][1] = change[1]
            else:
                merged[key] = [change[0], change[1]]
    return merged


def _head(rows: list[Any]) -> Any:
    """The row that names the action: a named action first, then create, delete, update."""
    for wanted in (None, "create", "delete", "update"):
        for row in rows:
            if (wanted is None and row.action not in BASIC_ACTIONS) or row.action == wanted:
                return row
    return rows[0]


def _key(row: Any) -> tuple:
    return (row.model, row.record_id, row.actor_id, row.source, as_utc(row.at))


def fold(rows: list[Any]) -> list[list[Any]]:
    """Rows (newest first) grouped into actions: the rows one unit of work wrote for one
    record share actor, channel and moment (its context's ``now``); adjacent by id."""
    groups: list[list[Any]] = []
    for row in rows:
        if groups and _key(groups[-1][0]) == _key(row):
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def history_entries(rows: list[Any]) -> list[HistoryEntry]:
    """Audit rows (newest first, actors loaded) as one readable entry per action; an
    action that changed only hidden fields and says nothing is left out."""
    system = gettext("系统")
    groups = fold(rows)
    prepared = []
    for group in groups:
        oldest_first = sorted(group, key=lambda r: r.id)
        model = model_for_table(group[0].model)
        prepared.append((group, model, _merge(oldest_first)))
    names = _resolve_names((model, changes) for _g, model, changes in prepared)
    entries = []
    for group, model, merged in prepared:
        head = _head(sorted(group, key=lambda r: r.id))
        changes = readable_changes(model, merged, names)
        text = next((r.message for r in group if r.message), "") or ""
        if not changes and not text and head.action == "update":
            continue  # only bookkeeping changed (e.g. a login's last_login_at)
        label = action_label(model, head.action)
        if text == label:  # "分配商机" named twice
            text = ""
        elif text.startswith(label + " "):  # "报价 ¥438,000.00" under 报价
            text = text[len(label) + 1:]
        actor = head.actor.name if head.actor is not None else system
        entries.append(HistoryEntry(
            "audit", as_utc(head.at), actor, head.source, source_label(head.source),
            head.action, label, text, changes, head.model,
            head.record_id, model_label(head.model), tuple(r.id for r in group)))
    return entries
