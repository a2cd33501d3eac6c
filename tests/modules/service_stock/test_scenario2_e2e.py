"""Seed 000 §7 scenario 2 end to end through the fake WeCom: a reported fault → ticket →
card in the service group → ``#认领`` → ``#申请配件 AC-FILTER-001 1`` (the chat's ticket) →
approved by the keeper's card button, stock −1 → ``#已解决`` → survey sent → rated on the
survey page → the equipment's maintenance record and next date updated."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceRecord
from modules.service.models import Ticket
from modules.stock.models import PartRequest
from modules.wecom.fake import CallbackDriver
from tests.conftest import cleaned_context
from tests.conftest import installed_app
from tests.modules.crm.factories import api_callers
from tests.modules.crm.factories import make_customer
from tests.modules.stock.factories import make_part
from tests.modules.stock.factories import make_warehouse
from tests.modules.stock.factories import on_hand
from tests.modules.stock.factories import receive
from tests.modules.wecom.conftest import CORP_ID
from tests.modules.wecom.conftest import wecom_config

GROUP = "service-group"


@pytest.fixture(scope="module")
def service_wecom_app(databases: Any, instance_dir: Any, fake_wecom: Any) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["service", "stock", "wecom"],
                       **wecom_config(fake_wecom)) as app:
        yield app


@pytest.fixture
def ctx_app(service_wecom_app: Any, fake_wecom: Any) -> Iterator[Any]:
    fake_wecom.state.requests.clear()
    with cleaned_context(service_wecom_app) as app:
        yield app
    fake_wecom.state.requests.clear()


def _user(username: str, role: str, name: str) -> Any:
    from core.security.services import create_user

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        return create_user(ctx, username, roles=[role], wecom_userid=username,
                           display_name=name)


def _say(driver: CallbackDriver, userid: str, text: str, msgid: str) -> dict:
    payload = {"msgid": msgid, "chatid": GROUP, "chattype": "group",
               "from": {"userid": userid}, "msgtype": "text",
               "text": {"content": f"@Tandem {text}"}}
    status, body = driver.bot_message(payload)[0]
    assert status == 200
    return driver.decrypt_bot_reply(body)


def _text(reply: dict) -> str:
    if reply.get("msgtype") == "template_card":
        card = reply["template_card"]
        return " ".join([card.get("source", {}).get("desc", ""),
                         card.get("main_title", {}).get("title", "")]
                        + [f"{h.get('keyname')}:{h.get('value')}"
                           for h in card.get("horizontal_content_list", [])])
    return reply.get("stream", {}).get("content", "") or str(reply)


def test_fault_to_rated_repair_with_parts(driver, fake_wecom, ctx_app):
    from core.settings import set_setting

    with unit_of_work(ServiceContext.system("cli")):
        set_setting("service.group_chat_id", GROUP)
        set_setting("service.group_webhook", "service")
    sales = _user("wang.sales", "sales", "王销售")
    zhang = _user("zhang.eng", "engineer", "张工")
    _user("liu.wh", "warehouse", "刘仓管")
    customer = make_customer(sales, customer_name="ABC 公司", customer_type="enterprise",
                             phone="13800138000")
    with unit_of_work(ServiceContext.system("cli")):
        unit = Equipment(equipment_no="EQ-2024-0007", customer_id=customer.id,
                         brand="格力", model="GMV-H120", serial_number="GREE-3F-01",
                         install_location="3楼", install_date=date.today() - timedelta(days=200),
                         warranty_end_date=date.today() + timedelta(days=800),
                         maintenance_cycle_days=90)
        db.session.add(unit)
    part = make_part("AC-FILTER-001", part_name="空调滤网")
    main = make_warehouse("WH-MAIN", name="主仓库")
    receive(part, main, 5)

    # 1. The customer reports "3楼空调制冷不好" (customer service enters it through the API).
    api = api_callers(ctx_app.test_client(), {"sales": sales})
    made = api("sales").post("/api/v1/tickets", json={
        "customer_id": customer.id, "ticket_type": "repair", "subject": "3楼空调制冷不好",
        "equipment_serial": "GREE-3F-01"})
    assert made.status_code == 201, made.json
    ticket_id = made.json["id"]
    number = made.json["ticket_no"]
    assert made.json["priority"] == "high" and made.json["equipment_id"] == unit.id

    # 2. The service group gets the card (group robot webhook).
    cards = [r["json"] for r in fake_wecom.state.received("/cgi-bin/webhook/send")]
    assert any(number in str(c) and "3楼空调制冷不好" in str(c) for c in cards), cards

    # 3. An engineer answers #认领 in the group (no number: the group's last card).
    reply = _say(driver, "zhang.eng", "#认领", "m-claim")
    assert "已认领" in _text(reply) and number in _text(reply)

    # 4. #申请配件 AC-FILTER-001 1 — for the chat's ticket; the keeper approves by button.
    reply = _say(driver, "zhang.eng", "#申请配件 AC-FILTER-001 1", "m-parts")
    req = db.session.scalar(select(PartRequest))
    assert (req.ticket_id, req.equipment_id, req.status) == (ticket_id, unit.id, "pending")
    card = next(r["json"]["template_card"] for r in
                fake_wecom.state.received("/cgi-bin/message/send")
                if r["json"].get("touser") == "liu.wh"
                and r["json"].get("msgtype") == "template_card")
    key = next(b["key"] for b in card["button_list"] if "key" in b)
    driver.app_event({"ToUserName": CORP_ID, "FromUserName": "liu.wh",
                      "CreateTime": 1700000300, "MsgType": "event",
                      "Event": "template_card_event", "EventKey": key,
                      "TaskId": card["task_id"], "CardType": "button_interaction",
                      "ResponseCode": "rc-approve", "AgentID": 1000002})
    db.session.expire_all()
    assert on_hand(part, main) == 4
    ticket = db.session.get(Ticket, ticket_id)
    assert "AC-FILTER-001" in (ticket.parts_used or "")

    # 5. The engineer records the repair (web/API) and says #已解决 in the group.
    api2 = api_callers(ctx_app.test_client(), {"zhang": zhang})
    assert api2("zhang").patch(f"/api/v1/tickets/{ticket_id}", json={
        "root_cause": "滤网堵塞", "solution": "更换滤网，试机制冷正常",
        "service_hours": "1.5"}).status_code == 200
    reply = _say(driver, "zhang.eng", "#已解决", "m-done")
    assert "已解决" in _text(reply)
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket_id)
    assert (ticket.status, ticket.survey_state) == ("resolved", "sent")

    # 6. The survey goes out; the customer rates 5 on the page; the ticket closes.
    survey_url = db.session.scalar(select(Notification.url).where(
        Notification.channel == "sms", Notification.record_id == str(ticket_id)))
    client = ctx_app.test_client()
    assert client.get(survey_url).status_code == 200
    assert "感谢" in client.post(survey_url, data={"score": "5", "comment": "很及时"}) \
        .get_data(as_text=True)
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket_id)
    assert (ticket.rating, ticket.status) == (5, "closed")

    # 7. The unit's maintenance record and next date follow.
    record = db.session.scalar(select(MaintenanceRecord).where(
        MaintenanceRecord.ticket_id == ticket_id))
    assert record is not None and "更换滤网" in record.work_description
    assert "AC-FILTER-001" in (record.parts_replaced or "")
    unit = db.session.get(Equipment, unit.id)
    from core.db import utcnow
    from modules.service.sla import to_local

    today = to_local(utcnow()).date()
    assert unit.last_maintenance_date == today
    assert unit.next_maintenance_date is not None and unit.next_maintenance_date > today
    from modules.service.services.tickets import action_log

    actions = [r.action for r in action_log(ticket_id)]
    assert actions[:3] == ["create", "grab_open", "claim"] and "parts" in actions
    assert actions[-3:] == ["survey_sent", "rated", "close"] or "rated" in actions


def test_parts_for_a_finished_ticket_are_refused(driver):
    from modules.service.services import tickets as svc

    sales = _user("wang.sales", "sales", "王销售")
    _user("zhang.eng", "engineer", "张工")
    make_part("AC-FILTER-001")
    make_warehouse("WH-MAIN")
    customer = make_customer(sales)
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        ticket = svc.create_ticket(ctx, {"customer_id": customer.id, "ticket_type": "repair",
                                         "subject": "漏水"})
    zhang = db.session.scalar(select(type(sales)).where(type(sales).username == "zhang.eng"))
    for step in (svc.claim_ticket, svc.resolve_ticket):
        mine = ServiceContext(actor=zhang, source="web")
        with unit_of_work(mine):
            step(mine, ticket.id)
    reply = _say(driver, "zhang.eng", f"#申请配件 AC-FILTER-001 1 {ticket.ticket_no}", "m-x")
    assert "已结束，不能再申请配件" in _text(reply)
    assert db.session.scalar(select(PartRequest)) is None
