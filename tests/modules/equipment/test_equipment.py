"""Installation creates equipment (same transaction, serials per delivered unit, unique per
brand, not before delivery); warranty computed at read time; status with reason; the API."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from modules.equipment.models import Equipment
from modules.equipment.services import equipment as svc
from modules.sales.models import Order
from modules.sales.services.numbering import local_date
from modules.sales.services.orders import install_order
from tests.modules.crm.factories import act
from tests.modules.equipment.factories import delivered_order
from tests.modules.equipment.factories import installed_equipment
from tests.modules.equipment.factories import serials_for
from tests.modules.sales.factories import advance
from tests.modules.sales.factories import line
from tests.modules.sales.factories import make_order


def test_installation_creates_one_unit_per_serial_with_warranty_and_plan(people):
    units = installed_equipment(people["a"], lines=[line(quantity=2, warranty_months=24,
                                                         maintenance_cycle_days=90)])
    assert len(units) == 2
    e = units[0]
    order = db.session.get(Order, e.order_id)
    assert order.status == "installed" and order.installed_on == e.install_date
    assert (e.brand, e.model, e.equipment_type, e.install_location) == (
        "格力", "GMV-H160WL", "中央空调", "3楼")
    assert e.equipment_no.startswith("EQ") and units[1].equipment_no != e.equipment_no
    assert e.warranty_end_date == date(e.install_date.year + 2, e.install_date.month,
                                       e.install_date.day)
    assert e.next_maintenance_date >= e.install_date + timedelta(days=90)
    assert e.customer_id == order.customer_id and e.status == "in_use"


def test_installation_needs_every_serial_and_rolls_back_as_a_whole(people):
    order = delivered_order(people["a"], lines=[line(quantity=2)])
    serials = serials_for(order)
    with pytest.raises(ValidationError, match="请为每台填写序列号"):
        act(people["a"], install_order, order.id, serials[:1])
    serials[1]["serial_number"] = serials[0]["serial_number"]
    with pytest.raises(ValidationError, match="重复"):
        act(people["a"], install_order, order.id, serials)
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "delivered"
    assert db.session.scalar(select(func.count()).select_from(Equipment)) == 0


def test_serial_unique_per_brand_only(people):
    first = installed_equipment(people["a"])[0]
    order = delivered_order(people["a"], lines=[line(quantity=1)])
    taken = [{"line_id": order.lines[0].id, "serial_number": first.serial_number}]
    with pytest.raises(ValidationError, match="已登记"):
        act(people["a"], install_order, order.id, taken)
    other = delivered_order(people["a"], lines=[line(quantity=1, brand="美的")])
    act(people["a"], install_order, other.id,
        [{"line_id": other.lines[0].id, "serial_number": first.serial_number}])


def test_no_installation_before_delivery_nor_for_undelivered_orders(people):
    order = advance(people["a"], make_order(people["a"]), "confirmed", "paid")
    with pytest.raises(UserError, match="只有已配送的订单"):
        act(people["a"], install_order, order.id, [])
    order = advance(people["a"], order, "delivered")
    before = order.delivered_on - timedelta(days=1)
    with pytest.raises(ValidationError, match="不能早于配送日期"):
        act(people["a"], install_order, order.id, serials_for(order), installed_on=before)


def test_warranty_status_is_computed_when_read(people, api):
    e = installed_equipment(people["a"], lines=[line(quantity=1, warranty_months=1)])[0]
    on = e.install_date
    assert svc.warranty_status(e, on + timedelta(days=5)) == "expiring"
    assert svc.warranty_status(e, on + timedelta(days=40)) == "out"
    e2 = installed_equipment(people["a"], lines=[line(quantity=1, warranty_months=36)])[0]
    got = api("a").get(f"/api/v1/equipment/{e2.id}").json
    assert got["warranty_status"] == "in" and got["serial_number"] == e2.serial_number
    listed = api("a").get("/api/v1/equipment?warranty=in").json["data"]
    assert {x["id"] for x in listed} == {e2.id} | ({e.id} if svc.warranty_status(
        e, on) == "in" else set())
    assert api("a").get("/api/v1/equipment?warranty=bogus").status_code == 422


def test_status_change_needs_a_reason_and_retired_stays(people, api):
    e = installed_equipment(people["a"])[0]
    url = f"/api/v1/equipment/{e.id}"
    assert api("e").patch(url, json={"status": "retired"}).status_code == 422
    done = api("e").patch(url, json={"status": "retired", "status_reason": "压缩机报废"})
    assert done.status_code == 200, done.json
    body = done.json
    assert (body["status"], body["status_reason"], body["next_maintenance_date"]) == (
        "retired", "压缩机报废", None)
    assert body["status_date"] == local_date(db.session.get(Equipment, e.id).updated_at) \
        .isoformat()
    assert api("e").patch(url, json={"status": "in_use"}).status_code == 422
    assert api("a").patch(url, json={"install_location": "x"}).status_code == 403


def test_record_rules_sales_see_their_customers_equipment(people, api):
    mine = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    theirs = installed_equipment(people["c"], lines=[line(quantity=1)])[0]
    assert api("a").get(f"/api/v1/equipment/{theirs.id}").status_code == 404
    assert [x["id"] for x in api("a").get("/api/v1/equipment").json["data"]] == [mine.id]
    assert api("manager").get(f"/api/v1/equipment/{mine.id}").status_code == 200
    assert api("manager").get(f"/api/v1/equipment/{theirs.id}").status_code == 404
    assert len(api("e").get("/api/v1/equipment").json["data"]) == 2
    due = (mine.next_maintenance_date - timedelta(days=1)).isoformat()
    assert api("e").get(f"/api/v1/equipment?due_before={due}").json["data"] == []
    due = mine.next_maintenance_date.isoformat()
    assert len(api("e").get(f"/api/v1/equipment?due_before={due}").json["data"]) == 2
    got = api("e").get(f"/api/v1/equipment?customer_id={mine.customer_id}").json["data"]
    assert [x["id"] for x in got] == [mine.id]


def test_install_through_the_api(people, api):
    order = delivered_order(people["a"], lines=[line(quantity=1)])
    url = f"/api/v1/orders/{order.id}/install"
    missing = api("a").post(url, json={"serials": []})
    assert missing.status_code == 422
    stranger = api("a").post(url, json={"serials": [{"line_id": 999999,
                                                     "serial_number": "X1"}]})
    assert stranger.status_code == 422 and "serials.0.line_id" in stranger.json["error"]["fields"]
    ok = api("a").post(url, json={"serials": [{"line_id": order.lines[0].id,
                                               "serial_number": "GR-2026-0001",
                                               "install_location": "3楼会议室"}]})
    assert ok.status_code == 200, ok.json
    assert ok.json["status"] == "installed"
    units = api("a").get(f"/api/v1/equipment?customer_id={order.customer_id}").json["data"]
    assert [(u["serial_number"], u["install_location"], u["order_id"]) for u in units] == [
        ("GR-2026-0001", "3楼会议室", order.id)]
    assert units[0]["warranty_end_date"]


def test_the_api_list_answers_each_unit_as_one_unit_answers(people, api):
    """The list writes its rows from plain columns (``page.shaped``): each item must be what
    ``GET /equipment/<id>`` answers for the same unit, warranty status included."""
    units = installed_equipment(people["a"], lines=[line(quantity=2, warranty_months=0)])
    units += installed_equipment(people["a"], lines=[line(quantity=1, warranty_months=36)])
    listed = {x["id"]: x for x in api("e").get("/api/v1/equipment?per_page=10").json["data"]}
    assert {u.id for u in units} <= set(listed)
    for unit in units:
        one = api("e").get(f"/api/v1/equipment/{unit.id}").json
        assert listed[unit.id] == one
        assert list(listed[unit.id]) == list(one)  # the same fields in the same order
    assert {listed[u.id]["warranty_status"] for u in units} == {"expiring", "in"}
