"""Orders: numbers, the status machine, cancel with a reason, won opportunities make orders
(service, web button, API), modifications of confirmed orders, record rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core.audit import AuditLog
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from modules.crm.services.opportunities import add_quote
from modules.crm.services.opportunities import change_status as opp_status
from modules.sales.models import Order
from modules.sales.models import OrderModification
from modules.sales.services import orders as svc
from tests.modules.crm.factories import act
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity
from tests.modules.sales.factories import advance
from tests.modules.sales.factories import line
from tests.modules.sales.factories import make_order


def test_order_number_is_so_date_sequence_and_totals_are_decimal(people):
    first = make_order(people["a"])
    second = make_order(people["a"], lines=[line(quantity=3, unit_price="0.10"),
                                            line(quantity=1, unit_price="99.99")])
    day = first.created_at.astimezone(svc.local_date.__globals__["SHANGHAI"]).strftime("%Y%m%d")
    assert first.order_no == f"SO{day}0001" and second.order_no == f"SO{day}0002"
    assert first.total_amount == Decimal("37000.00")
    assert second.total_amount == Decimal("100.29")
    assert [x.amount for x in second.lines] == [Decimal("0.30"), Decimal("99.99")]


def test_status_machine_only_allows_the_next_step_and_audits_each(people):
    order = make_order(people["a"])
    with pytest.raises(UserError, match="不能从“待确认”变为“已付款”"):
        advance(people["a"], order, "paid")
    order = advance(people["a"], order, "confirmed", "paid", "delivered")
    assert order.delivered_on is not None
    assert [x.delivered_quantity for x in order.lines] == [2]
    moves = db.session.scalars(select(AuditLog).where(
        AuditLog.model == "sales_order", AuditLog.action == "status").order_by(AuditLog.id)).all()
    assert [m.changes["status"] for m in moves] == [
        ["pending", "confirmed"], ["confirmed", "paid"], ["paid", "delivered"]]


def test_cancel_needs_a_reason_and_not_after_completion(people):
    order = make_order(people["a"])
    with pytest.raises(ValidationError) as info:
        advance(people["a"], order, "cancelled")
    assert "reason" in info.value.fields
    cancelled = act(people["a"], svc.change_status, order.id, "cancelled", "客户预算取消")
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "客户预算取消")
    with pytest.raises(UserError):
        advance(people["a"], cancelled, "confirmed")


def test_status_change_is_pushed_to_the_owner_not_the_actor(people):
    order = make_order(people["a"])
    advance(people["manager"], order, "confirmed")
    advance(people["a"], order, "paid")
    notes = db.session.scalars(select(Notification).where(
        Notification.record_model == "sales_order")).all()
    assert [(n.recipient_id, n.subject) for n in notes] == [
        (people["a"].id, f"订单 {order.order_no}：待确认 → 已确认")]


def test_won_opportunity_makes_one_order_for_the_won_quote(people):
    customer = make_customer(people["a"], address="杭州市西湖区文三路1号")
    opp = make_opportunity(customer, people["a"], quantity=10)
    act(people["a"], add_quote, opp.id, "182000.00")
    act(people["a"], opp_status, opp.id, "negotiating")
    act(people["a"], opp_status, opp.id, "won")
    order = db.session.scalar(select(Order).where(Order.opportunity_id == opp.id))
    assert order.total_amount == Decimal("182000.00")
    assert (order.sales_user_id, order.status, order.customer_id) == (
        people["a"].id, "pending", customer.id)
    assert order.delivery_address == "杭州市西湖区文三路1号"
    assert [(x.product_name, x.quantity, x.unit_price, x.amount) for x in order.lines] == [
        ("中央空调", 10, Decimal("18200.00"), Decimal("182000.00"))]
    again = act(people["a"], svc.create_from_opportunity, opp)
    assert again.id == order.id


def test_won_through_the_api_and_the_web_button_make_the_order(people, api, client):
    from tests.conftest import login

    opp = make_opportunity(make_customer(people["a"]), people["a"])
    act(people["a"], add_quote, opp.id, "150000")
    won = api("a").patch(f"/api/v1/opportunities/{opp.id}/status", json={"status": "won"})
    assert won.status_code == 200, won.json
    listed = api("a").get(f"/api/v1/orders?opportunity_id={opp.id}").json["data"]
    assert [o["total_amount"] for o in listed] == ["150000.00"]
    assert listed[0]["order_no"].startswith("SO") and listed[0]["lines"][0]["amount"] == \
        "150000.00"
    opp2 = make_opportunity(make_customer(people["b"]), people["b"])
    act(people["b"], add_quote, opp2.id, "9000")
    login(client, people["b"])
    client.post(f"/crm/opportunities/{opp2.id}/status", data={"status": "won"})
    assert db.session.scalar(select(Order.total_amount).where(
        Order.opportunity_id == opp2.id)) == Decimal("9000.00")


def test_changes_to_a_confirmed_order_are_modifications_pushed_to_owners(people):
    order = make_order(people["a"])
    act(people["a"], svc.update_order, order.id, {"delivery_date": "2026-12-20"})
    assert db.session.scalar(select(OrderModification.id)) is None  # pending: plain edit
    advance(people["a"], order, "confirmed")
    with pytest.raises(ValidationError) as info:
        act(people["a"], svc.update_order, order.id, {"delivery_date": "2026-12-22"})
    assert "reason" in info.value.fields
    act(people["manager"], svc.update_order, order.id,
        {"delivery_date": "2026-12-22", "lines": [line(quantity=3)]}, "客户加购一台")
    mods = db.session.scalars(select(OrderModification).order_by(OrderModification.id)).all()
    m = mods[0]
    assert (m.field, m.old_value, m.new_value, m.reason, m.modified_by) == (
        "delivery_date", "2026-12-20", "2026-12-22", "客户加购一台", people["manager"].id)
    assert mods[1].field == "lines" and "× 2" in mods[1].old_value and "× 3" in mods[1].new_value
    db.session.expire_all()
    assert db.session.get(Order, order.id).total_amount == Decimal("55500.00")
    pushed = db.session.scalars(select(Notification.recipient_id).where(
        Notification.subject == f"订单 {order.order_no} 已修改")).all()
    assert set(pushed) == {people["a"].id}


def test_record_rules_own_team_engineer(people, api):
    a_order = make_order(people["a"], engineer_id=people["e"].id)
    c_order = make_order(people["c"])
    assert api("a").get(f"/api/v1/orders/{c_order.id}").status_code == 404
    assert api("c").get(f"/api/v1/orders/{a_order.id}").status_code == 404
    assert api("manager").get(f"/api/v1/orders/{a_order.id}").status_code == 200
    assert api("manager").get(f"/api/v1/orders/{c_order.id}").status_code == 404
    assert [o["id"] for o in api("e").get("/api/v1/orders").json["data"]] == [a_order.id]
    assert api("w").get(f"/api/v1/orders/{c_order.id}").status_code == 200


def test_api_create_patch_status_and_errors(people, api):
    customer = make_customer(people["a"])
    created = api("a").post("/api/v1/orders", json={
        "customer_id": customer.id, "lines": [line(quantity=1, unit_price="12.5")],
        "delivery_date": "2026-12-20", "install_date": "2026-12-22"})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["total_amount"] == "12.50" and body["lines"][0]["unit_price"] == "12.50"
    assert set(body) >= {"id", "order_no", "opportunity_id", "customer_id", "status",
                         "total_amount", "lines", "delivery_address", "delivery_date",
                         "install_date"}
    url = f"/api/v1/orders/{body['id']}/status"
    assert api("a").patch(url, json={"status": "paid"}).status_code == 400
    assert api("a").patch(url, json={"status": "cancelled"}).status_code == 422
    assert api("a").patch(url, json={"status": "nope"}).status_code == 422
    ok = api("a").patch(url, json={"status": "confirmed"})
    assert ok.status_code == 200 and ok.json["status"] == "confirmed"
    bad = api("a").post("/api/v1/orders", json={"customer_id": customer.id, "lines": []})
    assert bad.status_code == 422
    hidden = api("c").post("/api/v1/orders", json={"customer_id": customer.id,
                                                   "lines": [line()]})
    assert hidden.status_code == 422 and "customer_id" in hidden.json["error"]["fields"]
    late = api("a").post("/api/v1/orders", json={
        "customer_id": customer.id, "lines": [line()], "delivery_date": "2026-12-20",
        "install_date": "2026-12-19"})
    assert late.status_code == 422 and "install_date" in late.json["error"]["fields"]


def test_a_confirmed_handover_moves_the_open_orders_to_the_new_owner(people):
    from modules.crm.services.handover import checklist

    customer = make_customer(people["a"])
    open_order = make_order(people["a"], customer=customer)
    items = {i["category"]: i for i in checklist(ServiceContext.system("cli"), [customer.id])}
    assert items["orders"]["count"] == 1 and open_order.order_no in items["orders"]["detail"]
    moved = act(people["manager"], svc.hand_over, [customer.id], people["a"].id,
                people["b"].id)
    assert moved == 1
    db.session.expire_all()
    order = db.session.get(Order, open_order.id)
    assert (order.sales_user_id, order.project_manager_id) == (people["b"].id, people["b"].id)
