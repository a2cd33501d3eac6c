"""SLA on tickets: the policy's deadlines, pause/resume, breach marked by the job and
escalated once, met on resolution, policy edits recompute open tickets."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.audit import AuditLog
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.service.models import Ticket
from modules.service.services import sla
from modules.service.services import tickets as svc
from modules.service.sla import to_local
from tests.modules.service.factories import act
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import make_ticket
from tests.modules.service.factories import service_people
from tests.modules.service.factories import set_settings

# Monday 2026-03-09 10:00 in Shanghai
MONDAY_10 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


@pytest.fixture
def people(app_ctx, make_user):
    set_settings(dispatch_mode="manual")
    people = service_people(make_user)
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        sla.save_policy(ctx, {"name": "维修高优先", "ticket_type": "repair",
                              "response_minutes": 60, "resolution_minutes": 300})
    return people


def ticket_at(customer, when, **kw):
    ctx = ServiceContext.system("cli")
    ctx.now = when
    with unit_of_work(ctx):
        return svc.create_ticket(ctx, {"customer_id": customer.id, "ticket_type": "repair",
                                       "subject": "不制冷", **kw})


def run_refresh(when):
    ctx = ServiceContext.system("job")
    ctx.now = when
    with unit_of_work(ctx):
        return sla.refresh(ctx)


def test_deadlines_in_working_time(people):
    t = ticket_at(make_customer(people["sales"]), MONDAY_10)
    assert t.sla_state == "response_due"
    assert to_local(t.response_due_at) == datetime(2026, 3, 9, 11, 0)
    assert to_local(t.resolution_due_at) == datetime(2026, 3, 9, 16, 30)  # lunch skipped
    inquiry = make_ticket(make_customer(people["sales"]), ticket_type="inquiry", subject="问")
    assert inquiry.sla_state == "none" and inquiry.resolution_due_at is None


def test_breach_is_marked_and_escalated_once(people, make_user):
    t = ticket_at(make_customer(people["sales"]), MONDAY_10)
    assert run_refresh(MONDAY_10 + timedelta(minutes=59)) == {"breached": 0, "escalated": 0}
    assert run_refresh(MONDAY_10 + timedelta(minutes=61)) == {"breached": 1, "escalated": 1}
    assert run_refresh(MONDAY_10 + timedelta(minutes=62)) == {"breached": 0, "escalated": 0}
    db.session.expire_all()
    ticket = db.session.get(Ticket, t.id)
    assert (ticket.sla_state, ticket.escalations, ticket.sla_escalated) == ("breached", 1, True)
    assert [r.action for r in svc.action_log(t.id)].count("escalate") == 1


def test_claim_answers_then_resolve_in_time_is_met(people):
    t = ticket_at(make_customer(people["sales"]), MONDAY_10)
    act(people["li"], svc.claim_ticket, t.id)
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).sla_state == "resolution_due"
    act(people["li"], svc.resolve_ticket, t.id)
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).sla_state in ("met", "breached")


def test_pause_moves_the_resolution_deadline(people):
    t = ticket_at(make_customer(people["sales"]), MONDAY_10)
    act(people["li"], svc.claim_ticket, t.id)
    before = db.session.get(Ticket, t.id).resolution_due_at
    li = people["li"]
    ctx = ServiceContext(actor=li, source="web")
    ctx.now = MONDAY_10 + timedelta(minutes=30)  # 10:30
    with unit_of_work(ctx):
        sla.pause(ctx, t.id, "等待配件")
    ctx2 = ServiceContext(actor=li, source="web")
    ctx2.now = MONDAY_10 + timedelta(minutes=150)  # 12:30 — paused 10:30–12:30: 1.5 h working
    with unit_of_work(ctx2):
        sla.resume(ctx2, t.id)
    db.session.expire_all()
    after = db.session.get(Ticket, t.id).resolution_due_at
    assert to_local(after) - to_local(before) == timedelta(hours=1, minutes=30)


def test_policy_edit_recomputes_open_tickets_with_an_audit_entry(people):
    t = ticket_at(make_customer(people["sales"]), MONDAY_10)
    policy_id = t.sla_policy_id
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        sla.save_policy(ctx, {"name": "维修高优先", "ticket_type": "repair",
                              "response_minutes": 60, "resolution_minutes": 600}, policy_id)
    db.session.expire_all()
    assert to_local(db.session.get(Ticket, t.id).resolution_due_at) == datetime(2026, 3, 10, 14, 0)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "sla_recompute"))


def _at(user, when, action, *args):
    ctx = ServiceContext(actor=user, source="web")
    ctx.now = when
    with unit_of_work(ctx):
        return action(ctx, *args)


def test_working_minutes_are_stamped_when_answered_and_resolved_and_cleared_on_reopen(people):
    """The analytics' minutes: the first response from creation, the resolution less the
    working time paused (a pause still open ends at the resolution), as the SLA counts."""
    li = people["li"]
    t = ticket_at(make_customer(people["sales"]), MONDAY_10)
    assert (t.response_minutes, t.resolution_minutes) == (None, None)
    _at(li, MONDAY_10 + timedelta(minutes=20), svc.claim_ticket, t.id)
    db.session.expire_all()
    assert db.session.get(Ticket, t.id).response_minutes == 20
    _at(li, MONDAY_10 + timedelta(minutes=30), sla.pause, t.id, "等待配件")
    # Resolved at 14:30 while paused since 10:30: 180 working minutes since 10:00, of
    # which 150 paused (10:30–12:00 and 13:30–14:30).
    _at(li, MONDAY_10 + timedelta(hours=4, minutes=30), svc.resolve_ticket, t.id)
    db.session.expire_all()
    done = db.session.get(Ticket, t.id)
    assert (done.response_minutes, done.resolution_minutes) == (20, 30)
    _at(people["manager"], MONDAY_10 + timedelta(days=1), svc.reopen_ticket, t.id, "仍不制冷")
    db.session.expire_all()
    again = db.session.get(Ticket, t.id)
    assert (again.response_minutes, again.resolution_minutes) == (20, None)
