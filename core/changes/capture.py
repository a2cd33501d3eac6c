"""Writing the changes outbox: every create, update and delete of a module's audited
record, in the transaction that makes it, whatever the edge (web, API, bot, job, CLI).

How (the same Session events as :mod:`core.audit`):

* ``after_flush`` notes which records a flush created, updated or deleted (ORM objects of
  ``AuditedMixin`` models owned by a module) and the records named by business events of
  :func:`core.audit.record` (a claim made with a conditional UPDATE);
* ``do_orm_execute`` notes the rows an ORM-enabled bulk ``UPDATE``/``DELETE`` statement
  will touch (``conditional_update`` and friends), read with the statement's own WHERE
  (``FOR UPDATE`` on PostgreSQL, so the set is exactly the rows the UPDATE then writes);
* ``before_commit`` folds the notes into one event per record (create + updates = create,
  updates + delete = delete, create + delete = nothing), takes each record's values as they
  are committed (from its object when only the session's objects changed it, else read
  back, one SELECT per table) and inserts the events, as the transaction's very last
  statements.

A known gap: on PostgreSQL, a row inserted and committed by another transaction between a
bulk UPDATE's pre-SELECT and the UPDATE itself (READ COMMITTED takes a new snapshot per
statement) can be updated without being noted. Most bulk UPDATEs here name their rows by
id; the others (a handover moving a customer's open opportunities, the SLA scan) would miss
only a row committed in that very instant. RETURNING would close it; not done yet.

**Commit order on PostgreSQL.** A sequence hands out ids when a row is inserted, not when
its transaction commits: with ids taken during the transaction, a reader paging by
``id > cursor`` could pass over a row whose transaction commits later with a smaller id,
and miss it for good. Here the events are inserted right before the commit, under a
transaction-level advisory lock (``pg_advisory_xact_lock``) held until the commit ends:
writers of events take their ids one after the other, each after the previous one is
visible, so ids follow commit order and every snapshot sees a prefix of them. The reader
needs no lock and no snapshot arithmetic: ``id > cursor`` is exact. The price: the last
moments of writing transactions (the event INSERT and the commit's WAL flush) are
serialised, a few hundred microseconds each (``bench/bench_changes.py``); a long
transaction does not hold the lock while it works, only while it commits. (The other way,
``pg_current_xact_id()`` per row and serving only transactions older than the snapshot's
xmin, keeps writers parallel but orders by transaction start, not commit: two transactions
updating the same record could be served in the opposite order of their commits, and one
long transaction stalls the whole feed.) On SQLite writers are serialised by the database
itself, so plain ids are in commit order too.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

from flask import current_app
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session
from sqlalchemy.sql import sqltypes

from core import hooks
from core.audit import AuditLog
from core.audit import jsonable
from core.audit import primary_key
from core.changes.models import ChangeEvent
from core.db import UTCDateTime
from core.db import utcnow
from core.pgcopy import copy_rows
from core.pgcopy import json_text
from core.services import current_context

BUFFER = "tandem_change_buffer"
# Any fixed 64-bit number, the same in every process ("tandem" in ASCII).
LOCK_KEY = 0x74616E64656D
_BASIC = frozenset({"create", "update", "delete"})
COPY_FROM = 200  # events of a transaction written by COPY rather than INSERT (PostgreSQL)
_EVENT_COLUMNS = ("at", "module", "model", "record_id", "action", "source", "actor_id",
                  "data", "changed")
_OWNERS: dict[int, tuple[Any, dict[str, tuple[str, type]]]] = {}


def feed_enabled() -> bool:
    """``TANDEM_CHANGES_FEED`` (default on); off only to measure what the feed costs."""
    return has_app_context() and bool(current_app.config.get("TANDEM_CHANGES_FEED", True))


def owned_tables() -> dict[str, tuple[str, type]]:
    """Audited tables of installed modules: table → (module, model)."""
    registry = hooks.registry_or_none()
    if registry is None:
        return {}
    kept = _OWNERS.get(id(registry))
    if kept is not None and kept[0] is registry:
        return kept[1]
    tables = {model.__tablename__: (owner, model)
              for owner, models in registry.models.items() for model in models
              if getattr(model, "__audited__", False)}
    _OWNERS[id(registry)] = (registry, tables)
    return tables


def secret_fields(model: type) -> frozenset[str]:
    """Columns never written to the feed (``__audit_exclude__``: password hashes, keys)."""
    return frozenset(getattr(model, "__audit_exclude__", ()))


def key_column(table: Any) -> Any:
    """The table's single primary-key column (``id`` for most), None for a composite key."""
    columns = list(table.primary_key.columns)
    return columns[0] if len(columns) == 1 else None


def key_value(column: Any, record_id: str) -> Any:
    """A record id (text, as in events) as the key column's Python value."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return record_id
    return int(record_id) if kind is int and record_id.isdigit() else record_id


def _note(session: Session, table: str, record_id: str, action: str,
          changed: Iterable[str] = (), last: dict | None = None, obj: Any = None) -> None:
    """``obj``: the change went through this object of the session, which then holds what
    is committed (kept here until the commit: the identity map's reference is weak). A bulk
    statement or a business event bypasses the objects: the values are read back."""
    session.info.setdefault(BUFFER, []).append(
        (table, record_id, action, tuple(changed), last, obj))


def note_inserted(session: Session, table: str, ids: Iterable[Any],
                  rows: Iterable[dict[str, Any]] | None = None) -> None:
    """Rows a Core ``INSERT`` or ``COPY`` created (bulk imports), which the flush listener
    never sees: their create events are written at the commit like any other. ``rows``:
    each row's values as inserted, every column but the key (no trigger or server default
    changes them); the event then takes them in the form a read-back would give (decimals
    at the column's scale, datetimes in UTC) instead of reading 5,000 rows back per batch.
    Without them, or for a value of a type this does not know, the row is read back."""
    if not (feed_enabled() and table in owned_tables()):
        return
    if rows is None:
        for record_id in ids:
            _note(session, table, str(record_id), "create")
        return
    model = owned_tables()[table][1]
    converters = _converters(model)
    key = key_column(model.__table__)
    key_name = key.name if key is not None else None
    for record_id, row in zip(ids, rows, strict=True):
        values = _as_read_back(converters, key_name, record_id, row)
        _note(session, table, str(record_id), "create", last=values)


_SKIP = object()  # a value whose read-back form is not known here: read it back
_CONVERTERS: dict[type, list[tuple[str, Any]]] = {}


def _converter(column: Any) -> Any:
    """The function turning a column's inserted Python value into the JSON form of what
    SQLAlchemy reads back (:func:`core.audit.jsonable` of it), the type a value is kept as
    it is, or None for any column type not listed (the record is then read back)."""
    kind = column.type
    if isinstance(kind, sqltypes.Numeric) and not isinstance(kind, sqltypes.Float):
        scale = kind.scale
        if not kind.asdecimal or scale is None:
            return None
        step = decimal.Decimal(1).scaleb(-scale)

        def numeric(value: Any) -> Any:
            if type(value) is not int and not isinstance(value, decimal.Decimal):
                return _SKIP
            return str(decimal.Decimal(value).quantize(step, decimal.ROUND_HALF_UP))
        return numeric
    if isinstance(kind, UTCDateTime):
        seen: dict[datetime, str] = {}  # an import's rows share a few moments

        def moment(value: Any) -> Any:
            if type(value) is not datetime:
                return _SKIP
            text = seen.get(value)
            if text is None:
                if len(seen) > 256:
                    seen.clear()
                text = seen[value] = (value if value.tzinfo else value.replace(tzinfo=UTC)) \
                    .astimezone(UTC).isoformat()
            return text
        return moment
    if isinstance(kind, sqltypes.DateTime):
        return None  # naive or zoned per backend: read back
    if isinstance(kind, sqltypes.Date):
        return lambda v: v.isoformat() if type(v) is date else _SKIP
    if isinstance(kind, sqltypes.JSON):
        return jsonable
    if isinstance(kind, sqltypes.Boolean):
        return bool
    if isinstance(kind, sqltypes.Integer):
        return int
    if isinstance(kind, sqltypes.String):  # Text too
        return str
    return None


def _converters(model: type) -> list[tuple[str, Any]]:
    """(column, converter) pairs of the model's columns but the secret ones: a converter is
    a function, a type (the value is kept when exactly of that type) or None (unknown)."""
    kept = _CONVERTERS.get(model)
    if kept is None:
        hidden = secret_fields(model)
        kept = _CONVERTERS[model] = [(c.name, _converter(c)) for c in model.__table__.columns
                                     if c.name not in hidden]
    return kept


def _as_read_back(converters: list[tuple[str, Any]], key_name: str | None, record_id: Any,
                  row: dict[str, Any]) -> dict | None:
    values: dict[str, Any] = {}
    get = row.get
    for name, convert in converters:
        value = get(name)
        if value is None:
            values[name] = None
        elif type(convert) is type:  # str, int, bool: kept as they are
            if type(value) is not convert:
                return None
            values[name] = value
        elif convert is None or (value := convert(value)) is _SKIP:
            return None
        else:
            values[name] = value
    if key_name in values:
        values[key_name] = record_id
    return values


@event.listens_for(Session, "after_flush")
def _capture_flush(session: Session, flush_context: object) -> None:
    if not feed_enabled():
        return
    tables = owned_tables()
    if not tables:
        return
    for obj in session.new:
        table = getattr(obj, "__tablename__", None)
        if table in tables:
            _note(session, table, primary_key(obj), "create", obj=obj)
        elif isinstance(obj, AuditLog) and obj.model in tables and obj.action not in _BASIC:
            _note(session, obj.model, obj.record_id, "update")
    for obj in session.dirty:
        table = getattr(obj, "__tablename__", None)
        if table in tables and session.is_modified(obj):
            state = inspect(obj)
            changed = [a.key for a in state.mapper.column_attrs
                       if state.attrs[a.key].history.has_changes()]
            if changed:
                _note(session, table, primary_key(obj), "update", changed, obj=obj)
    for obj in session.deleted:
        table = getattr(obj, "__tablename__", None)
        if table in tables:
            state = inspect(obj)
            hidden = secret_fields(type(obj))
            last = {a.key: jsonable(state.dict[a.key]) for a in state.mapper.column_attrs
                    if a.key in state.dict and a.key not in hidden}
            _note(session, table, primary_key(obj), "delete", last=last)


@event.listens_for(Session, "do_orm_execute")
def _capture_bulk(state: ORMExecuteState) -> None:
    """Rows a bulk ``UPDATE``/``DELETE`` of an audited model will write (see the module's
    docstring); read before the statement runs, with its WHERE."""
    if not (state.is_update or state.is_delete) or not feed_enabled():
        return
    statement = state.statement
    table = getattr(statement, "table", None)
    name = getattr(table, "name", None)
    tables = owned_tables()
    key = key_column(table) if name in tables else None
    if key is None:
        return
    session = state.session
    connection = session.connection()
    where = statement.whereclause
    if state.is_update:
        changed = [getattr(k, "key", str(k)) for k in getattr(statement, "_values", None) or {}]
        query = select(key)
        if where is not None:
            query = query.where(where)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        for (record_id,) in connection.execute(query):
            _note(session, name, str(record_id), "update", changed)
        return
    hidden = secret_fields(tables[name][1])
    query = select(table) if where is None else select(table).where(where)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    for row in connection.execute(query).mappings():
        last = {k: jsonable(v) for k, v in row.items() if k not in hidden}
        _note(session, name, str(row[key.name]), "delete", last=last)


def fold(notes: list[tuple]) -> list[dict]:
    """One event per record, in the order records were first touched: create + updates is
    a create, anything + delete a delete (nothing when created in the same transaction)."""
    folded: dict[tuple[str, str], dict] = {}
    for table, record_id, action, changed, last, obj in notes:
        key = (table, record_id)
        seen = folded.get(key)
        if seen is None:
            folded[key] = {"model": table, "record_id": record_id, "action": action,
                           "changed": list(changed), "last": last, "obj": obj}
            continue
        if obj is None or seen["obj"] is None:
            seen["obj"] = None
        if seen["action"] == "create":
            seen["last"] = None  # the values as inserted are stale: read them back
        if action == "delete":
            if seen["action"] == "create":
                seen["action"] = "gone"
            else:
                seen.update(action="delete", last=last)
        elif action == "update" and seen["action"] == "update":
            seen["changed"] += [c for c in changed if c not in seen["changed"]]
    return [e for e in folded.values() if e["action"] != "gone"]


@event.listens_for(Session, "before_commit")
def _write_events(session: Session) -> None:
    if session.in_nested_transaction():
        return
    if session.new or session.dirty or session.deleted:
        session.flush()  # the commit's own flush comes after this event: notes first
    notes = session.info.pop(BUFFER, None)
    if not notes:
        return
    tables = owned_tables()
    events = [e for e in fold(notes) if e["model"] in tables]
    if not events:
        return
    values = _committed_values(session, events, tables)
    ctx = current_context()
    rows = []
    for e in events:
        module, _model = tables[e["model"]]
        if e["action"] == "delete":
            data = e["last"] or {}
        else:
            data = values.get((e["model"], e["record_id"]))
        if data is None:  # created or updated, then removed by a statement we do not see
            continue
        rows.append({"module": module, "model": e["model"], "record_id": e["record_id"],
                     "action": e["action"], "changed": e["changed"], "data": data,
                     "source": ctx.source if ctx else "system",
                     "actor_id": ctx.actor_id if ctx else None,
                     "at": ctx.now if ctx else utcnow()})
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":  # held from here to the end of the commit
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        if len(rows) >= COPY_FROM:  # an import's batch: ids from the default, in order
            dump = json_text(jsonable)
            copy_rows(connection.connection.driver_connection, ChangeEvent.__tablename__,
                      _EVENT_COLUMNS, ([*[r[c] for c in _EVENT_COLUMNS[:-2]], dump(r["data"]),
                                        dump(r["changed"])] for r in rows))
            return
    connection.execute(ChangeEvent.__table__.insert(), rows)


def _object_values(obj: Any, model: type) -> dict | None:
    """The values of a record's object, if every column is loaded (after the last flush it
    holds what is committed); else None."""
    state = inspect(obj)
    if state.expired_attributes or state.deleted or state.detached:
        return None
    loaded = state.dict
    hidden = secret_fields(model)
    values = {}
    for attr in state.mapper.column_attrs:
        if attr.key not in loaded:
            return None
        if attr.key not in hidden:
            values[attr.key] = jsonable(loaded[attr.key])
    return values


def _committed_values(session: Session, events: list[dict],
                      tables: dict[str, tuple[str, type]]) -> dict[tuple[str, str], dict]:
    """Each created or updated record's values as this transaction commits them: from its
    object when only the session's objects changed it, else read back (one SELECT a
    table)."""
    ids: dict[str, list[Any]] = {}
    values = {}
    for e in events:
        if e["action"] == "delete":
            continue
        if e["action"] == "create" and e["last"] is not None:  # bulk rows, as inserted
            values[(e["model"], e["record_id"])] = e["last"]
            continue
        if e["obj"] is not None:
            kept = _object_values(e["obj"], tables[e["model"]][1])
            if kept is not None:
                values[(e["model"], e["record_id"])] = kept
                continue
        ids.setdefault(e["model"], []).append(e["record_id"])
    connection = session.connection()
    for table_name, record_ids in ids.items():
        model = tables[table_name][1]
        table = model.__table__
        key = key_column(table)
        if key is None:  # a composite key: no values (the event still says what changed)
            continue
        hidden = secret_fields(model)
        wanted = [key_value(key, r) for r in record_ids]
        for row in connection.execute(select(table).where(key.in_(wanted))).mappings():
            values[(table_name, str(row[key.name]))] = {k: jsonable(v) for k, v in row.items()
                                                        if k not in hidden}
    return values


@event.listens_for(Session, "after_rollback")
def _drop_notes(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: unit_of_work cuts back its own part
        return
    session.info.pop(BUFFER, None)
