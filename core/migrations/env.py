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
    context.configure(
        connection=connection,
        target_metadata=db.metadata,
        include_object=include_object,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()


run_migrations_online()
