"""The single Alembic environment; every module's migrations are a branch of it."""

from __future__ import annotations

from alembic import context
from flask import current_app

from core.db import UTCDateTime

config = context.config
module_filter = config.attributes.get("module_filter")


def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001, ANN201
    """Limit autogenerate to the tables of the module whose revision is being made."""
    if type_ == "table" and module_filter:
        return name.startswith(module_filter + "_") and name != "alembic_version"
    if type_ == "table" and name == "alembic_version":
        return False
    table = getattr(obj, "table", None)
    if module_filter and table is not None:
        return table.name.startswith(module_filter + "_")
    return True


def render_item(type_, obj, autogen_context):  # noqa: ANN001, ANN201
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    db = current_app.extensions["migrate"].db
    connection = config.attributes.get("connection")
    if connection is None:
        with db.engine.connect() as connection:
            _run(connection, db)
    else:
        _run(connection, db)


def _run(connection, db) -> None:  # noqa: ANN001
    sqlite = connection.dialect.name == "sqlite"
    applied: list[object] = []
    context.configure(
        connection=connection,
        target_metadata=db.metadata,
        include_object=include_object,
        render_item=render_item,
        render_as_batch=sqlite,
        compare_type=True,
        on_version_apply=lambda **kw: applied.append(kw["step"]),
    )
    if sqlite:
        # A batch operation rebuilds a table (new, copy, DROP, rename): with foreign keys on,
        # the DROP deletes its rows first, cascading to the rows that reference them. As
        # Alembic advises for SQLite, they are off while migrating (set before any
        # transaction: inside one the pragma does nothing) and checked afterwards.
        _sqlite_foreign_keys(connection, on=False)
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and applied:
                violations = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if violations:
                    raise RuntimeError("migrations left rows breaking foreign keys: " + "; ".join(
                        f"{t} rowid {r} -> {p}" for t, r, p, _ in violations[:20]))
        if connection.in_transaction():
            connection.commit()
    finally:
        if sqlite:
            if connection.in_transaction():
                connection.rollback()
            _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection, *, on: bool) -> None:  # noqa: ANN001
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar() != int(on):
        raise RuntimeError("SQLite ignored PRAGMA foreign_keys (a transaction is open)")
    connection.commit()


run_migrations_online()
