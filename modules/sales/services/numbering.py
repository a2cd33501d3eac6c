"""Order numbers: ``SO`` + the Beijing date + a 4-digit sequence of that day.

The counter row of the day is incremented by one ``INSERT … ON CONFLICT DO UPDATE …
RETURNING`` in the order's own transaction: on PostgreSQL the row lock makes concurrent
orders of the same day queue on it (unique), and an order that rolls back rolls its
increment back with it (no gaps)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from core.extensions import db
from modules.sales.models import NUMBER_PREFIX
from modules.sales.models import OrderSequence

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    """The Beijing calendar date of a UTC moment."""
    return moment.astimezone(SHANGHAI).date()


def next_number(moment: datetime) -> str:
    """The next order number of ``moment``'s Beijing day (``SO202612040001``)."""
    day = local_date(moment).strftime("%Y%m%d")
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(OrderSequence).values(day=day, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=[OrderSequence.day],
                                      set_={"last": OrderSequence.last + 1})
    last = db.session.execute(stmt.returning(OrderSequence.last)).scalar_one()
    return f"{NUMBER_PREFIX}{day}{last:04d}"
