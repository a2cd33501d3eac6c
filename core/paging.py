"""Counted pages of a SELECT: one statement for a list page's rows and its capped total."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
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


def page_with_total(page: Any, stmt: Any, key_column: Any, cap: int, *, entities: bool,
                    from_start: bool) -> tuple[list[Any], int]:
    """The rows of ``page`` (a page of ``stmt``: ORM objects with ``entities``, else plain
    rows) and :func:`capped_count` of ``stmt``, in one statement: the count rides along in
    each row as a scalar sub-select, which saves a list page a statement and a round trip.

    A page without rows carries no count: from the start (``from_start``) that means there
    is none; past the end, it is counted apart."""
    total = (_capped_count_select(stmt, key_column, cap).correlate(None).scalar_subquery()
             .label("tandem_total"))
    result = db.session.execute(page.add_columns(total))
    rows = (result.unique() if entities else result).all()
    if not rows:
        return [], 0 if from_start else capped_count(stmt, key_column, cap)
    return ([row[0] for row in rows] if entities else rows), rows[0][-1]


def _capped_count_select(stmt: Any, key_column: Any, cap: int) -> Any:
    """``SELECT count(*)`` of ``stmt`` capped at ``cap + 1`` rows.

    Only ``key_column`` is selected inside: a sub-select of every column costs PostgreSQL a
    wider projection and plan (about 2 ms of a 7 ms count at 300,000 rows, see ``bench/``)."""
    inner = (stmt.order_by(None)
             .with_only_columns(key_column, maintain_column_froms=True)
             .limit(cap + 1).subquery())
    return select(func.count()).select_from(inner)
