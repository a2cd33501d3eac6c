"""Counted pages of a SELECT: one statement for a list page's rows and its capped total."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer
from sqlalchemy import func
from sqlalchemy import literal_column
from sqlalchemy import select

from core.extensions import db


def capped_count(stmt: Any, key_column: Any, cap: int) -> int:
    """How many rows ``stmt`` (a filtered ``select(Model)``) has, counting at most ``cap + 1``."""
    return db.session.scalar(_capped_count_select(stmt, key_column, cap))


def capped_label(total: int, cap: int | None, *, grouped: bool = False) -> str:
    """A capped count as shown: ``"10,000+"`` beyond ``cap`` (None: no cap), else the number
    itself: ``"1,234"`` with ``grouped`` (the list pages), ``"1234"`` otherwise (the kanban
    columns, the workspace cards)."""
    if cap is not None and total > cap:
        return f"{cap:,}+"
    return f"{total:,}" if grouped else str(total)


def inline(value: int) -> Any:
    """An integer constant of a statement (a LIMIT, an OFFSET, a rule's threshold) written
    into its SQL rather than sent as a parameter. psycopg prepares a statement after five
    runs; with ``plan_cache_mode=force_custom_plan`` (core.config) PostgreSQL then plans one
    with parameters again on every run, and one without them once per connection: the
    low-stock parts list spent about 0.13 ms a request planning (bench/README.md, stock).
    Written when the statement is compiled (SQLAlchemy keeps one compiled form per value),
    not on each run as a ``literal_execute`` parameter is."""
    return literal_column(str(int(value)), Integer)


def with_total(page: Any, stmt: Any, key_column: Any, cap: int) -> Any:
    """``page`` (a page of ``stmt``) with :func:`capped_count` of ``stmt`` as its last
    column, for :func:`rows_with_total`."""
    total = (_capped_count_select(stmt, key_column, cap).correlate(None).scalar_subquery()
             .label("tandem_total"))
    return page.add_columns(total)


def page_with_total(page: Any, stmt: Any, key_column: Any, cap: int, *, entities: bool,
                    from_start: bool) -> tuple[list[Any], int]:
    """The rows of ``page`` (a page of ``stmt``: ORM objects with ``entities``, else plain
    rows) and :func:`capped_count` of ``stmt``, in one statement: the count rides along in
    each row as a scalar sub-select, which saves a list page a statement and a round trip.

    A page without rows carries no count: from the start (``from_start``) that means there
    is none; past the end, it is counted apart."""
    return rows_with_total(with_total(page, stmt, key_column, cap), stmt, key_column, cap,
                           entities=entities, from_start=from_start)


def rows_with_total(statement: Any, stmt: Any, key_column: Any, cap: int, *, entities: bool,
                    from_start: bool) -> tuple[list[Any], int]:
    """:func:`page_with_total` of a statement made by :func:`with_total` (which a list may
    keep from one request to the next).

    Plain rows are read through the session's connection: the ORM's execution (its compile
    state and result set-up, for objects there are none of) cost a list page about 0.2 ms
    of CPU (bench/README.md, stock). Pending changes are flushed first, as the session's
    autoflush would."""
    if entities:
        rows = db.session.execute(statement).unique().all()
    else:
        session = db.session()
        if session.autoflush and (session.new or session.deleted
                                  or session.identity_map.check_modified()):
            session.flush()
        rows = session.connection().execute(statement).all()
    if not rows:
        return [], 0 if from_start else capped_count(stmt, key_column, cap)
    return ([row[0] for row in rows] if entities else rows), rows[0][-1]


def _capped_count_select(stmt: Any, key_column: Any, cap: int) -> Any:
    """``SELECT count(*)`` of ``stmt`` capped at ``cap + 1`` rows.

    Only ``key_column`` is selected inside: a sub-select of every column costs PostgreSQL a
    wider projection and plan (about 2 ms of a 7 ms count at 300,000 rows, see ``bench/``)."""
    inner = (stmt.order_by(None)
             .with_only_columns(key_column, maintain_column_froms=True)
             .limit(inline(cap + 1)).subquery())
    return select(func.count()).select_from(inner)
