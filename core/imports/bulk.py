"""Bulk writes for imports: many rows in one statement (PostgreSQL: ``COPY``), and their
audit rows written the same way.

``bulk_insert`` fills each row's column defaults itself (``COPY`` runs none), takes the ids
from the table's sequence in one query on PostgreSQL and streams the rows with psycopg's
``COPY … FROM STDIN``; elsewhere it is one ``INSERT … RETURNING`` executemany (SQLAlchemy's
insertmanyvalues, a few hundred rows a statement).

Audit (``bulk_audit``): an imported record gets the same audit row as a record created one by
one — model, id, action ``create``, actor, source (``web``, ``job`` or ``cli``), its values —
plus the import log's id in ``message``; the rows are written by ``bulk_insert`` too, so
the audit of a 100,000-row import is one COPY instead of 100,000 INSERTs from the flush
listener (which never sees these rows: they bypass the ORM unit of work).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy import text

from core.audit import AuditLog
from core.audit import jsonable
from core.changes.capture import note_inserted
from core.extensions import db
from core.pgcopy import copy_rows
from core.pgcopy import json_text
from core.services import ServiceContext


def _default(column: Any) -> Any:
    default = column.default
    if default is None:
        return None
    if default.is_callable:
        return default.arg(None)
    if default.is_scalar:
        return default.arg
    return None


def complete_rows(table: Table, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Give every row every column of ``table`` but ``id`` (column defaults for the missing
    ones); returns the column names in order."""
    columns = [c for c in table.columns if c.name != "id"]
    names = [c.name for c in columns]
    fixed = {c.name: _default(c) for c in columns
             if c.default is None or not c.default.is_callable}
    made = {c.name: c for c in columns if c.default is not None and c.default.is_callable}
    for row in rows:
        for name in names:
            if name not in row:
                # a callable default (utcnow, list, dict) is called for each row: never one
                # list shared by all
                row[name] = fixed[name] if name in fixed else _default(made[name])
    return names


def _is_postgresql() -> bool:
    return db.session.connection().dialect.name == "postgresql"


def bulk_insert(table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``table`` in the session's transaction; their new ids, in order."""
    if not rows:
        return []
    names = complete_rows(table, rows)
    if not _is_postgresql():
        result = db.session.execute(
            table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
        ids = [r[0] for r in result]
        note_inserted(db.session, table.name, ids, rows)
        return ids
    connection = db.session.connection()
    ids = list(connection.execute(text(
        "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": table.name, "n": len(rows)}).scalars())
    json_columns = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
    # A column NULL in every row and without a server default is left out of the COPY (it
    # is NULL anyway): a new ticket has about twenty such columns of its fifty.
    server_defaults = {c.name for c in table.columns if c.server_default is not None}
    names = [n for n in names if n in server_defaults or any(row[n] is not None for row in rows)]
    plain = [n for n in names if n not in json_columns]
    as_json = [n for n in names if n in json_columns]
    dump = json_text(_json_default)
    copy_rows(connection.connection.driver_connection, table.name, ["id", *plain, *as_json],
              ([new_id, *[row[n] for n in plain], *[dump(row[n]) for n in as_json]]
               for new_id, row in zip(ids, rows, strict=True)))
    note_inserted(db.session, table.name, ids, rows)  # the changes feed (core.changes)
    return ids


_SCALARS = frozenset({str, int, bool, float})  # kept as they are in an audit row's values


def _json_default(value: Any) -> Any:
    return jsonable(value)


def bulk_audit(ctx: ServiceContext, table: Table, ids: list[int],
               rows: list[dict[str, Any]], message: str,
               fields: Sequence[str] | None = None) -> None:
    """One ``create`` audit row per imported record (its ``fields`` as ``[None, value]``,
    like the flush listener writes), through :func:`bulk_insert`."""
    keep = fields or [k for k in rows[0] if k != "id"] if rows else []
    now, actor_id, source, model = ctx.now, ctx.actor_id, ctx.source, table.name
    audit_rows = [{
        "at": now, "actor_id": actor_id, "source": source,
        "model": model, "record_id": str(new_id), "action": "create",
        "changes": {k: [None, v if type(v) in _SCALARS else jsonable(v)]
                    for k in keep if (v := row.get(k)) is not None},
        "message": message,
    } for new_id, row in zip(ids, rows, strict=True)]
    bulk_insert(AuditLog.__table__, audit_rows)
