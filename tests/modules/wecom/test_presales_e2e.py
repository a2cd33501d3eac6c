"""Issue 4's end-to-end cases with the real crm commands, through the fake WeCom."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import AuditLog
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm.models.customer import FollowUp
from modules.crm.models.opportunity import Opportunity
from tests.conftest import cleaned_context
from tests.conftest import installed_app
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity
from tests.modules.wecom.conftest import CORP_ID
from tests.modules.wecom.conftest import wecom_config


@pytest.fixture(scope="module")
def crm_wecom_app(databases: Any, instance_dir: Any, fake_wecom: Any) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["crm", "wecom"],
                       **wecom_config(fake_wecom)) as app:
        yield app


@pytest.fixture
def ctx_app(crm_wecom_app: Any, fake_wecom: Any) -> Iterator[Any]:
    fake_wecom.state.requests.clear()
    with cleaned_context(crm_wecom_app) as app:
        yield app


def _sales(username: str, role: str = "sales", team: Any = None) -> Any:
    from core.security.services import create_user

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        return create_user(ctx, username, roles=[role], wecom_userid=username,
                           display_name=username, team=team)


def _group_text(driver: Any, text: str, userid: str, chat: str = "g1", n: int = 1) -> str:
    """One group message to the bot and its decrypted text answer."""
    payload = {"msgid": f"m-{userid}-{n}", "chatid": chat, "chattype": "group",
               "from": {"userid": userid}, "msgtype": "text",
               "text": {"content": f"@Tandem {text}"}}
    status, answer = driver.bot_message(payload)[0]
    assert status == 200
    reply = driver.decrypt_bot_reply(answer)
    for kind in ("stream", "text", "markdown"):
        if kind in reply:
            return reply[kind]["content"]
    return str(reply)


def test_group_follow_up_is_stored_once_with_source_bot(driver):
    li = _sales("li.sales")
    opp = make_opportunity(make_customer(li), li)
    payload = {"msgid": "m-follow-1", "chatid": "sales-group", "chattype": "group",
               "from": {"userid": "li.sales"}, "msgtype": "text",
               "text": {"content": f"@Tandem #跟进 {opp.number} 已发送方案"}}
    answers = driver.bot_message(payload, deliveries=3)
    assert [status for status, _ in answers] == [200, 200, 200]
    reply = driver.decrypt_bot_reply(answers[0][1])
    assert f"已记录 {opp.number} 的跟进：已发送方案" in reply["stream"]["content"]
    follow_ups = db.session.scalars(select(FollowUp).where(
        FollowUp.opportunity_id == opp.id)).all()
    assert [f.content for f in follow_ups] == ["已发送方案"]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.model == "crm_follow_up"))
    assert audit.source == "bot" and audit.actor_id == li.id


def test_pushed_card_claim_button_claims_for_the_clicker_and_updates_his_card(driver,
                                                                             fake_wecom):
    _li, zhao = _sales("li.sales"), _sales("zhao.sales")
    from core.settings import set_setting

    with unit_of_work(ServiceContext.system("cli")):
        set_setting("wecom_crm.sales_webhook", "")  # no sales group: each salesperson hears
    # unowned, on a customer nobody owns and no group configured: to each salesperson
    opp = make_opportunity(make_customer(None))
    pushed = [r["json"] for r in fake_wecom.state.received("/cgi-bin/message/send")
              if r["json"]["msgtype"] == "template_card"]
    assert {p["touser"] for p in pushed} == {"li.sales", "zhao.sales"}
    card = pushed[0]["template_card"]
    key = next(b["key"] for b in card["button_list"] if "key" in b)
    assert key == f"crm.opportunity.claim:{opp.id}"
    driver.app_event({"ToUserName": CORP_ID, "FromUserName": "zhao.sales",
                      "CreateTime": 1700000200, "MsgType": "event",
                      "Event": "template_card_event", "EventKey": key,
                      "TaskId": card["task_id"], "CardType": "button_interaction",
                      "ResponseCode": "rc-claim", "AgentID": 1000002}, deliveries=2)
    db.session.expire_all()
    assert db.session.get(Opportunity, opp.id).owner_id == zhao.id
    updates = fake_wecom.state.received("/cgi-bin/message/update_template_card")
    assert len(updates) == 1
    assert updates[0]["json"]["userids"] == ["zhao.sales"]
    updated = updates[0]["json"]["template_card"]
    assert "认领" not in [b["text"] for b in updated.get("button_list", [])]
    assert any(f["value"] == "zhao.sales" for f in updated["horizontal_content_list"])
    claim = db.session.scalar(select(AuditLog).where(AuditLog.action == "claim"))
    assert claim.source == "bot"


def test_slow_command_answers_at_once_then_through_response_url(driver, fake_wecom):
    li = _sales("li.sales")
    make_customer(li, phone="13812340000")
    payload = {"msgid": "m-slow-1", "chatid": "g1", "chattype": "group",
               "from": {"userid": "li.sales"}, "msgtype": "text",
               "response_url": f"{fake_wecom.base_url}/cgi-bin/aibot/response?response_code=rc1",
               "text": {"content": "@Tandem #客户历史 13812340000"}}
    status, text = driver.bot_message(payload)[0]
    assert status == 200
    assert "正在处理" in driver.decrypt_bot_reply(text)["stream"]["content"]
    answers = fake_wecom.state.received("/cgi-bin/aibot/response")
    assert len(answers) == 1 and answers[0]["args"]["response_code"] == "rc1"
    assert "负责人" in answers[0]["json"]["markdown"]["content"]


def test_an_owned_customers_new_opportunity_goes_to_its_owner_and_his_manager_only(
        driver, fake_wecom):
    """Seed 000: a manager's unowned opportunity on a customer that sales2 owns reaches
    sales2 and the manager of his team, never sales3 of another team."""
    from core.notify.models import InboxMessage
    from core.security.models import Team

    with unit_of_work(ServiceContext.system("cli")):
        one, two = Team(name="销售一组"), Team(name="销售二组")
        db.session.add_all([one, two])
    boss = _sales("wang.manager", "manager", one)
    with unit_of_work(ServiceContext.system("cli")):
        db.session.get(Team, one.id).manager_id = boss.id
    sales2 = _sales("zhao.sales", team=one)
    sales3 = _sales("sun.sales", team=two)
    opp = make_opportunity(make_customer(sales2))  # unowned opportunity, owned customer
    pushed = [r["json"] for r in fake_wecom.state.received("/cgi-bin/message/send")
              if r["json"]["msgtype"] == "template_card"]
    assert {p["touser"] for p in pushed} == {"zhao.sales", "wang.manager"}
    inbox = set(db.session.scalars(select(InboxMessage.user_id)))
    assert inbox == {sales2.id, boss.id} and sales3.id not in inbox
    # the card is the context of sales2's own chat: a bare #认领 there claims it
    reply = _group_text(driver, "#认领", "zhao.sales", chat="single:zhao.sales")
    db.session.expire_all()
    assert db.session.get(Opportunity, opp.id).owner_id == sales2.id, reply


def test_a_bare_command_lists_the_senders_records_and_the_number_answers(driver):
    """Seed 000's bare #跟进 after someone else's card: sales2 gets his own open
    opportunities numbered (not "商机不存在或无权查看"), and "1" records the follow-up."""
    li, zhao = _sales("li.sales"), _sales("zhao.sales")
    theirs = make_opportunity(make_customer(li), li, product_name="冷水机组")
    mine = make_opportunity(make_customer(zhao), zhao, product_name="新风系统")
    from core.bot import remember_card
    from modules.crm.cards import opportunity_card

    with unit_of_work(ServiceContext.system("cli")):
        remember_card("g1", opportunity_card(theirs))  # li's card is the group's last
    listed = _group_text(driver, "#跟进 已发送方案，客户考虑中", "zhao.sales", n=1)
    assert "请选择要操作的记录" in listed and f"1. {mine.number} 新风系统" in listed
    assert "冷水机组" not in listed and "不存在" not in listed
    done = _group_text(driver, "1", "zhao.sales", n=2)
    assert done == f"已记录 {mine.number} 的跟进：已发送方案，客户考虑中"
    assert _group_text(driver, "#报价 1.85万元", "zhao.sales", n=3).startswith("请选择")
    assert "¥18,500.00" in _group_text(driver, "#报价 1", "zhao.sales", n=4)
    db.session.expire_all()
    follow = db.session.scalar(select(FollowUp).where(FollowUp.opportunity_id == mine.id))
    assert follow.content == "已发送方案，客户考虑中"
    assert db.session.get(Opportunity, theirs.id).followed_up_at is None


def test_new_opportunity_goes_to_the_sales_group_robot_through_the_bridge(ctx_app, fake_wecom):
    """crm announces; the wecom_crm bridge (installed with crm and wecom) pushes the card to
    the group robot named by ``wecom_crm.sales_webhook`` ("sales" by default)."""
    _sales("li.sales")
    opp = make_opportunity(make_customer(None))  # unowned, on a customer nobody owns
    personal = [r for r in fake_wecom.state.received("/cgi-bin/message/send")
                if r["json"]["msgtype"] == "template_card"]
    assert personal == []  # the group robot carries it, not every salesperson's chat
    sent = fake_wecom.state.received("/cgi-bin/webhook/send")
    assert [r["args"]["key"] for r in sent] == ["sales-key"]
    assert sent[0]["json"]["msgtype"] == "template_card"
    assert opp.product_name in sent[0]["json"]["template_card"]["main_title"]["title"]


def test_crm_alone_announces_in_the_app_only(databases, instance_dir, fake_wecom):
    """Without the bridge crm knows nothing of WeCom: the notice is in-app, nothing is
    pushed, and crm declares no WeCom setting."""
    from core.notify.models import Notification
    from core.settings import get_setting

    fake_wecom.state.requests.clear()
    with installed_app(databases, instance_dir, ["crm"]) as app, cleaned_context(app):
        assert "wecom_crm" not in app.extensions["tandem_registry"].installed
        li = _sales("li.sales")
        make_opportunity(make_customer(li))
        channels = set(db.session.scalars(select(Notification.channel)))
        assert channels == {"inapp"}
        assert get_setting("wecom_crm.sales_webhook") is None
    assert fake_wecom.state.requests == []
