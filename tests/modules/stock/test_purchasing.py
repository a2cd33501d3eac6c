"""Low-stock rule and purchasing: projected stock, one purchase request per shortage (not
one a day), one card for the warehouse group, purchase orders, partial receipts, the
waiting queue served in order and requesters notified."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from modules.stock import queries
from modules.stock.models import PartRequest
from modules.stock.models import PurchaseRequest
from modules.stock.services import catalogue
from modules.stock.services import purchasing
from modules.stock.services import requests
from tests.modules.stock.factories import as_user
from tests.modules.stock.factories import make_part
from tests.modules.stock.factories import make_request
from tests.modules.stock.factories import make_warehouse
from tests.modules.stock.factories import on_hand
from tests.modules.stock.factories import receive


def _run_daily(day: int) -> list:
    ctx = ServiceContext.system("job")
    ctx.now = ctx.now + timedelta(days=day)
    with unit_of_work(ctx):
        return [pr.id for pr in purchasing.low_stock_check(ctx)]


def test_projected_stock_counts_drafts_and_requests_awaiting_approval(app_ctx, make_user):
    part, main = make_part("AC-COMP-2023", min_stock_alert=5), make_warehouse()
    receive(part, main, 8)
    eng = make_user("engineer")
    make_request(eng, part, 2)  # awaiting approval
    make_request(eng, part, 2, submit=False)  # a draft
    (_p, figures), = queries.projected_stock(part_ids=[part.id])
    assert figures == {"on_hand": 8, "on_order": 0, "requested": 4, "projected": 4}


def test_run_daily_for_a_week_one_shortage_raises_one_purchase_request(app_ctx, make_user):
    keeper = make_user("warehouse")
    part = make_part("AC-COMP-2023", min_stock_alert=5, reorder_quantity=3)
    main = make_warehouse()
    receive(part, main, 4)
    eng = make_user("engineer")
    make_request(eng, part, 1)  # pending: counts against projected stock
    raised = [_run_daily(day) for day in range(7)]
    assert [len(r) for r in raised] == [1, 0, 0, 0, 0, 0, 0]
    pr = db.session.get(PurchaseRequest, raised[0][0])
    assert (pr.reason, pr.status, pr.quantity) == ("low_stock", "pending", 3)
    assert pr.snapshot["on_hand"] == 4 and pr.snapshot["requested"] == 1
    assert pr.snapshot["projected"] == 3 and pr.snapshot["min_stock_alert"] == 5
    cards = db.session.scalars(select(Notification).where(
        Notification.recipient_id == keeper.id, Notification.subject.like("低库存预警%"))).all()
    assert len(cards) == 1
    # Once approved and ordered it still counts (on order), and demand that grows past it
    # raises one more for the new shortage only.
    make_request(eng, part, 4)
    assert [len(_run_daily(8)), len(_run_daily(9))] == [1, 0]


def test_purchase_order_partial_receipts_serve_the_queue_in_order(app_ctx, make_user):
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        sup = catalogue.create_supplier(ctx, "上海冷通制冷设备有限公司")
    part, main = make_part("AC-FILTER-001"), make_warehouse()
    a, b = make_user("engineer"), make_user("engineer")
    first = make_request(a, part, 2)
    second = make_request(b, part, 1)
    as_user(make_user("warehouse"), requests.approve_request, first.id)
    as_user(make_user("warehouse"), requests.approve_request, second.id)
    assert {r.status for r in db.session.scalars(select(PartRequest))} == {"waiting"}
    with unit_of_work(ctx):
        pr = purchasing.create_purchase_request(ctx, part.id, 5)
        purchasing.decide_purchase_request(ctx, pr.id, True)
        order = purchasing.create_purchase_order(ctx, sup.id, main.id, [],
                                                 purchase_request_ids=[pr.id])
        line_id = order.lines[0].id
    assert db.session.get(PurchaseRequest, pr.id).status == "ordered"
    with unit_of_work(ctx):  # 1 arrives: not enough for the first (2): nobody overtakes
        purchasing.receive_order(ctx, order.id, {line_id: 1})
    db.session.expire_all()
    assert [db.session.get(PartRequest, r.id).status for r in (first, second)] == [
        "waiting", "waiting"]
    with unit_of_work(ctx):  # 2 more: the first is served, then the second
        order = purchasing.receive_order(ctx, order.id, {line_id: 2})
        assert order.status == "partial"
    db.session.expire_all()
    assert [db.session.get(PartRequest, r.id).status for r in (first, second)] == [
        "issued", "issued"]
    assert on_hand(part, main) == 0
    notes = db.session.scalars(select(Notification.subject).where(
        Notification.recipient_id == a.id)).all()
    assert any("配件已到货并出库" in n for n in notes)
    with unit_of_work(ctx):
        assert purchasing.receive_order(ctx, order.id, {line_id: 2}).status == "received"
    import pytest

    from core.errors import TandemError

    with pytest.raises(TandemError), unit_of_work(ctx):
        purchasing.receive_order(ctx, order.id, {line_id: 1})
