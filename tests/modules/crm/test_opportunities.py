"""Opportunity services: the status machine, quotes, follow-ups, claim (incl. the race on
PostgreSQL), assignment and who sees what."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.audit import AuditLog
from core.errors import ConflictError
from core.errors import NotFoundError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.services import unit_of_work
from modules.crm import queries
from modules.crm.models.customer import Customer
from modules.crm.models.customer import FollowUp
from modules.crm.models.opportunity import STATUSES
from modules.crm.models.opportunity import Opportunity
from modules.crm.models.opportunity import Quote
from modules.crm.services import opportunities as opportunity_service
from tests.conftest import backend
from tests.modules.crm.factories import act
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity
from tests.modules.crm.factories import make_people

# The whole table: (from, to) pairs that are allowed; every other pair is refused.
ALLOWED = {
    ("new", "contacted"), ("new", "quoted"), ("new", "lost"),
    ("contacted", "quoted"), ("contacted", "negotiating"), ("contacted", "lost"),
    ("quoted", "contacted"), ("quoted", "negotiating"), ("quoted", "won"), ("quoted", "lost"),
    ("negotiating", "quoted"), ("negotiating", "won"), ("negotiating", "lost"),
    ("lost", "new"),
}
PAIRS = [(a, b) for a in STATUSES for b in STATUSES if a != b]


@pytest.fixture
def sales_pair(app_ctx, make_user):
    return make_user("sales", username="li", wecom_userid="li.sales"), make_user(
        "sales", username="zhao", wecom_userid="zhao.sales")


def _at(user, status):
    """An opportunity of ``user`` put straight into ``status`` (bypassing the machine)."""
    opp = make_opportunity(make_customer(user), user)
    with unit_of_work(ctx_for(user)):
        db.session.get(Opportunity, opp.id).status = status
    return opp


@pytest.mark.parametrize(("start", "target"), PAIRS)
def test_transition_table(sales_pair, start, target):
    li, _ = sales_pair
    opp = _at(li, start)
    reason = "价格高于竞品" if target == "lost" else None
    if (start, target) in ALLOWED:
        assert act(li, opportunity_service.change_status, opp.id, target, reason).status == target
    else:
        with pytest.raises(UserError, match=f"不能从“{STATUSES[start]}”变为“{STATUSES[target]}”"):
            act(li, opportunity_service.change_status, opp.id, target, reason)
        assert db.session.get(Opportunity, opp.id).status == start


def test_lost_needs_a_reason_and_status_changes_are_audited(sales_pair):
    li, _ = sales_pair
    opp = make_opportunity(make_customer(li), li)
    act(li, opportunity_service.change_status, opp.id, "contacted")
    with pytest.raises(ValidationError, match="丢单需要填写原因") as refused:
        act(li, opportunity_service.change_status, opp.id, "lost", "  ")
    assert refused.value.fields == {"reason": "请填写丢单原因"}
    with pytest.raises(ValidationError):
        act(li, opportunity_service.change_status, opp.id, "closed")
    lost = act(li, opportunity_service.change_status, opp.id, "lost", "价格高于竞品")
    assert lost.lost_reason == "价格高于竞品" and lost.closed_at is not None
    reopened = act(li, opportunity_service.change_status, opp.id, "new")
    assert reopened.lost_reason is None and reopened.closed_at is None
    audit = db.session.scalars(select(AuditLog).where(
        AuditLog.model == "crm_opportunity", AuditLog.action == "status").order_by(AuditLog.id)
    ).all()
    assert [a.changes["status"] for a in audit] == [
        ["new", "contacted"], ["contacted", "lost"], ["lost", "new"]]
    assert audit[1].message == "价格高于竞品" and {a.source for a in audit} == {"web"}


def test_stage_reached_keeps_the_furthest_stage(sales_pair):
    li, _ = sales_pair
    opp = make_opportunity(make_customer(li), li)
    for status in ("quoted", "negotiating", "quoted", "contacted"):
        act(li, opportunity_service.change_status, opp.id, status)
    act(li, opportunity_service.change_status, opp.id, "lost", "预算取消")
    assert db.session.get(Opportunity, opp.id).stage_reached == "negotiating"


def test_won_calls_the_hook_and_reactivates_the_customer(app, sales_pair):
    li, _ = sales_pair
    customer = make_customer(li)
    with unit_of_work(ctx_for(li)):
        db.session.get(Customer, customer.id).status = "inactive"
    opp = _at(li, "negotiating")
    with unit_of_work(ctx_for(li)):
        db.session.get(Opportunity, opp.id).customer_id = customer.id
    seen = []

    class Sales:  # what a future ``sales`` module does: create the order
        from core import hookimpl

        @hookimpl
        def opportunity_won(self, opportunity, ctx):
            seen.append((opportunity.id, ctx.source))

    pm = app.extensions["tandem_registry"].pm
    plugin = Sales()
    pm.register(plugin)
    try:
        act(li, opportunity_service.change_status, opp.id, "won", source="bot")
    finally:
        pm.unregister(plugin)
    assert seen == [(opp.id, "bot")]
    won = db.session.get(Opportunity, opp.id)
    assert won.won_at is not None and won.stage_reached == "won"
    assert db.session.get(Customer, customer.id).status == "active"


def test_quotes_keep_one_current_and_move_to_quoted(sales_pair):
    li, _ = sales_pair
    opp = make_opportunity(make_customer(li), li)
    act(li, opportunity_service.add_quote, opp.id, "180000", "2026-12-31")
    act(li, opportunity_service.add_quote, opp.id, "175,500.50")
    db.session.expire_all()
    opp = db.session.get(Opportunity, opp.id)
    assert opp.status == "quoted"
    assert [q.is_current for q in opp.quotes] == [True, False]
    assert opp.current_quote.amount == Decimal("175500.50")
    assert str(opp.quotes[1].valid_until) == "2026-12-31"
    for bad in ("十万", "0", "-5", "1.234"):
        with pytest.raises(ValidationError):
            act(li, opportunity_service.add_quote, opp.id, bad)
    act(li, opportunity_service.change_status, opp.id, "lost", "预算取消")
    with pytest.raises(UserError, match="不能再报价"):
        act(li, opportunity_service.add_quote, opp.id, "1000")


def test_the_database_allows_one_current_quote(sales_pair):
    li, _ = sales_pair
    opp = make_opportunity(make_customer(li), li)
    act(li, opportunity_service.add_quote, opp.id, "1000")
    with pytest.raises(IntegrityError), unit_of_work(ctx_for(li)):  # two quotes saved at once
        db.session.add(Quote(opportunity_id=opp.id, amount=Decimal("900"), is_current=True))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Quote)) == 1


def test_follow_up_is_stored_with_the_customer_and_moves_new_to_contacted(sales_pair):
    li, zhao = sales_pair
    customer = make_customer(zhao)  # someone else's customer: li works only the opportunity
    opp = make_opportunity(customer, zhao)
    with unit_of_work(ctx_for(zhao)):
        db.session.get(Opportunity, opp.id).owner_id = li.id
    record = act(li, opportunity_service.follow_up, opp.id, " 已发送方案 ", "phone")
    assert (record.content, record.opportunity_id, record.user_id) == ("已发送方案", opp.id, li.id)
    db.session.expire_all()
    opp = db.session.get(Opportunity, opp.id)
    assert opp.status == "contacted" and opp.followed_up_at is not None
    assert db.session.get(Customer, customer.id).last_follow_up_at == opp.followed_up_at
    assert [f.content for f in opp.follow_ups] == ["已发送方案"]
    with pytest.raises(ValidationError):
        act(li, opportunity_service.follow_up, opp.id, "")
    with pytest.raises(ValidationError):
        act(li, opportunity_service.follow_up, opp.id, "x", "telepathy")


def test_sales_see_and_change_only_their_own_and_the_unclaimed(make_user, app_ctx):
    people = make_people(make_user)
    a, b, c, manager, admin = (people[k] for k in ("a", "b", "c", "manager", "admin"))
    mine = make_opportunity(make_customer(a), a)
    teammate = make_opportunity(make_customer(b), b)
    other_team = make_opportunity(make_customer(c), c)
    unclaimed = make_opportunity(make_customer(a))

    def visible(user):
        return set(db.session.scalars(queries.opportunity_select(ctx_for(user))
                                      .with_only_columns(Opportunity.id)))

    assert visible(a) == {mine.id, unclaimed.id}
    assert visible(manager) == {mine.id, teammate.id, unclaimed.id}
    assert visible(admin) == {mine.id, teammate.id, other_team.id, unclaimed.id}
    with pytest.raises(NotFoundError, match="商机不存在或无权查看"):
        act(a, opportunity_service.change_status, teammate.id, "contacted")
    with pytest.raises(NotFoundError):
        act(a, opportunity_service.add_quote, other_team.id, "100")
    with pytest.raises(UserError, match="请先认领"):
        act(a, opportunity_service.follow_up, unclaimed.id, "看看")
    assert act(manager, opportunity_service.change_status, teammate.id, "contacted").status == "contacted"
    with pytest.raises(NotFoundError):
        act(manager, opportunity_service.change_status, other_team.id, "contacted")


def test_assignment_stays_within_the_managers_team(make_user, app_ctx):
    people = make_people(make_user)
    a, b, c, manager = (people[k] for k in ("a", "b", "c", "manager"))
    opp = make_opportunity(make_customer(a), a)
    assert act(manager, opportunity_service.assign_opportunity, opp.id, b.id).owner_id == b.id
    with pytest.raises(ValidationError) as refused:
        act(manager, opportunity_service.assign_opportunity, opp.id, c.id)
    assert "owner_id" in refused.value.fields
    with pytest.raises(Exception, match="无权限"):
        act(a, opportunity_service.assign_opportunity, opp.id, a.id)
    assert db.session.scalar(select(AuditLog.changes).where(AuditLog.action == "assign")) == {
        "owner_id": [a.id, b.id]}


def test_only_assigners_create_unowned_or_others_opportunities(sales_pair, make_user):
    li, zhao = sales_pair
    customer = make_customer(li)
    data = {"customer_id": customer.id, "product_name": "配电柜"}
    with pytest.raises(ValidationError, match="只能为自己创建商机"):
        act(li, opportunity_service.create_opportunity, {**data, "unowned": True})
    with pytest.raises(ValidationError, match="只能为自己创建商机"):
        act(li, opportunity_service.create_opportunity, {**data, "owner_id": zhao.id})
    assert act(li, opportunity_service.create_opportunity, data).owner_id == li.id
    with pytest.raises(ValidationError) as refused:
        act(zhao, opportunity_service.create_opportunity, data)  # li's customer: zhao may not see it
    assert refused.value.fields == {"customer_id": "客户不存在"}
    admin = make_user("admin")
    assert act(admin, opportunity_service.create_opportunity, {**data, "unowned": True}).owner_id is None


def test_unowned_opportunity_is_claimed_once(sales_pair, make_user):
    li, zhao = sales_pair
    opp = make_opportunity(make_customer(li))
    claimed = act(zhao, opportunity_service.claim_opportunity, f"OPP-{opp.id}")
    assert claimed.owner_id == zhao.id
    with pytest.raises(ConflictError, match="已被zhao认领"):
        act(li, opportunity_service.claim_opportunity, opp.id)
    with pytest.raises(ConflictError, match="已经是您的商机"):
        act(zhao, opportunity_service.claim_opportunity, opp.id)
    # an opportunity that was never announced: others learn nothing about it
    owned = make_opportunity(make_customer(zhao), zhao)
    with pytest.raises(NotFoundError):
        act(li, opportunity_service.claim_opportunity, owned.id)
    with pytest.raises(NotFoundError):
        act(li, opportunity_service.claim_opportunity, "OPP-99999")
    assert db.session.scalar(select(AuditLog.changes).where(AuditLog.action == "claim")) == {
        "owner_id": [None, zhao.id]}


@pytest.mark.skipif(backend() != "postgresql", reason="a real race needs PostgreSQL")
def test_concurrent_claims_exactly_one_wins(app, sales_pair):
    li, zhao = sales_pair
    opp = make_opportunity(make_customer(li))
    results: list[str] = []
    barrier = threading.Barrier(2)

    def claim(user):
        with app.app_context():
            barrier.wait()
            try:
                act(user, opportunity_service.claim_opportunity, opp.id)
                results.append("won")
            except ConflictError as exc:
                results.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim, args=(u,)) for u in (li, zhao)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results)[1] == "won" and "已被" in sorted(results)[0], results
    db.session.expire_all()
    assert db.session.get(Opportunity, opp.id).owner_id in (li.id, zhao.id)
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "claim")) == 1


@pytest.mark.skipif(backend() != "postgresql", reason="a real race needs PostgreSQL")
def test_concurrent_quotes_leave_one_current(app, sales_pair):
    li, _ = sales_pair
    opp = make_opportunity(make_customer(li), li)
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def quote(amount):
        with app.app_context():
            barrier.wait()
            try:
                act(li, opportunity_service.add_quote, opp.id, amount)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=quote, args=(a,)) for a in ("1000", "2000")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []  # the row lock queues the second quote behind the first
    current = db.session.scalars(select(Quote).where(Quote.is_current)).all()
    assert len(current) == 1
    assert db.session.scalar(select(func.count()).select_from(Quote)) == 2
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0
