"""Declarative base, naming convention and shared column helpers."""

from __future__ import annotations

import contextlib
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy import MetaData
from sqlalchemy import Table
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import registry
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class in_select(FunctionElement):  # noqa: N801 - used like SQLAlchemy's func.* constructs
    """``column IN (SELECT …)``; on PostgreSQL ``(column IN (SELECT …) AND column = ANY
    (ARRAY(SELECT …)))``, the same rows.

    Inside an ``OR`` PostgreSQL cannot look an ``IN (SELECT …)`` up in an index: it tests
    every row against the hashed sub-select (a record rule's "mine OR helping OR unassigned"
    at 1,000,000 tickets: a sequential scan). The ``= ANY (ARRAY(…))`` twin is read once (an
    init plan) and gives the planner an index condition, one branch of a BitmapOr. The
    ``IN`` stays first: where PostgreSQL still filters row by row (a walk along a sort
    index) it tests the hash, not a scan of the array (it hashes constant arrays only; at
    250 ids the array alone was three times slower there, see ``bench/``). For a sub-select
    of one non-null column; it is never correlated with the outer query (a ticket search
    that joins the customers must not turn "his customers" into "this row's customer")."""

    inherit_cache = True  # (no Boolean type: SQLite would compare the test with 1)
    name = "in_select"

    def __init__(self, column: Any, stmt: Any) -> None:
        super().__init__(column, stmt.correlate(None).scalar_subquery())


@compiles(in_select)
def _in_select(element: in_select, compiler: Any, **kw: Any) -> str:
    column, subquery = element.clauses
    return f"{compiler.process(column, **kw)} IN {compiler.process(subquery, **kw)}"


@compiles(in_select, "postgresql")
def _in_select_postgresql(element: in_select, compiler: Any, **kw: Any) -> str:
    column, subquery = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} IN {subquery} AND {column} = ANY (ARRAY{subquery}))"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops tzinfo otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class AuditedMixin:
    """Marks a model whose inserts, updates and deletes go to the audit log automatically."""

    __audited__ = True


@event.listens_for(Table, "before_create")
def _ids_never_reused(table: Table, connection: Any, **_kw: Any) -> None:
    """On SQLite every table is created ``AUTOINCREMENT`` (issue 14 #1): without it SQLite
    hands a deleted row's id to the next insert, and history kept by table and id (audit
    rows, comments, notifications) would show on the new record. PostgreSQL sequences never
    go back. This runs for ``create_all`` and for every migration's ``op.create_table`` (and
    batch rebuilds) alike, so no model or migration has to remember it."""
    if connection.dialect.name == "sqlite":
        table.dialect_options["sqlite"]["autoincrement"] = True


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: object, connection_record: object) -> None:
    """WAL, foreign keys and a busy timeout for SQLite.

    pysqlite's default transaction handling is kept on purpose: it opens the transaction
    right before the first write, so reads never hold a lock and a write transaction does
    not have to upgrade a read snapshot (which fails at once instead of waiting). Racy
    updates (claims, stock) use conditional UPDATEs, which are atomic on every backend.
    """
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    with contextlib.suppress(sqlite3.OperationalError):
        cur.execute("PRAGMA journal_mode=WAL")
    cur.close()
