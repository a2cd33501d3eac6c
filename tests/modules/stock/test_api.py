"""The stock API under /api/v1: parts, part requests, approval, checkout, warehouses,
stock, receipts, purchase orders and receiving."""

from __future__ import annotations

from typing import Any

import pytest

from core.services import ServiceContext
from core.services import unit_of_work
from modules.stock.services import catalogue
from tests.modules.crm.factories import make_customer
from tests.modules.service.factories import make_ticket
from tests.modules.stock.factories import make_part
from tests.modules.stock.factories import make_warehouse
from tests.modules.stock.factories import receive


@pytest.fixture
def api(client: Any, make_user: Any) -> Any:
    from core.security.services import issue_token

    people = {"keeper": make_user("warehouse"), "eng": make_user("engineer"),
              "manager": make_user("manager")}
    tokens: dict[str, str] = {}

    def caller(who: str) -> Any:
        if who not in tokens:
            ctx = ServiceContext.system("cli")
            with unit_of_work(ctx):
                tokens[who] = issue_token(ctx, people[who])
        headers = {"Authorization": f"Bearer {tokens[who]}"}

        class Call:
            def __getattr__(self, method: str) -> Any:
                return lambda url, **kw: getattr(client, method)(
                    "/api/v1" + url, headers=headers, **kw)

        return Call()

    caller.people = people
    return caller


def test_parts_crud_filters_and_stock(api):
    keeper = api("keeper")
    created = keeper.post("/parts", json={"part_code": "ac-filter-001", "part_name": "空调滤网",
                                          "category": "filter", "unit_price": "35.00",
                                          "min_stock_alert": 5, "applicable_models": "KFR-35GW"})
    assert created.status_code == 201, created.json
    part = created.json
    assert part["part_code"] == "AC-FILTER-001" and part["unit_price"] == "35.00"
    dup = keeper.post("/parts", json={"part_code": "AC-FILTER-001", "part_name": "x"})
    assert dup.status_code == 409 and "已存在" in dup.json["error"]["message"]
    bad = keeper.post("/parts", json={"part_code": "坏 编码", "part_name": "x"})
    assert bad.status_code == 422
    other = make_part("AC-COMP-2023", part_name="变频压缩机", category="compressor")
    main = make_warehouse("WH-MAIN")
    receive(other, main, 3)
    low = keeper.get("/parts?low_stock=true").json["data"]
    assert [p["part_code"] for p in low] == ["AC-FILTER-001"]
    assert [p["part_code"] for p in keeper.get("/parts?category=compressor").json["data"]] == [
        "AC-COMP-2023"]
    assert [p["part_code"] for p in keeper.get("/parts?q=压缩").json["data"]] == ["AC-COMP-2023"]
    assert keeper.get(f"/parts/{other.id}").json["on_hand"] == 3
    listed = keeper.get("/parts").json["data"]
    from core.extensions import db

    db.session.expire_all()  # the single GET reads the row as stored, as a server does
    assert listed == [keeper.get(f"/parts/{p['id']}").json for p in listed]
    page = keeper.get("/parts?per_page=1&sort=part_code").json
    assert page["meta"]["next_cursor"]
    nxt = keeper.get(f"/parts?per_page=1&sort=part_code&cursor={page['meta']['next_cursor']}")
    assert nxt.json["data"][0]["part_code"] == "AC-FILTER-001"
    patched = keeper.patch(f"/parts/{part['id']}", json={"min_stock_alert": 1})
    assert patched.status_code == 200 and patched.json["min_stock_alert"] == 1
    assert api("eng").patch(f"/parts/{part['id']}", json={"min_stock_alert": 9}).status_code == 403
    stock = keeper.get(f"/stock?part_id={other.id}").json["data"]
    assert stock == [{"part_id": other.id, "warehouse_id": main.id, "on_hand": 3}]
    whs = keeper.get("/warehouses").json["data"]
    assert [w["code"] for w in whs] == ["WH-MAIN"]


def test_request_approve_reject_checkout_receipt(api):
    part, main = make_part("AC-FILTER-001"), make_warehouse("WH-MAIN")
    eng, keeper = api("eng"), api("keeper")
    receipt = keeper.post("/stock/receipts", json={"part_id": part.id, "warehouse_id": main.id,
                                                   "quantity": 2, "unit_cost": "20.00"})
    assert receipt.status_code == 201 and receipt.json["on_hand"] == 2
    keeper.post("/stock/receipts", json={"part_id": part.id, "warehouse_id": main.id,
                                         "quantity": 1, "unit_cost": "10.00"})
    keeper.post(f"/parts/{part.id}/checkout", json={"quantity": 1, "warehouse_id": main.id})
    got = keeper.get(f"/parts/{part.id}")  # an average of 16.6667: four decimals
    assert got.status_code == 200 and got.json["average_cost"].startswith("16.666")
    # A ticket the engineer handles (one he cannot see is refused like a missing one).
    ticket = make_ticket(make_customer(api.people["manager"]),
                         assignee_id=api.people["eng"].id).id
    assert eng.post("/part-requests", json={"ticket_id": 2**31 - 1, "items": [
        {"part_id": part.id, "quantity": 1}]}).status_code == 422
    created = eng.post("/part-requests", json={"ticket_id": ticket, "notes": "3楼空调", "items": [
        {"part_id": part.id, "quantity": 1, "urgency": "urgent"}]})
    assert created.status_code == 201, created.json
    req = created.json
    assert (req["status"], req["ticket_id"], req["urgency"]) == ("pending", ticket, "urgent")
    assert eng.post(f"/part-requests/{req['id']}/approve", json={}).status_code == 403
    approved = keeper.post(f"/part-requests/{req['id']}/approve", json={})
    assert approved.status_code == 200 and approved.json["status"] == "issued"
    again = keeper.post(f"/part-requests/{req['id']}/approve", json={})
    assert again.status_code == 409
    second = eng.post("/part-requests", json={"items": [{"part_id": part.id, "quantity": 1}]})
    no_reason = keeper.post(f"/part-requests/{second.json['id']}/reject", json={"reason": ""})
    assert no_reason.status_code == 422
    rejected = keeper.post(f"/part-requests/{second.json['id']}/reject",
                           json={"reason": "型号不符"})
    assert rejected.json["status"] == "rejected" and rejected.json["decision_note"] == "型号不符"
    out = keeper.post(f"/parts/{part.id}/checkout", json={"quantity": 1, "ticket_id": ticket,
                                                          "warehouse_id": main.id})
    assert out.status_code == 201 and out.json["on_hand"] == 0
    short = keeper.post(f"/parts/{part.id}/checkout", json={"quantity": 1})
    assert short.status_code == 409 and short.json["error"]["code"] == "out_of_stock"
    assert "库存不足" in short.json["error"]["message"]
    refuse = eng.post("/part-requests", json={"items": [{"part_id": part.id, "quantity": 1}]})
    refused = keeper.post(f"/part-requests/{refuse.json['id']}/approve",
                          json={"when_short": "refuse"})
    assert refused.status_code == 409
    assert eng.get(f"/part-requests/{refuse.json['id']}").json["status"] == "pending"
    unknown = eng.post("/part-requests", json={"items": [{"part_id": 999999, "quantity": 1}]})
    assert unknown.status_code == 422


def test_purchase_orders_and_partial_receiving(api):
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        sup = catalogue.create_supplier(ctx, "格力配件华东分销中心")
    part, main = make_part("AC-R32-10KG"), make_warehouse("WH-MAIN")
    keeper = api("keeper")
    order = keeper.post("/purchase-orders", json={
        "supplier_id": sup.id, "warehouse_id": main.id, "expected_date": "2026-12-05",
        "lines": [{"part_id": part.id, "quantity": 6, "unit_cost": "300.00"}]})
    assert order.status_code == 201, order.json
    line = order.json["lines"][0]["id"]
    part_got = keeper.post(f"/purchase-orders/{order.json['id']}/receive",
                           json={"lines": [{"line_id": line, "quantity": 4}]})
    assert part_got.json["status"] == "partial"
    too_many = keeper.post(f"/purchase-orders/{order.json['id']}/receive",
                           json={"lines": [{"line_id": line, "quantity": 3}]})
    assert too_many.status_code == 422
    done = keeper.post(f"/purchase-orders/{order.json['id']}/receive",
                       json={"lines": [{"line_id": line, "quantity": 2}]})
    assert done.json["status"] == "received"
    assert keeper.get(f"/parts/{part.id}").json["on_hand"] == 6
    assert [o["status"] for o in keeper.get("/purchase-orders").json["data"]] == ["received"]
    assert api("eng").get("/purchase-orders").status_code == 403
    made = keeper.post("/suppliers", json={"name": "上海冷通制冷设备有限公司"})
    assert made.status_code == 201
    assert keeper.post("/suppliers", json={"name": "上海冷通制冷设备有限公司"}).status_code == 409
    assert len(keeper.get("/suppliers").json["data"]) == 2


def test_returns_reversals_and_order_cancellation(api):
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        sup = catalogue.create_supplier(ctx, "苏州恒温电气配件厂")
    part, main = make_part("AC-CAP-035"), make_warehouse("WH-MAIN")
    keeper = api("keeper")
    back = keeper.post("/stock/returns", json={"part_id": part.id, "warehouse_id": main.id,
                                               "quantity": 2, "note": "工单多领"})
    assert back.status_code == 201 and back.json["kind"] == "return"
    undone = keeper.post(f"/stock/moves/{back.json['id']}/reverse", json={})
    assert undone.status_code == 201 and undone.json["on_hand"] == 0
    assert keeper.post(f"/stock/moves/{back.json['id']}/reverse", json={}).status_code == 400
    order = keeper.post("/purchase-orders", json={
        "supplier_id": sup.id, "warehouse_id": main.id,
        "lines": [{"part_id": part.id, "quantity": 3}]}).json
    cancelled = keeper.post(f"/purchase-orders/{order['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert keeper.post(f"/purchase-orders/{order['id']}/cancel").status_code == 409
