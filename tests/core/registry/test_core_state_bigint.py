"""core_0006: ``core_state`` values are 64-bit (the changes feed's pruning mark is an event
id), and the migration goes down again while every value fits 32 bits."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.app import create_app
from core.extensions import db
from core.registry.migrations import alembic_config
from tests.conftest import backend
from tests.conftest import base_config

BIG = 2**40  # an event id past 32 bits


def _type() -> str:
    return str({c["name"]: c["type"] for c in sa_inspect(db.engine).get_columns("core_state")}
               ["value"])


def _write(value: int) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM core_state WHERE key = 'changes_pruned_upto'"))
        conn.execute(text("INSERT INTO core_state (key, value) "
                          "VALUES ('changes_pruned_upto', :v)"), {"v": value})


def _read() -> int:
    with db.engine.connect() as conn:
        return conn.scalar(text("SELECT value FROM core_state "
                                "WHERE key = 'changes_pruned_upto'"))


def test_core_state_value_holds_64_bits_and_the_migration_goes_down(databases: Any,
                                                                   instance_dir: Any):
    app = create_app(base_config(databases.new_url(), instance_dir))
    cfg = alembic_config([])
    with app.app_context():
        try:
            command.upgrade(cfg, "core_0005")
            if backend() == "postgresql":
                assert _type() == "INTEGER"
                with pytest.raises(DBAPIError):  # what overflowed before
                    _write(BIG)
            command.upgrade(cfg, "core_0006")
            if backend() == "postgresql":
                assert _type() == "BIGINT"
            _write(BIG)
            assert _read() == BIG
            _write(7)
            command.downgrade(cfg, "core_0005")
            assert _read() == 7
            if backend() == "postgresql":
                assert _type() == "INTEGER"
            command.upgrade(cfg, "core_0006")
            _write(BIG)
            assert _read() == BIG
        finally:
            db.session.remove()
            db.engine.dispose()
