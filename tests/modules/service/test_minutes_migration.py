"""Migration service_0004 fills in the working minutes of the tickets answered and resolved
before it, with the values the services stamp on them when it happens (the same SLA
calendar function: pauses, lunch, the working day's end)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from alembic import command
from sqlalchemy import text

from core.extensions import db
from core.registry.migrations import alembic_config
from core.security.services import create_user
from core.services import ServiceContext
from core.services import unit_of_work
from modules.service.services import sla
from modules.service.services import tickets as svc
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import set_settings

MONDAY_10 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def _at(user, when, action, *args):
    ctx = ServiceContext(actor=user, source="web") if user else ServiceContext.system("cli")
    ctx.now = when
    with unit_of_work(ctx):
        return action(ctx, *args)


def _minutes():
    rows = db.session.execute(text("SELECT ticket_no, response_minutes, resolution_minutes "
                                   "FROM service_ticket ORDER BY ticket_no")).all()
    db.session.remove()
    return [tuple(r) for r in rows]


def test_the_backfill_equals_what_the_services_stamp(make_app):
    from modules.service.services.dispatch import save_engineer

    app = make_app(modules=["service"])
    with app.app_context():
        set_settings(dispatch_mode="manual")
        with unit_of_work(ctx := ServiceContext.system("cli")):
            li = create_user(ctx, "ligong", roles=["engineer"], password="secret-pass-1")
            save_engineer(ctx, li.id, {})
            sla.save_policy(ctx, {"name": "维修", "ticket_type": "repair",
                                  "response_minutes": 60, "resolution_minutes": 300})
        customer = make_customer(None)

        def new(when):
            return _at(None, when, svc.create_ticket, {
                "customer_id": customer.id, "ticket_type": "repair", "subject": "不制冷"}).id

        done, answered = new(MONDAY_10), new(MONDAY_10 + timedelta(hours=1))
        new(MONDAY_10 + timedelta(hours=2))  # neither answered nor resolved
        _at(li, MONDAY_10 + timedelta(minutes=20), svc.claim_ticket, done)
        _at(li, MONDAY_10 + timedelta(minutes=30), sla.pause, done, "等待配件")
        _at(li, MONDAY_10 + timedelta(days=1), svc.resolve_ticket, done)  # paused till then
        _at(li, MONDAY_10 + timedelta(hours=8), svc.claim_ticket, answered)  # at 18:00
        stamped = _minutes()
        # 10:00 → 10:20; 11:00 → the day's end at 18:00 (lunch 12:00–13:30 off): 330.
        assert [(r[1], r[2]) for r in stamped] == [(20, 30), (330, None), (None, None)]

        cfg = alembic_config(app.extensions["tandem_registry"].modules.values())
        db.session.remove()
        command.downgrade(cfg, "service@service_0003")
        command.upgrade(cfg, "service@head")
        assert _minutes() == stamped
