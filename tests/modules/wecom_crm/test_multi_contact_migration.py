"""Migration wecom_crm_0003_multi_contact: a customer's bindings are no longer unique; the
downgrade keeps each customer's first binding tied and unties the others."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select

from core.extensions import db
from core.registry.migrations import alembic_config
from core.services import ServiceContext
from core.services import unit_of_work


def test_two_bindings_of_one_customer_and_back(make_app):
    from modules.wecom_crm.models import Binding
    from tests.modules.crm.factories import make_customer

    app = make_app(modules=["crm", "wecom"])
    with app.app_context():
        customer = make_customer(None)
        with unit_of_work(ServiceContext.system("cli")):
            db.session.add_all([Binding(customer_id=customer.id, oa_openid="o-1", phone="1"),
                                Binding(customer_id=customer.id, oa_openid="o-2", phone="2")])
        cfg = alembic_config(app.extensions["tandem_registry"].modules.values())
        db.session.remove()
        command.downgrade(cfg, "wecom_crm@wecom_crm_0002")
        rows = db.session.execute(select(Binding.oa_openid, Binding.customer_id)
                                  .order_by(Binding.id)).all()
        db.session.remove()
        assert [tuple(r) for r in rows] == [("o-1", customer.id), ("o-2", None)]
        command.upgrade(cfg, "wecom_crm@head")
        with unit_of_work(ServiceContext.system("cli")):
            db.session.execute(select(Binding).where(Binding.oa_openid == "o-2")).scalar_one() \
                .customer_id = customer.id
        assert len(db.session.scalars(select(Binding).where(
            Binding.customer_id == customer.id)).all()) == 2
