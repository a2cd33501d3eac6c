"""Issue 16's acceptance flows, with crm, sales, equipment and the fake WeCom:

* seed 000 scenario 1 end to end through the bot and through the API: opportunity →
  ``#成交`` → order SO… → confirmed → paid → delivered → installed with serials →
  equipment records with warranty end dates;
* seed 000 scenario 3 with the clock set forward: the scan pushes one reminder per due
  unit to the fake WeCom (service group robot and the engineer), a rerun pushes none,
  ``#生成维护工单`` creates one maintenance order, completing it moves the next date by the
  cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from datetime import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from core import hookimpl
from core.extensions import db
from core.jobs import run_job
from core.services import ServiceContext
from core.services import unit_of_work
from core.settings import set_setting
from modules.crm.services.opportunities import add_quote
from modules.crm.services.opportunities import change_status as opp_status
from modules.equipment import plans
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceRecord
from modules.equipment.models import MaintenanceReminder
from modules.equipment.services.maintenance import complete_record
from modules.sales.models import Order
from modules.sales.services.numbering import SHANGHAI
from modules.wecom.fake import CallbackDriver
from tests.conftest import cleaned_context
from tests.conftest import installed_app
from tests.modules.crm.factories import act
from tests.modules.crm.factories import api_callers
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity
from tests.modules.equipment.factories import delivered_order
from tests.modules.sales.factories import line
from tests.modules.wecom.conftest import CORP_ID
from tests.modules.wecom.conftest import fake_wecom  # noqa: F401 - the fixture
from tests.modules.wecom.conftest import wecom_config


@pytest.fixture(scope="module")
def se_app(databases: Any, instance_dir: Any, fake_wecom: Any) -> Iterator[Any]:  # noqa: F811
    with installed_app(databases, instance_dir, ["sales", "equipment", "wecom"],
                       **wecom_config(fake_wecom)) as app:
        yield app


@pytest.fixture
def ctx_app(se_app: Any, fake_wecom: Any) -> Iterator[Any]:  # noqa: F811
    with fake_wecom.state.lock:
        fake_wecom.state.requests.clear()
        fake_wecom.state.webhook_times.clear()
    with cleaned_context(se_app) as app:
        yield app


def _user(username: str, *roles: str, **kwargs: Any) -> Any:
    from core.security.services import create_user

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        return create_user(ctx, username, roles=roles, wecom_userid=username,
                           display_name=kwargs.pop("display_name", username), **kwargs)


def _say(driver: CallbackDriver, who: str, chat: str, text: str, n: list[int] = [0]) -> str:  # noqa: B006
    n[0] += 1
    payload = {"msgid": f"m-{who}-{n[0]}-{text[:6]}", "chatid": chat, "chattype": "group",
               "from": {"userid": who}, "msgtype": "text",
               "text": {"content": f"@Tandem {text}"}}
    status, body = driver.bot_message(payload)[0]
    assert status == 200
    reply = driver.decrypt_bot_reply(body)
    if "stream" in reply:
        return reply["stream"]["content"]
    return str(reply)


# --- scenario 1 ------------------------------------------------------------------------


def test_scenario_1_through_the_bot(driver, ctx_app):
    li = _user("li.sales", "sales", display_name="李销售")
    customer = make_customer(li, customer_name="ABC公司", customer_type="enterprise")
    opp = make_opportunity(customer, li, product_name="中央空调", quantity=2)
    act(li, add_quote, opp.id, "37000.00")
    act(li, opp_status, opp.id,
        "negotiating")
    reply = _say(driver, "li.sales", "sales-group", f"#成交 {opp.number}")
    assert "成交" in reply
    order = db.session.scalar(select(Order).where(Order.opportunity_id == opp.id))
    assert order is not None and order.order_no.startswith("SO")
    assert f"已生成订单 {order.order_no}" in reply  # the next step is in #成交's answer
    assert str(order.total_amount) == "37000.00"
    # The order card #成交 left in the chat lets the next commands omit the number.
    assert "已确认" in _say(driver, "li.sales", "sales-group", "#确认订单")
    assert "已付款" in _say(driver, "li.sales", "sales-group", f"#已付款 {order.order_no}")
    assert "已配送" in _say(driver, "li.sales", "sales-group", "#已配送")
    wrong = _say(driver, "li.sales", "sales-group", "#已安装 GR-001@3楼")
    assert "共 2 台" in wrong
    done = _say(driver, "li.sales", "sales-group", "#已安装 GR-001@3楼 GR-002@4楼")
    assert f"{order.order_no} 已安装 2 台设备" in done and "保修至" in done
    db.session.expire_all()
    units = db.session.scalars(select(Equipment).order_by(Equipment.id)).all()
    assert [(u.serial_number, u.install_location, u.customer_id) for u in units] == [
        ("GR-001", "3楼", customer.id), ("GR-002", "4楼", customer.id)]
    assert all(u.warranty_end_date == plans.add_months(u.install_date, 36) for u in units)
    assert db.session.get(Order, order.id).status == "installed"


def test_scenario_1_through_the_api(ctx_app):
    li = _user("li.sales", "sales")
    api = api_callers(ctx_app.test_client(), {"li": li})("li")
    customer = make_customer(li, customer_name="ABC公司")
    created = api.post("/api/v1/opportunities", json={
        "customer_id": customer.id, "product_name": "中央空调", "quantity": 3,
        "estimated_amount": "60000"})
    oid = created.json["id"]
    assert api.post(f"/api/v1/opportunities/{oid}/quotes",
                    json={"amount": "55500.00"}).status_code == 201
    assert api.patch(f"/api/v1/opportunities/{oid}/status",
                     json={"status": "won"}).json["status"] == "won"
    orders = api.get(f"/api/v1/orders?opportunity_id={oid}").json["data"]
    assert len(orders) == 1 and orders[0]["total_amount"] == "55500.00"
    order_id = orders[0]["id"]
    for status in ("confirmed", "paid", "delivered"):
        moved = api.patch(f"/api/v1/orders/{order_id}/status", json={"status": status})
        assert moved.status_code == 200 and moved.json["status"] == status
    line_id = orders[0]["lines"][0]["id"]
    installed = api.post(f"/api/v1/orders/{order_id}/install", json={"serials": [
        {"line_id": line_id, "serial_number": f"SN-{n}", "install_location": f"{n}楼"}
        for n in (1, 2, 3)]})
    assert installed.status_code == 200 and installed.json["status"] == "installed"
    units = api.get(f"/api/v1/equipment?customer_id={customer.id}").json["data"]
    assert sorted(u["serial_number"] for u in units) == ["SN-1", "SN-2", "SN-3"]
    assert all(u["warranty_end_date"] and u["warranty_status"] == "in" for u in units)
    assert {u["order_id"] for u in units} == {order_id}


# --- scenario 3 ------------------------------------------------------------------------


def _abc_units(owner: Any, engineer: Any, n: int = 2) -> list[Equipment]:
    from modules.sales.services.orders import install_order

    customer = make_customer(owner, customer_name="ABC公司")
    order = delivered_order(owner, customer=customer, engineer_id=engineer.id,
                            lines=[line(quantity=n, maintenance_cycle_days=90)])
    act(engineer, install_order, order.id, [
        {"line_id": order.lines[0].id, "serial_number": f"ABC-{i}", "install_location": "3楼"}
        for i in range(n)])
    return list(db.session.scalars(select(Equipment).order_by(Equipment.id)))


def _webhook_cards(fake: Any) -> list[dict]:
    return [r["json"] for r in fake.state.received("/cgi-bin/webhook/send")]


def _app_cards(fake: Any) -> list[dict]:
    return [r["json"] for r in fake.state.received("/cgi-bin/message/send")
            if r["json"]["msgtype"] == "template_card"]


def test_scenario_3_reminders_once_then_maintenance_order_moves_the_next_date(
        driver, ctx_app, fake_wecom):  # noqa: F811
    li = _user("li.sales", "sales")
    zhang = _user("zhang.eng", "engineer", display_name="张工")
    units = _abc_units(li, zhang)
    with unit_of_work(ServiceContext.system("cli")):
        set_setting("equipment.service_chat_id", "service-group")
    fake_wecom.state.requests.clear()
    due = units[0].next_maintenance_date
    forward = (due - timedelta(days=3)).isoformat()  # the clock set forward

    assert run_job("equipment.preventive_scan", [forward])["due"] == 2
    group = _webhook_cards(fake_wecom)
    assert len(group) == 2
    titles = [g["template_card"]["main_title"]["title"] for g in group]
    assert titles == ["【维护提醒】ABC公司-3楼中央空调 建议安排保养"] * 2
    pushed = _app_cards(fake_wecom)
    assert len(pushed) == 2 and {p["touser"] for p in pushed} == {"zhang.eng"}
    keys = {b["key"] for p in pushed for b in p["template_card"]["button_list"] if "key" in b}
    assert keys == {f"equipment.maintenance.order:{u.id}" for u in units}

    fake_wecom.state.requests.clear()
    assert run_job("equipment.preventive_scan", [forward]) == {"due": 0, "overdue": 0,
                                                              "warranty": 0}
    assert _webhook_cards(fake_wecom) == [] and _app_cards(fake_wecom) == []

    # #生成维护工单 in the service group: the last reminder card's unit, once.
    reply = _say(driver, "zhang.eng", "service-group", "#生成维护工单")
    assert "已生成维护记录" in reply and "ABC公司-3楼中央空调" in reply
    again = _say(driver, "zhang.eng", "service-group", "#生成维护工单")
    assert "已存在" in again
    records = db.session.scalars(select(MaintenanceRecord)).all()
    assert len(records) == 1 and records[0].status == "planned"
    assert records[0].due_date == due

    # The button on the other unit's card does the same for that unit.
    other = next(u for u in units if u.id != records[0].equipment_id)
    card = next(p["template_card"] for p in pushed
                if any(b.get("key", "").endswith(f":{other.id}")
                       for b in p["template_card"]["button_list"]))
    driver.app_event({"ToUserName": CORP_ID, "FromUserName": "zhang.eng",
                      "CreateTime": 1700000300, "MsgType": "event",
                      "Event": "template_card_event",
                      "EventKey": f"equipment.maintenance.order:{other.id}",
                      "TaskId": card["task_id"], "CardType": "button_interaction",
                      "ResponseCode": "rc-mo", "AgentID": 1000002})
    db.session.expire_all()
    assert db.session.scalar(select(MaintenanceRecord.id).where(
        MaintenanceRecord.equipment_id == other.id)) is not None

    # Completing the maintenance (on its due day, clock forward) moves the next date.
    then = ServiceContext(actor=zhang, source="web",
                          now=datetime.combine(due, time(16), SHANGHAI))
    with unit_of_work(then):
        complete_record(then, records[0].id, {"work_description": "清洗滤网，检查冷媒压力",
                                              "maintenance_date": due.isoformat()})
    db.session.expire_all()
    unit = db.session.get(Equipment, records[0].equipment_id)
    assert unit.last_maintenance_date == due
    assert unit.next_maintenance_date == plans.next_maintenance(due, days=90, policy="next")
    assert unit.next_maintenance_date >= due + timedelta(days=90)
    # The next reminder is for the new date, once.
    fake_wecom.state.requests.clear()
    later = (unit.next_maintenance_date - timedelta(days=1)).isoformat()
    assert run_job("equipment.preventive_scan", [later])["due"] >= 1
    assert db.session.scalar(select(MaintenanceReminder.id).where(
        MaintenanceReminder.equipment_id == unit.id,
        MaintenanceReminder.due_date == unit.next_maintenance_date)) is not None


class _FakeService:
    """A module answering ``maintenance_order_requested`` as ``service`` will."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, Any]] = []

    @hookimpl
    def maintenance_order_requested(self, equipment: Any, due_date: Any, ctx: Any) -> Any:
        self.calls.append((equipment.id, due_date))
        return SimpleNamespace(id=77, ticket_no="AS202612040001")


def test_maintenance_order_is_a_ticket_when_a_module_answers(driver, ctx_app):
    from core.hooks import registry

    li = _user("li.sales", "sales")
    zhang = _user("zhang.eng", "engineer")
    unit = _abc_units(li, zhang, n=1)[0]
    service = _FakeService()
    registry().pm.register(service, name="fake_service")
    try:
        reply = _say(driver, "zhang.eng", "g-x", f"#生成维护工单 {unit.equipment_no}")
    finally:
        registry().pm.unregister(service)
    assert "已生成维护工单 AS202612040001" in reply
    assert service.calls == [(unit.id, unit.next_maintenance_date)]
    assert db.session.scalar(select(MaintenanceRecord.id)) is None


def test_many_due_units_reach_the_group_as_a_few_cards_and_one_summary(ctx_app, fake_wecom):  # noqa: F811
    li = _user("li.sales", "sales")
    zhang = _user("zhang.eng", "engineer")
    units = _abc_units(li, zhang, n=3)
    with unit_of_work(ServiceContext.system("cli")):
        set_setting("equipment.group_card_limit", 1)
    fake_wecom.state.requests.clear()
    due = units[0].next_maintenance_date
    assert run_job("equipment.preventive_scan", [(due - timedelta(days=1)).isoformat()])[
        "due"] == 3
    group = _webhook_cards(fake_wecom)
    assert [g["msgtype"] for g in group] == ["template_card", "markdown"]
    assert "另有 2 台设备" in group[1]["markdown"]["content"]
    assert len(_app_cards(fake_wecom)) == 3  # each unit still reaches its engineer
