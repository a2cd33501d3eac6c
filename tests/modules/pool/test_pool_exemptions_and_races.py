"""Pool exemptions (another module's open won order, an open handover), reminders after a
follow-up, cool-down after automatic recycling, one claimer's parallel claims against the
caps, and the manager's assignment through the API."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func
from sqlalchemy import select

from core import hookimpl
from core.db import utcnow
from core.errors import ConflictError
from core.errors import UserError
from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm.models.customer import Customer
from modules.pool import queries as pool_queries
from modules.pool.models import PoolMove
from modules.pool.services import customers as pool_service
from modules.pool.services import rules as rule_service
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import make_customer
from tests.modules.pool.factories import age
from tests.modules.pool.factories import recycle


def _status(customer):
    db.session.expire_all()
    return db.session.get(Customer, customer.id).status


@pytest.fixture
def li(app_ctx, make_user):
    return make_user("sales", username="li")


class OpenWonOrders:
    """Stands in for a future ``sales`` module answering the pool's hookspec."""

    def __init__(self, ids):
        self.ids = set(ids)

    @hookimpl
    def pool_exempt_where(self):
        return Customer.id.in_(self.ids)


def test_a_module_can_exempt_customers_with_an_open_won_order(li):
    with_order = make_customer(li, customer_level="normal")
    without = make_customer(li, customer_level="normal")
    for c in (with_order, without):
        age(c, owned_days=200, follow_up_days=200)
    pm = current_app.extensions["tandem_registry"].pm
    pm.register(OpenWonOrders([with_order.id]), name="test_sales")
    try:
        assert recycle()["inactive_days"] == 1
    finally:
        pm.unregister(name="test_sales")
    assert (_status(with_order), _status(without)) == ("active", "in_pool")


def test_customers_in_an_open_handover_are_neither_recycled_nor_reminded(li, make_user):
    from modules.crm.services import handover as handover_service

    boss = make_user("admin", username="root")
    taker = make_user("sales", username="taker")
    due = make_customer(li, customer_level="normal")
    soon = make_customer(li, customer_level="normal")
    age(due, owned_days=200, follow_up_days=200)
    age(soon, owned_days=28, follow_up_days=28)
    with unit_of_work(ctx := ctx_for(boss)):
        h = handover_service.start_handover(
            ctx,
            to_user_id=taker.id,
            from_user_id=li.id,
            reason="resignation",
            customer_ids=[due.id, soon.id],
        )
    assert recycle() == {"inactive_days": 0, "no_deal": 0, "reminded": 0}
    assert _status(due) == "active"
    with unit_of_work(ctx := ctx_for(boss)):
        handover_service.cancel(ctx, h.id, "取消")
    assert recycle()["inactive_days"] == 1


def test_a_follow_up_that_moves_the_deadline_earns_a_new_reminder(li):
    customer = make_customer(li, customer_level="normal")  # 30 days, reminder 3 days before
    age(customer, owned_days=60, follow_up_days=28)
    assert recycle()["reminded"] == 1
    assert recycle()["reminded"] == 0  # same deadline: nothing more
    age(customer, owned_days=60, follow_up_days=1)  # followed up, then idle again:
    assert recycle(now=utcnow() + timedelta(days=27))["reminded"] == 1
    count = db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.recipient_id == li.id)
    )
    assert count == 2


def test_cool_down_after_automatic_recycling_binds_only_the_previous_owner(li, make_user):
    zhao = make_user("sales", username="zhao")
    customer = make_customer(li, customer_level="normal")  # cool-down 7 days by default
    age(customer, owned_days=40, follow_up_days=40)
    assert recycle()["inactive_days"] == 1
    with pytest.raises(UserError, match="冷却期"), unit_of_work(ctx := ctx_for(li)):
        pool_service.claim(ctx, customer.id)
    later = ctx_for(li)
    later.now = utcnow() + timedelta(days=8)
    with unit_of_work(later):
        pool_service.claim(later, customer.id)  # after the cool-down the old owner may
    assert _status(customer) == "active"
    with unit_of_work(ctx := ctx_for(li)):
        pool_service.release(ctx, customer.id, "再放回去")
    with unit_of_work(ctx := ctx_for(zhao)):
        pool_service.claim(ctx, customer.id)  # anyone else may claim at once
    reasons = [m.reason for m in pool_queries.history(customer.id)]
    assert reasons == ["claim", "manual", "claim", "inactive_days"]


def test_a_failed_cap_check_leaves_the_customer_in_the_pool(li):
    with unit_of_work(ctx := ServiceContext.system("cli")):
        rule_service.update_rule(ctx, "normal", {"max_customers": 0})
    customer = make_customer(None, customer_level="normal")
    with pytest.raises(UserError, match="达到上限 0"), unit_of_work(ctx := ctx_for(li)):
        pool_service.claim(ctx, customer.id)
    assert _status(customer) == "in_pool"
    assert db.session.scalar(select(func.count()).select_from(PoolMove)) == 0


def test_one_claimer_racing_two_claims_cannot_pass_the_daily_cap(app, li):
    with unit_of_work(ctx := ServiceContext.system("cli")):
        rule_service.update_rule(ctx, "normal", {"max_claims_per_day": 1})
    customers = [make_customer(None, customer_level="normal") for _ in range(2)]
    barrier = threading.Barrier(2, timeout=10)
    results = []

    def run(customer_id):
        with app.app_context():
            from core.security.models import User

            user = db.session.get(User, li.id)
            barrier.wait()
            try:
                with unit_of_work(ctx := ctx_for(user)):
                    pool_service.claim(ctx, customer_id)
                results.append("won")
            except (ConflictError, UserError) as exc:
                results.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(c.id,)) for c in customers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.count("won") == 1, results
    assert any("每日上限" in r for r in results), results
    owned = db.session.scalar(
        select(func.count()).select_from(Customer).where(Customer.owner_id == li.id)
    )
    assert owned == 1


def test_manager_assigns_through_the_api_and_sales_may_not(client, li, make_user):
    from core.security.services import issue_token
    from tests.modules.pool.test_pool import _manage

    boss = make_user("manager", username="boss")
    _manage(boss, li)
    customer = make_customer(None)
    with unit_of_work(ctx := ctx_for(boss)):
        boss_token = issue_token(ctx, boss)
        li_token = issue_token(ctx_for(li), li)
    url = f"/api/v1/pool/customers/{customer.id}/assign"
    denied = client.post(
        url, json={"owner_id": li.id}, headers={"Authorization": f"Bearer {li_token}"}
    )
    assert denied.status_code == 403
    done = client.post(
        url, json={"owner_id": li.id}, headers={"Authorization": f"Bearer {boss_token}"}
    )
    assert done.status_code == 200 and done.json["owner_id"] == li.id
    again = client.post(
        url, json={"owner_id": li.id}, headers={"Authorization": f"Bearer {boss_token}"}
    )
    assert again.status_code == 409


def test_demo_data_pool_history_recycling_soon_not_overdue_and_a_handover_in_review(app_ctx):
    from core.demo import load_core_demo
    from core.registry import installer
    from modules.crm.models.handover import Handover
    from modules.pool.workspace import due_soon

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        load_core_demo(ctx)
    registry = current_app.extensions["tandem_registry"]
    for name in ("crm", "pool"):
        installer.load_demo(name, registry=registry, ctx=ctx)
    assert db.session.scalar(select(Handover.stage)) == "review"
    assert len(pool_queries.rules()) == 3 and all(r.id for r in pool_queries.rules().values())
    in_pool = db.session.scalars(select(Customer.id).where(Customer.status == "in_pool")).all()
    assert len(in_pool) >= 15
    with_history = set(db.session.scalars(select(PoolMove.customer_id).where(
        PoolMove.reason.in_(("inactive_days", "no_deal", "manual")))))
    assert set(in_pool) <= with_history  # each knows how it came to the pool
    counts = recycle()
    assert counts["inactive_days"] == counts["no_deal"] == 0  # nothing overdue
    assert counts["reminded"] >= 3  # but some are due within their reminder days
    soon = due_soon(ServiceContext.system("cli"), mine=False)
    assert len(soon) >= 5
    today = ctx.now.date()
    assert all(d.deadline > today for d in soon)  # due in the coming days, not overdue


def test_crm_learns_which_fields_to_hide_from_claimers(li, make_user):
    from core.settings import set_setting

    customer = make_customer(None)
    with unit_of_work(ServiceContext.system("cli")):
        set_setting("pool.hidden_fields", ["phone"])
    hook = current_app.extensions["tandem_registry"].hook.customer_hidden_fields
    hidden = {f for answer in hook(customer=customer, ctx=ctx_for(li)) for f in answer}
    assert hidden == {"phone"}
    boss = make_user("manager", username="boss")
    assert not any(hook(customer=customer, ctx=ctx_for(boss)))
    with unit_of_work(ctx := ctx_for(li)):
        pool_service.claim(ctx, customer.id)
    db.session.refresh(customer)
    assert not any(hook(customer=customer, ctx=ctx_for(li)))


def test_openapi_documents_the_pool_actions(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "get" in paths["/api/v1/pool/customers"]
    for path in (
        "/api/v1/pool/customers/{customer_id}/claim",
        "/api/v1/pool/customers/{customer_id}/assign",
        "/api/v1/customers/{customer_id}/release",
    ):
        assert "post" in paths[path], path
    assert paths["/api/v1/pool/customers/{customer_id}/claim"]["post"]["x-permission"] == (
        "pool.customer.claim"
    )


def test_rules_page_in_english(client, login_as):
    login_as("admin", username="root")
    client.post("/locale/en")
    page = client.get("/pool/rules").get_data(as_text=True)
    assert "Daily claim cap" in page and "Fields hidden from claimers" in page


def test_each_exemption_is_a_not_exists_of_its_own(li):
    """``NOT (EXISTS handover OR EXISTS order)`` kept PostgreSQL from planning the
    exemptions as anti-joins: it hashed every open order before the rules were checked
    (bench/README.md, analytics). Each is a top-level ``NOT EXISTS``, an anti-join."""
    from sqlalchemy import exists
    from sqlalchemy.sql import operators
    from sqlalchemy.sql.elements import BooleanClauseList
    from sqlalchemy.sql.elements import UnaryExpression

    from modules.crm.models.handover import HandoverCustomer

    class Vouching:
        @hookimpl
        def pool_exempt_where(self):
            return exists().where(HandoverCustomer.customer_id == Customer.id)

    pm = current_app.extensions["tandem_registry"].pm
    pm.register(Vouching(), name="test_vouching")
    try:
        stmt = pool_service.due_select(utcnow(), lambda _rule: 0)
    finally:
        pm.unregister(name="test_vouching")

    def conjuncts(clause):
        if isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
            for c in clause.clauses:
                yield from conjuncts(c)
        else:
            yield clause

    negated = [c for c in conjuncts(stmt.whereclause)
               if isinstance(c, UnaryExpression) and c.operator is operators.inv]
    assert len(negated) >= 2  # the open handover and the module's condition, each alone
    if db.engine.dialect.name == "postgresql":
        plan = "\n".join(db.session.execute(db.text(
            "EXPLAIN " + str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True})))
        ).scalars())
        assert "Anti Join" in plan, plan
