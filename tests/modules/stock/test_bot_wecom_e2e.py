"""Seed 000 scenario 2 step 3 through the bot and the fake WeCom: ``#申请配件
AC-FILTER-001 1`` → approval card to the warehouse keeper → approved by its button →
stock down by one, linked to the ticket given."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.stock.models import PartRequest
from modules.stock.models import PartsUsage
from modules.stock.models import StockMove
from modules.wecom.fake import CallbackDriver
from tests.conftest import cleaned_context
from tests.conftest import installed_app
from tests.modules.stock.factories import make_part
from tests.modules.stock.factories import make_warehouse
from tests.modules.stock.factories import on_hand
from tests.modules.stock.factories import receive
from tests.modules.wecom.conftest import CORP_ID
from tests.modules.wecom.conftest import wecom_config


@pytest.fixture(scope="module")
def stock_wecom_app(databases: Any, instance_dir: Any, fake_wecom: Any) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["stock", "wecom"],
                       **wecom_config(fake_wecom)) as app:
        yield app


@pytest.fixture
def ctx_app(stock_wecom_app: Any, fake_wecom: Any) -> Iterator[Any]:
    fake_wecom.state.requests.clear()
    with cleaned_context(stock_wecom_app) as app:
        yield app
    fake_wecom.state.requests.clear()


def _user(username: str, role: str, name: str) -> Any:
    from core.security.services import create_user

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        return create_user(ctx, username, roles=[role], wecom_userid=username,
                           display_name=name)


def _say(driver: CallbackDriver, userid: str, text: str, msgid: str) -> dict:
    payload = {"msgid": msgid, "chatid": "service-group", "chattype": "group",
               "from": {"userid": userid}, "msgtype": "text",
               "text": {"content": f"@Tandem {text}"}}
    status, body = driver.bot_message(payload)[0]
    assert status == 200
    return driver.decrypt_bot_reply(body)


def _cards_to(fake_wecom: Any, userid: str) -> list[dict]:
    return [r["json"]["template_card"] for r in fake_wecom.state.received("/cgi-bin/message/send")
            if r["json"].get("msgtype") == "template_card" and r["json"]["touser"] == userid]


def test_request_in_chat_approved_by_the_card_button_issues_one_for_the_ticket(driver,
                                                                               fake_wecom):
    zhang = _user("zhang.eng", "engineer", "张工")
    _user("liu.wh", "warehouse", "刘仓管")
    part = make_part("AC-FILTER-001", part_name="空调滤网", min_stock_alert=2)
    main = make_warehouse("WH-MAIN", name="主仓库")
    receive(part, main, 5)

    reply = _say(driver, "zhang.eng", "#申请配件 AC-FILTER-001 1 工单42", "m-req-1")
    assert reply["msgtype"] == "template_card"
    assert "AC-FILTER-001" in reply["template_card"]["main_title"]["title"]
    req = db.session.scalar(select(PartRequest))
    assert (req.status, req.ticket_id, req.requester_id) == ("pending", 42, zhang.id)
    assert on_hand(part, main) == 5  # nothing leaves before approval

    cards = _cards_to(fake_wecom, "liu.wh")
    assert len(cards) == 1
    key = next(b["key"] for b in cards[0]["button_list"] if "key" in b)
    assert key == f"stock.request.approve:{req.id}"
    assert _cards_to(fake_wecom, "zhang.eng") == []  # the requester does not approve

    driver.app_event({"ToUserName": CORP_ID, "FromUserName": "liu.wh",
                      "CreateTime": 1700000300, "MsgType": "event",
                      "Event": "template_card_event", "EventKey": key,
                      "TaskId": cards[0]["task_id"], "CardType": "button_interaction",
                      "ResponseCode": "rc-approve", "AgentID": 1000002}, deliveries=2)

    db.session.expire_all()
    assert on_hand(part, main) == 4
    req = db.session.get(PartRequest, req.id)
    assert req.status == "issued"
    move = db.session.scalar(select(StockMove).where(StockMove.kind == "issue"))
    assert (move.quantity, move.ticket_id, move.request_id) == (-1, 42, req.id)
    usage = db.session.scalar(select(PartsUsage))
    assert (usage.ticket_id, usage.part_code, usage.quantity, usage.engineer_userid,
            usage.engineer_name, usage.purpose) == (42, "AC-FILTER-001", 1, "zhang.eng",
                                                    "张工", "repair")
    updates = fake_wecom.state.received("/cgi-bin/message/update_template_card")
    assert len(updates) == 1 and updates[0]["json"]["userids"] == ["liu.wh"]
    assert "批准" not in [b["text"] for b in updates[0]["json"]["template_card"]
                          .get("button_list", [])]
    # The requester hears about it (in-app).
    from core.notify.models import Notification

    notes = db.session.scalars(select(Notification.subject).where(
        Notification.recipient_id == zhang.id)).all()
    assert any(f"配件申请 {req.number}：已出库" in n for n in notes)


def test_query_part_in_chat_shows_stock_per_warehouse_and_on_order(driver):
    _user("zhang.eng", "engineer", "张工")
    part = make_part("AC-FILTER-001", part_name="空调滤网")
    main = make_warehouse("WH-MAIN", name="主仓库")
    receive(part, main, 7)
    reply = _say(driver, "zhang.eng", "#查询配件 AC-FILTER-001", "m-q-1")
    content = reply["stream"]["content"]
    assert "AC-FILTER-001 空调滤网" in content and "主仓库：7" in content and "在途" in content


def test_reject_button_asks_for_a_reason_and_the_command_rejects(driver, fake_wecom):
    _user("zhang.eng", "engineer", "张工")
    _user("liu.wh", "warehouse", "刘仓管")
    part = make_part("AC-FILTER-001")
    make_warehouse("WH-MAIN")
    _say(driver, "zhang.eng", "#申请配件 AC-FILTER-001 2", "m-req-2")
    req = db.session.scalar(select(PartRequest))
    reply = _say(driver, "liu.wh", f"#驳回配件 {req.number}", "m-rej-0")
    assert "驳回原因" in reply["stream"]["content"]
    reply = _say(driver, "liu.wh", f"#驳回配件 {req.number} 型号不符，请核对", "m-rej-1")
    db.session.expire_all()
    req = db.session.get(PartRequest, req.id)
    assert (req.status, req.decision_note) == ("rejected", "型号不符，请核对")
    assert part.id  # untouched stock
    reply = _say(driver, "zhang.eng", f"#批准配件 {req.number}", "m-app-1")
    assert "无权限" in reply["stream"]["content"]


def test_unknown_part_code_answers_clearly(driver):
    _user("zhang.eng", "engineer", "张工")
    make_warehouse("WH-MAIN")
    reply = _say(driver, "zhang.eng", "#申请配件 NOPE-1 1", "m-bad-1")
    assert "配件编码 NOPE-1 不存在" in reply["stream"]["content"]


def test_ask_for_information_from_chat(driver):
    _user("zhang.eng", "engineer", "张工")
    _user("liu.wh", "warehouse", "刘仓管")
    make_part("AC-FILTER-001")
    make_warehouse("WH-MAIN")
    _say(driver, "zhang.eng", "#申请配件 AC-FILTER-001 1", "m-req-3")
    req = db.session.scalar(select(PartRequest))
    reply = _say(driver, "liu.wh", f"#退回配件 {req.number} 请补充故障照片", "m-ask-1")
    assert reply["msgtype"] == "template_card"
    db.session.expire_all()
    req = db.session.get(PartRequest, req.id)
    assert (req.status, req.decision_note) == ("info_requested", "请补充故障照片")


def test_low_stock_rule_daily_for_a_week_sends_one_card_to_the_warehouse_group(ctx_app,
                                                                              fake_wecom):
    from datetime import timedelta

    from core.settings import set_setting
    from modules.stock.models import PurchaseRequest
    from modules.stock.services.purchasing import low_stock_check

    with unit_of_work(ServiceContext.system("cli")):
        set_setting("stock.warehouse_webhook", "service")
    part = make_part("AC-COMP-2023", part_name="变频压缩机", min_stock_alert=3)
    receive(part, make_warehouse("WH-MAIN"), 1)
    for day in range(7):
        ctx = ServiceContext.system("job")
        ctx.now = ctx.now + timedelta(days=day)
        with unit_of_work(ctx):
            low_stock_check(ctx)
    assert db.session.query(PurchaseRequest).count() == 1
    sent = [r for r in fake_wecom.state.received("/cgi-bin/webhook/send")
            if r["args"].get("key") == "service-key"]
    assert len(sent) == 1
    card = sent[0]["json"]["template_card"]
    assert "低库存预警" in card["main_title"]["title"]
    assert any(f["keyname"] == "AC-COMP-2023" for f in card["horizontal_content_list"])
