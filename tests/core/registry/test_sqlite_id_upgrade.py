"""Issue 14 #1 on databases made before: an SQLite database whose tables were created without
``AUTOINCREMENT`` is rebuilt by ``db upgrade`` (``ensure_core``) so that no id is handed out
again, keeping rows, constraints, indexes and triggers, and without the cascade a
``DROP TABLE`` with foreign keys on would run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Table
from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text

import core.db as core_db
from core.extensions import db
from core.registry import installer
from core.registry import sqlite_ids
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import backend
from tests.conftest import build_installed_app
from tests.conftest import builtin_modules

pytestmark = pytest.mark.skipif(backend() != "sqlite",
                                reason="SQLite only: PostgreSQL sequences never go back")


@pytest.fixture
def old_app(databases: Any, instance_dir: Any, monkeypatch: Any) -> Iterator[Any]:
    """Every built-in module installed as before issue 14: no table ``AUTOINCREMENT``."""
    event.remove(Table, "before_create", core_db._ids_never_reused)
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_ids, "rebuild", lambda *_a, **_k: [])
        try:
            application = build_installed_app(databases.new_url(), instance_dir,
                                              builtin_modules())
        finally:
            event.listen(Table, "before_create", core_db._ids_never_reused)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def _schema() -> dict[str, Any]:
    """Everything about each table except AUTOINCREMENT and the key constraint's name."""
    inspector = sa_inspect(db.engine)
    out: dict[str, Any] = {}
    for table in inspector.get_table_names():
        pk = inspector.get_pk_constraint(table)
        out[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c["default"])
                        for c in inspector.get_columns(table)],
            "pk": pk["constrained_columns"],
            "fks": sorted((f["name"] or "", tuple(f["constrained_columns"]), f["referred_table"],
                           tuple(f["referred_columns"]), tuple(sorted(f["options"].items())))
                          for f in inspector.get_foreign_keys(table)),
            "unique": sorted((u["name"] or "", tuple(u["column_names"]))
                             for u in inspector.get_unique_constraints(table)),
            "checks": sorted((c["name"] or "", c["sqltext"])
                             for c in inspector.get_check_constraints(table)),
        }
    out["indexes and triggers"] = sorted(db.session.execute(text(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE type IN ('index', 'trigger', 'view')")).all())
    db.session.rollback()
    return out


def _rows() -> dict[str, list[Any]]:
    tables = db.session.scalars(text(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    out = {t: sorted(map(tuple, db.session.execute(text(f'SELECT * FROM "{t}"')).all()),
                     key=repr) for t in tables}
    db.session.rollback()
    return out


def _autoincrement(table: str) -> bool:
    sql = db.session.scalar(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": table})
    return "AUTOINCREMENT" in sql.upper()


@pytest.mark.usefixtures("old_app")
def test_an_old_database_is_rebuilt_and_never_reuses_an_id() -> None:
    from core.security.services import create_user
    from core.timeline import timeline
    from modules.crm.services.customers import delete_customer
    from tests.modules.crm.factories import make_customer
    from tests.modules.crm.factories import make_opportunity

    assert not any(_autoincrement(t) for t in ("core_user", "crm_customer", "crm_opportunity",
                                               "stock_part", "sales_order", "service_ticket",
                                               "equipment_equipment"))
    reusing = sqlite_ids.tables_reusing_ids(db.session.connection())
    db.session.rollback()
    assert {"core_user", "core_audit_log", "crm_customer", "stock_move"} <= set(reusing)
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        owner = create_user(ctx, "old-sales", roles=("sales",), password="secret-pass-1")
    kept = make_customer(owner, customer_name="留下的客户")
    make_opportunity(kept, owner)
    gone = make_customer(owner, customer_name="已删除客户甲")
    make_opportunity(gone, owner, product_name="旧产品名")
    gone_id = gone.id
    with unit_of_work(ctx):
        delete_customer(ctx, gone_id)
    # The deleted customer had the highest id: an old table would hand it out again.
    assert db.session.scalar(text("SELECT max(id) FROM crm_customer")) < gone_id
    schema, rows = _schema(), _rows()

    rebuilt = sqlite_ids.rebuild(db.engine)

    assert set(rebuilt) == set(reusing)
    assert not sqlite_ids.tables_reusing_ids(db.session.connection())
    assert all(_autoincrement(t) for t in rebuilt)
    assert _schema() == schema  # columns, keys, foreign keys, checks, indexes, triggers
    assert _rows() == rows  # nothing lost, nothing cascaded
    assert not db.session.execute(text("PRAGMA foreign_key_check")).all()
    for _ in range(3):  # every pooled connection has its foreign keys on again
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.session.rollback()

    new = make_customer(owner, customer_name="新客户乙")
    assert new.id > gone_id
    assert "已删除客户甲" not in repr(timeline("crm_customer", new.id))
    assert "已删除客户甲" in repr(timeline("crm_customer", gone_id))  # the history is kept
    # Nothing left to do: a second upgrade is a no-op.
    assert sqlite_ids.rebuild(db.engine) == []


@pytest.mark.usefixtures("old_app")
def test_the_sequence_starts_above_ids_only_history_remembers() -> None:
    """Deleted rows whose ids only the audit log still holds are not handed out either."""
    from modules.crm.services.customers import delete_customer
    from tests.modules.crm.factories import make_customer

    first = make_customer(None)
    ids = [make_customer(None).id for _ in range(3)]
    ctx = ServiceContext.system("cli")
    for cid in ids:
        with unit_of_work(ctx):
            delete_customer(ctx, cid)
    db.session.rollback()
    installer.ensure_core()  # what `db upgrade` runs
    assert _autoincrement("crm_customer")
    assert make_customer(None).id == max(ids) + 1 > first.id


@pytest.mark.usefixtures("old_app")
def test_a_broken_foreign_key_fails_loudly_and_changes_nothing() -> None:
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.exec_driver_sql(
            "INSERT INTO crm_contact (customer_id, name, is_primary, created_at, updated_at) "
            "VALUES (999999, 'x', 0, '2026-01-01', '2026-01-01')")
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    schema = _schema()
    with pytest.raises(sqlite_ids.ForeignKeyViolation, match="crm_contact"):
        sqlite_ids.rebuild(db.engine)
    assert not _autoincrement("crm_customer")
    assert _schema() == schema
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_new_installs_make_autoincrement_tables_and_need_no_rebuild(make_app: Any) -> None:
    """A database made today, every built-in module installed: nothing to rebuild."""
    app = make_app(modules=builtin_modules())
    with app.app_context():
        assert sqlite_ids.tables_reusing_ids(db.session.connection()) == []
        assert _autoincrement("crm_customer") and _autoincrement("service_ticket")


def test_a_batch_rebuild_in_a_migration_does_not_cascade(make_app: Any) -> None:
    """crm_0002's downgrade drops two columns of crm_opportunity: on SQLite Alembic rebuilds
    the table (DROP TABLE included). With foreign keys on, the drop would delete every quote
    (``ON DELETE CASCADE``); migrations run with them off and checked afterwards."""
    from alembic import command

    from core.registry import migrations
    from modules.crm.services.opportunities import add_quote
    from tests.modules.crm.factories import make_customer
    from tests.modules.crm.factories import make_opportunity

    app = make_app(modules=["crm"])
    with app.app_context():
        opportunity = make_opportunity(make_customer(None), None)
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            add_quote(ctx, opportunity.id, "1000.00")
        db.session.remove()
        command.downgrade(migrations._config(), "crm_0001")
        assert db.session.scalar(text("SELECT count(*) FROM crm_quote")) == 1
        assert db.session.scalar(text("SELECT count(*) FROM crm_opportunity")) == 1
        db.session.remove()
        command.upgrade(migrations._config(), "crm@head")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
