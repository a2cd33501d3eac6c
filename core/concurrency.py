"""Race-safe writes: a conditional UPDATE whose row count says who won."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from core.extensions import db


def conditional_update(stmt: Update) -> int:
    """Run ``stmt`` (an UPDATE whose WHERE states the condition, e.g. "still unowned") and
    answer how many rows it changed. The database checks the condition and writes in one
    step, so of two concurrent claims of a row exactly one sees 1 and the other 0; objects
    in the session are left alone (refresh the ones you read again)."""
    return db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount


def dialect_insert(target: Any) -> Any:
    """``INSERT`` into ``target`` in the session's dialect (PostgreSQL, else SQLite), for
    its ``on_conflict_do_nothing`` / ``on_conflict_do_update``: a write that a concurrent
    or repeated one turns into nothing."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    return (postgresql.insert if postgres else sqlite.insert)(target)
