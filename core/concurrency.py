"""Race-safe writes: a conditional UPDATE whose row count says who won."""

from __future__ import annotations

from sqlalchemy import Update

from core.extensions import db


def conditional_update(stmt: Update) -> int:
    """Run ``stmt`` (an UPDATE whose WHERE states the condition, e.g. "still unowned") and
    answer how many rows it changed. The database checks the condition and writes in one
    step, so of two concurrent claims of a row exactly one sees 1 and the other 0; objects
    in the session are left alone (refresh the ones you read again)."""
    return db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount
