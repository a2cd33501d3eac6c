"""Migration service_0006_drop_customer_index: the tickets keep no single-column index on
customer_id (two composite indexes start with it), and the downgrade brings it back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from core.extensions import db
from core.registry.migrations import alembic_config


def _customer_indexes() -> dict[str, list[str]]:
    indexes = inspect(db.engine).get_indexes("service_ticket")
    db.session.remove()
    return {ix["name"]: list(ix["column_names"]) for ix in indexes
            if ix["column_names"] and ix["column_names"][0] == "customer_id"}


def test_lookups_by_customer_keep_a_composite_index_and_the_single_one_is_gone(make_app):
    app = make_app(modules=["service"])
    with app.app_context():
        found = _customer_indexes()
        assert ["customer_id"] not in found.values()
        assert found["ix_service_ticket_customer_resolved"][0] == "customer_id"
        assert found["ix_service_ticket_customer_rated"][0] == "customer_id"

        cfg = alembic_config(app.extensions["tandem_registry"].modules.values())
        db.session.remove()
        command.downgrade(cfg, "service@service_0005")
        assert _customer_indexes()["ix_service_ticket_customer_id"] == ["customer_id"]
        command.upgrade(cfg, "service@head")
        assert "ix_service_ticket_customer_id" not in _customer_indexes()
