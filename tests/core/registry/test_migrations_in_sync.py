"""Model changes without a migration fail here: every installed module's tables, built by its
own migrations, must match its models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.db import UTCDateTime
from core.extensions import db


def _diff(app):
    registry = app.extensions["tandem_registry"]
    prefixes = tuple(f"{name}_" for name in ["core", *registry.installed])

    def include_object(obj, name, type_, reflected, compare_to):
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        return bool(table) and table.startswith(prefixes) and table != "alembic_version"

    def compare_type(context, inspected, metadata_col, inspected_type, metadata_type):
        if isinstance(metadata_type, UTCDateTime):
            return False  # stored as DateTime(timezone=True); the decorator adds UTC handling
        return None

    with app.app_context(), db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_object": include_object,
                "compare_type": compare_type,
                "compare_server_default": False,
            },
        )
        return compare_metadata(ctx, db.metadata)


def test_builtin_modules_match_their_migrations(app):
    assert _diff(app) == []


def test_fixture_modules_match_their_migrations(make_app):
    app = make_app(modules=["demo_a", "demo_b"])
    assert _diff(app) == []
