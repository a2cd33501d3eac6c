"""Dispatch: project owner first, rules (skill, area, shift, leave, load / round robin),
offers accepted or rejected, timeouts to the next candidate, the grab window — and on
PostgreSQL, fairness under concurrency and a single grab winner."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.errors import ConflictError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.service.models import Ticket
from modules.service.services import dispatch
from modules.service.services import tickets as svc
from tests.conftest import backend
from tests.modules.service.factories import act
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import make_engineer
from tests.modules.service.factories import make_ticket
from tests.modules.service.factories import set_settings


def hops(ticket_id):
    return [(r.action, r.data.get("user_id")) for r in svc.action_log(ticket_id)
            if r.action in ("offer", "decline", "offer_timeout", "dispatch_failed")]


@pytest.fixture
def crew(app_ctx, make_user):
    set_settings(dispatch_mode="auto")
    return {
        "a": make_engineer(make_user, "eng_a", "甲工", skills=["repair"], areas=["浦东"]),
        "b": make_engineer(make_user, "eng_b", "乙工", skills=[], areas=[]),
        "c": make_engineer(make_user, "eng_c", "丙工", skills=["installation"]),
        "sales": make_user("sales", username="xs1"),
    }


def test_rules_filter_skill_area_leave_and_balance_load(crew):
    customer = make_customer(crew["sales"], address="上海市浦东新区张江路 88 号")
    first = make_ticket(customer)
    second = make_ticket(customer)
    # c lacks the skill; a and b share the load (a first: fewest tickets, lowest id)
    assert {first.assignee_id, second.assignee_id} == {crew["a"].id, crew["b"].id}
    far = make_ticket(make_customer(crew["sales"], address="北京市朝阳区"))
    assert far.assignee_id == crew["b"].id  # a does not serve that area
    with unit_of_work(ServiceContext.system("cli")):
        dispatch.save_engineer(ServiceContext.system("cli"), crew["b"].id, {"on_leave": True})
    install = make_ticket(customer, ticket_type="installation", subject="新机安装")
    assert install.assignee_id == crew["c"].id


def test_offer_accept_decline_and_timeout_hops(crew, app_ctx):
    customer = make_customer(crew["sales"], address="浦东")
    ticket = make_ticket(customer)
    first = ticket.assignee_id
    assert ticket.status == "pending" and ticket.offered_at is not None
    with pytest.raises(ValidationError):
        act(db.session.get(type(crew["a"]), first), svc.decline_ticket, ticket.id, "")
    act(db.session.get(type(crew["a"]), first), svc.decline_ticket, ticket.id, "今天在外地")
    db.session.expire_all()
    t = db.session.get(Ticket, ticket.id)
    second = t.assignee_id
    assert second not in (None, first)
    # no answer within the offer window → next candidate; nobody left → managers told
    set_settings(offer_minutes=30)
    later = ServiceContext.system("job")
    later.now = t.offered_at + timedelta(minutes=31)
    with unit_of_work(later):
        dispatch.run_timeouts(later)
    db.session.expire_all()
    t = db.session.get(Ticket, ticket.id)
    assert t.assignee_id is None
    assert hops(ticket.id) == [("offer", first), ("decline", first), ("offer", second),
                               ("offer_timeout", second), ("dispatch_failed", None)]
    with pytest.raises(UserError):
        act(crew["a"], svc.accept_ticket, ticket.id)


def test_accept_an_offer(crew):
    ticket = make_ticket(make_customer(crew["sales"], address="浦东"))
    engineer = db.session.get(type(crew["a"]), ticket.assignee_id)
    act(engineer, svc.accept_ticket, ticket.id)
    db.session.expire_all()
    t = db.session.get(Ticket, ticket.id)
    assert (t.status, t.offered_at, t.first_response_at is not None) == ("accepted", None, True)


def test_grab_window_then_rules(crew):
    set_settings(dispatch_mode="grab", grab_minutes=10)
    ticket = make_ticket(make_customer(crew["sales"], address="浦东"))
    assert ticket.assignee_id is None and ticket.grab_until is not None
    later = ServiceContext.system("job")
    later.now = ticket.grab_until + timedelta(seconds=1)
    with unit_of_work(later):
        assert dispatch.run_timeouts(later)["grab_expired"] == 1
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).assignee_id is not None


def test_manual_assignment_by_manager(crew, make_user):
    set_settings(dispatch_mode="manual")
    manager = make_user("manager")
    ticket = make_ticket(make_customer(crew["sales"]))
    assert ticket.assignee_id is None
    act(manager, svc.assign_ticket, ticket.id, crew["c"].id, "熟悉该型号")
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).assignee_id == crew["c"].id
    with pytest.raises(ValidationError):
        act(manager, svc.assign_ticket, ticket.id, crew["sales"].id)


def _concurrently(app, fn, n):
    barrier = threading.Barrier(n)
    out, errors = [], []

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                out.append(fn(i))
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out, errors


@pytest.mark.skipif(backend() != "postgresql", reason="a real race needs PostgreSQL")
def test_twenty_tickets_at_once_over_four_engineers_are_fair(app, app_ctx, make_user):
    set_settings(dispatch_mode="auto")
    engineers = [make_engineer(make_user, f"fair{i}") for i in range(4)]
    customer = make_customer(make_user("sales"))

    def create(i):
        return make_ticket(customer, subject=f"故障 {i}").id

    ids, errors = _concurrently(app, create, 20)
    assert not errors and len(ids) == 20
    db.session.expire_all()
    counts = Counter(db.session.scalars(select(Ticket.assignee_id)))
    assert set(counts) == {e.id for e in engineers}
    assert max(counts.values()) - min(counts.values()) <= 1, counts


@pytest.mark.skipif(backend() != "postgresql", reason="a real race needs PostgreSQL")
def test_grab_mode_has_exactly_one_winner(app, app_ctx, make_user):
    set_settings(dispatch_mode="grab")
    engineers = [make_engineer(make_user, f"grab{i}") for i in range(8)]
    ticket = make_ticket(make_customer(make_user("sales")))

    def grab(i):
        act(engineers[i], svc.claim_ticket, ticket.ticket_no, source="bot")
        return engineers[i].id

    winners, errors = _concurrently(app, grab, 8)
    assert len(winners) == 1 and len(errors) == 7
    assert all(isinstance(e, ConflictError) for e in errors)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).assignee_id == winners[0]
