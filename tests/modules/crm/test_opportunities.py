"""Opportunities: status machine, quotes, claim race, record rules, bot commands, kanban,
API and analytics."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.audit import AuditLog
from core.bot import IncomingMessage
from core.bot import dispatch
from core.errors import ConflictError
from core.errors import NotFoundError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.services import unit_of_work
from modules.crm import opportunities as svc
from modules.crm.models.customer import FollowUp
from modules.crm.models.opportunity import Opportunity
from tests.conftest import backend
from tests.conftest import login
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity


@pytest.fixture
def sales_pair(app_ctx, make_user):
    return make_user("sales", username="li", wecom_userid="li.sales"), make_user(
        "sales", username="zhao", wecom_userid="zhao.sales")


def _do(user, fn, *args, source="web"):
    ctx = ctx_for(user, source)
    with unit_of_work(ctx):
        return fn(ctx, *args)


def test_status_moves_only_along_allowed_transitions(sales_pair):
    li, _ = sales_pair
    opp = make_opportunity(make_customer(li), li)
    assert _do(li, svc.change_status, opp.id, "contacted").status == "contacted"
    with pytest.raises(UserError, match="不能从“已联系”变为“成交”"):
        _do(li, svc.change_status, opp.id, "won")
    with pytest.raises(ValidationError, match="丢单需要填写原因"):
        _do(li, svc.change_status, opp.id, "lost")
    lost = _do(li, svc.change_status, opp.id, "lost", "价格高于竞品")
    assert lost.lost_reason == "价格高于竞品" and lost.closed_at is not None
    audit = db.session.scalars(select(AuditLog).where(
        AuditLog.model == "crm_opportunity", AuditLog.action == "status").order_by(AuditLog.id)
    ).all()
    assert [a.changes["status"] for a in audit] == [["new", "contacted"],
                                                     ["contacted", "lost"]]


def test_quotes_keep_one_current_and_move_to_quoted(sales_pair):
    li, _ = sales_pair
    opp = make_opportunity(make_customer(li), li)
    _do(li, svc.add_quote, opp.id, "180000")
    _do(li, svc.add_quote, opp.id, "175,500.50")
    db.session.expire_all()
    opp = db.session.get(Opportunity, opp.id)
    assert opp.status == "quoted"
    assert [q.is_current for q in opp.quotes] == [True, False]
    assert opp.current_quote.amount == Decimal("175500.50")
    with pytest.raises(ValidationError):
        _do(li, svc.add_quote, opp.id, "十万")


def test_sales_cannot_see_or_touch_anothers_opportunity(sales_pair):
    li, zhao = sales_pair
    opp = make_opportunity(make_customer(li), li)
    with pytest.raises(NotFoundError):
        _do(zhao, svc.change_status, opp.id, "contacted")
    reply = dispatch(IncomingMessage(f"#跟进 {opp.number} 偷看一下", "zhao.sales", "g1"))
    assert "不存在或无权查看" in reply.to_text() and "中央空调" not in reply.to_text()


def test_unowned_opportunity_is_claimed_once(sales_pair):
    li, zhao = sales_pair
    opp = make_opportunity(make_customer(li))
    assert _do(zhao, svc.claim_opportunity, opp.id).owner_id == zhao.id
    with pytest.raises(ConflictError, match="已被zhao认领"):
        _do(li, svc.claim_opportunity, opp.id)


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
                _do(user, svc.claim_opportunity, opp.id)
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
    assert sorted(results)[1] == "won" and "已被" in sorted(results)[0]


def test_bot_commands_with_reference_and_with_the_last_card(sales_pair):
    li, _ = sales_pair
    customer = make_customer(li, phone="13912345678")
    opp = make_opportunity(customer)  # announced, unowned
    reply = dispatch(IncomingMessage(f"#认领 {opp.number}", "li.sales", "sales-group"))
    assert reply.card.record == ("crm_opportunity", opp.id)  # the chat remembers it
    assert "已记录" in dispatch(IncomingMessage("#跟进 已发送方案", "li.sales",
                                              "sales-group")).to_text()
    assert "¥185,000.00" in dispatch(IncomingMessage("＃报价 185000", "li.sales",
                                                   "sales-group")).to_text()
    assert dispatch(IncomingMessage("#成交", "li.sales", "sales-group")).card.title
    history = dispatch(IncomingMessage("#客户历史 139-1234-5678", "li.sales", "g2")).to_text()
    assert opp.number in history and "成交" in history
    db.session.expire_all()
    opp = db.session.get(Opportunity, opp.id)
    assert opp.status == "won" and opp.owner_id == li.id
    follow = db.session.scalar(select(FollowUp).where(FollowUp.opportunity_id == opp.id))
    assert follow.content == "已发送方案"
    sources = {a.source for a in db.session.scalars(select(AuditLog).where(
        AuditLog.model.in_(["crm_opportunity", "crm_follow_up"])))}
    assert "bot" in sources


def test_lost_needs_a_reason_in_chat_too(sales_pair):
    li, _ = sales_pair
    opp = make_opportunity(make_customer(li), li)
    assert "原因" in dispatch(IncomingMessage(f"#丢单 {opp.number}", "li.sales", "g")).to_text()
    assert "已标记丢单" in dispatch(IncomingMessage(f"#丢单 {opp.number} 预算取消", "li.sales",
                                                  "g")).to_text()


def test_kanban_move_calls_the_service_and_refuses_bad_moves(client, sales_pair):
    li, _ = sales_pair
    opp = make_opportunity(make_customer(li), li)
    login(client, li)
    page = client.get("/crm/opportunities/board").get_data(as_text=True)
    assert 'data-count="new">1<' in page
    assert client.post("/crm/opportunities/board/move",
                       json={"id": opp.id, "status": "contacted"}).json == {"ok": True}
    refused = client.post("/crm/opportunities/board/move", json={"id": opp.id, "status": "won"})
    assert refused.status_code == 400 and "不能从" in refused.json["error"]["message"]


def test_list_filters_and_detail(client, sales_pair):
    li, _ = sales_pair
    customer = make_customer(li)
    make_opportunity(customer, li, product_name="冷水机组", estimated_amount="360000")
    make_opportunity(customer, li, product_name="新风系统", estimated_amount="48000")
    login(client, li)
    page = client.get("/crm/opportunities/?min=100000").get_data(as_text=True)
    assert "冷水机组" in page and "新风系统" not in page
    page = client.get("/crm/opportunities/?q=新风").get_data(as_text=True)
    assert "新风系统" in page and "冷水机组" not in page
    assert client.get("/crm/opportunities/?status=bogus").status_code == 400
    opp = db.session.scalar(select(Opportunity).where(Opportunity.product_name == "冷水机组"))
    detail = client.get(f"/crm/opportunities/{opp.id}").get_data(as_text=True)
    assert "冷水机组" in detail and "timeline" in detail


def _token(user):
    from core.security.services import issue_token

    with unit_of_work(ctx_for(user, "cli")) as _:
        return {"Authorization": f"Bearer {issue_token(ctx_for(user), user)}"}


def test_api_status_patch_and_errors(client, sales_pair):
    li, zhao = sales_pair
    customer = make_customer(li)
    headers = _token(li)
    created = client.post("/api/v1/opportunities", headers=headers, json={
        "customer_id": customer.id, "product_name": "配电柜", "quantity": 2,
        "estimated_amount": "67000.00"})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["estimated_amount"] == "67000.00" and body["status"] == "new"
    oid = body["id"]
    moved = client.patch(f"/api/v1/opportunities/{oid}/status", headers=headers,
                         json={"status": "contacted"})
    assert moved.status_code == 200 and moved.json["status"] == "contacted"
    no_reason = client.patch(f"/api/v1/opportunities/{oid}/status", headers=headers,
                             json={"status": "lost"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["error"]["fields"]
    bad = client.patch(f"/api/v1/opportunities/{oid}/status", headers=headers,
                       json={"status": "closed"})
    assert bad.status_code == 422 and "status" in bad.json["error"]["fields"]
    other = client.get(f"/api/v1/opportunities/{oid}", headers=_token(zhao))
    assert other.status_code == 404
    listing = client.get("/api/v1/opportunities?status=contacted", headers=headers).json
    assert [o["id"] for o in listing["data"]] == [oid]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.model == "crm_opportunity",
                                                     AuditLog.action == "status"))
    assert audit.source == "api"


def test_analytics_funnel_and_performance(client, make_user, sales_pair):
    li, _zhao = sales_pair
    customer = make_customer(li)
    a = make_opportunity(customer, li, estimated_amount="100000")
    b = make_opportunity(customer, li, estimated_amount="50000")
    c = make_opportunity(customer, li, estimated_amount="30000")
    _do(li, svc.change_status, a.id, "quoted")
    _do(li, svc.change_status, a.id, "won")
    _do(li, svc.change_status, b.id, "lost", "预算取消")
    _do(li, svc.change_status, c.id, "contacted")
    from datetime import timedelta

    from core.db import utcnow
    from modules.crm.analytics import funnel
    from modules.crm.analytics import performance

    manager = make_user("manager", username="boss")
    ctx = ctx_for(manager)
    start, end = utcnow() - timedelta(days=1), utcnow() + timedelta(days=1)
    stages = {r["status"]: r["count"] for r in funnel(ctx_for(make_user("admin")), start, end)}
    assert stages == {"new": 2, "contacted": 2, "quoted": 1, "negotiating": 1, "won": 1,
                      "lost": 1}
    rows = performance(ctx_for(make_user("admin", username="root2")), start, end)
    li_row = next(r for r in rows if r["owner"] == li.name)
    assert li_row["won_amount"] == Decimal("100000.00") and li_row["won"] == 1
    assert li_row["win_rate"] == 0.5 and li_row["total"] == 3
    assert li_row["avg_cycle_days"] is not None
    login(client, manager)
    assert client.get("/crm/analytics/").status_code == 200
    assert ctx.can("crm.analytics.read")
