"""Pre-sales bot commands: #认领 #跟进 #报价 #成交 #丢单 #客户历史, with an explicit OPP
reference and with the chat's last card; the announcement card and its 认领 button; refusals
that leak nothing; audit source ``bot``; ``manage.py bot say``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import core.commands  # noqa: F401  (adds the bot group to the CLI)
from core.audit import AuditLog
from core.bot import IncomingMessage
from core.bot import dispatch
from core.bot import dispatch_card_action
from core.bot import last_record
from core.bot import remember_card
from core.cli import cli
from core.extensions import db
from core.notify.models import InboxMessage
from core.services import ServiceContext
from core.services import unit_of_work
from core.settings import set_setting
from modules.crm.cards import opportunity_card
from modules.crm.models.customer import FollowUp
from modules.crm.models.opportunity import Opportunity
from modules.crm.services import opportunities as opportunity_service
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity

GROUP = "sales-group"


@pytest.fixture
def li(app_ctx, make_user):
    return make_user("sales", username="li", display_name="李销售", wecom_userid="li.sales")


@pytest.fixture
def zhao(app_ctx, make_user):
    return make_user("sales", username="zhao", display_name="赵销售", wecom_userid="zhao.sales")


def say(text, userid="li.sales", chat=GROUP):
    return dispatch(IncomingMessage(text, userid, chat))


def announce(customer, **data):
    """What an inquiry does: an unowned opportunity announced to the sales group."""
    ctx = ServiceContext.system("system")
    with unit_of_work(ctx):
        set_setting("crm.sales_chat_id", GROUP)
        return opportunity_service.create_opportunity(ctx, {"customer_id": customer.id, "product_name": "中央空调",
                                            "quantity": 10, "estimated_amount": "185000",
                                            "unowned": True, **data})


def reload(opp):
    db.session.expire_all()
    return db.session.get(Opportunity, opp.id)


def test_announced_card_is_the_groups_context_and_claim_needs_no_number(li, zhao):
    opp = announce(make_customer(li))
    assert last_record(GROUP, "crm_opportunity").record_id == str(opp.id)
    inbox = db.session.scalars(select(InboxMessage.user_id)).all()
    assert set(inbox) == {li.id, zhao.id}  # every salesperson hears of it
    reply = say("#认领")
    assert reply.card.record == ("crm_opportunity", opp.id) and "李销售" in reply.to_text()
    assert reload(opp).owner_id == li.id
    late = say("#认领", "zhao.sales").to_text()
    assert late == f"{opp.number} 已被李销售认领"
    assert reload(opp).owner_id == li.id


def test_card_button_is_the_same_claim(li, zhao):
    opp = announce(make_customer(li))
    button = opportunity_card(opp).buttons[0]
    assert button.text == "认领"
    reply = dispatch_card_action("zhao.sales", button.key, None, GROUP)
    assert reply.card.record == ("crm_opportunity", opp.id) and "赵销售" in reply.to_text()
    assert "认领" not in [b.text for b in reply.card.buttons]  # the updated card
    assert reload(opp).owner_id == zhao.id
    assert "已被赵销售认领" in dispatch_card_action("li.sales", button.key, None, GROUP).text


def test_each_command_with_the_last_card(li):
    customer = make_customer(li, phone="13912345678")
    opp = announce(customer)
    say("#认领")
    assert say("#跟进 已发送方案，客户考虑中").to_text() == (
        f"已记录 {opp.number} 的跟进：已发送方案，客户考虑中")
    assert "¥185,000.00" in say("＃报价 １８５０００").to_text()  # full-width also works
    assert say("#成交").card.source == "已成交"
    opp = reload(opp)
    assert (opp.status, opp.owner_id) == ("won", li.id)
    assert opp.current_quote.amount == 185000
    follow = db.session.scalar(select(FollowUp).where(FollowUp.opportunity_id == opp.id))
    assert (follow.content, follow.channel, follow.user_id) == ("已发送方案，客户考虑中", "wechat",
                                                                li.id)
    history = say("#客户历史 139-1234-5678", chat="g2").to_text()
    assert opp.number in history and "成交" in history and customer.customer_name in history
    sources = {a.source for a in db.session.scalars(select(AuditLog).where(
        AuditLog.model.in_(["crm_opportunity", "crm_follow_up", "crm_quote"]),
        AuditLog.actor_id == li.id))}
    assert sources == {"bot"}


def test_each_command_with_an_explicit_reference(li):
    a = make_opportunity(make_customer(li), li)
    b = make_opportunity(make_customer(li), li, product_name="新风系统")
    say(f"#跟进 {a.number} 约了现场勘察")
    assert say(f"#跟进 {b.number} 已发方案").to_text() == f"已记录 {b.number} 的跟进：已发方案"
    assert "¥48,000.00" in say(f"#报价 {b.number} 48000").to_text()
    assert say(f"#成交 {b.number}").card.record == ("crm_opportunity", b.id)
    assert say(f"#丢单 {a.number} 价格高于竞品").to_text() == f"{a.number} 已标记丢单：价格高于竞品"
    a, b = reload(a), reload(b)
    assert (a.status, a.lost_reason, b.status) == ("lost", "价格高于竞品", "won")
    assert [f.content for f in a.follow_ups] == ["约了现场勘察"]


def test_usage_hints_and_refused_moves(li):
    opp = make_opportunity(make_customer(li), li)
    assert "OPP-1023" in say("#跟进 没有卡片的群", chat="empty").to_text()  # asks for a number
    assert "请写跟进内容" in say(f"#跟进 {opp.number}").to_text()
    assert "请写报价金额" in say(f"#报价 {opp.number}").to_text()
    assert "不是有效的金额" in say(f"#报价 {opp.number} 十万").to_text()
    assert "请写丢单原因" in say(f"#丢单 {opp.number}").to_text()
    assert "不能从“新建”变为“成交”" in say(f"#成交 {opp.number}").to_text()
    assert "请写手机号" in say("#客户历史").to_text()
    assert reload(opp).status == "new"


def test_refusals_leak_nothing(li, zhao, make_user):
    customer = make_customer(li, phone="13987654321", customer_name="保密客户")
    opp = make_opportunity(customer, li, product_name="机密设备")
    say(f"#跟进 {opp.number} 电话沟通")
    for text in (f"#跟进 {opp.number} 偷看", f"#报价 {opp.number} 1", f"#成交 {opp.number}",
                 f"#丢单 {opp.number} 试试", f"#认领 {opp.number}", "#客户历史 13987654321"):
        reply = say(text, "zhao.sales", "zhao-chat").to_text()
        assert "不存在或无权查看" in reply, (text, reply)
        assert "机密设备" not in reply and "保密客户" not in reply and "李" not in reply
    # the last card of a shared chat is li's opportunity: zhao still cannot act on it
    with unit_of_work(ServiceContext.system()):
        remember_card("shared", opportunity_card(reload(opp)))
    assert "不存在或无权查看" in say("#跟进 看看", "zhao.sales", "shared").to_text()
    make_user("engineer", wecom_userid="gong")
    assert say(f"#跟进 {opp.number} x", "gong").to_text().startswith("无权限")
    assert [f.content for f in reload(opp).follow_ups] == ["电话沟通"]


def test_unclaimed_opportunity_must_be_claimed_before_work(li):
    opp = announce(make_customer(li))
    assert "请先认领" in say("#跟进 先跟进").to_text()
    assert reload(opp).owner_id is None and reload(opp).status == "new"


def test_manage_py_bot_say(app, li):
    opp = make_opportunity(make_customer(li), li)
    out = app.test_cli_runner().invoke(cli, ["bot", "say", "--user", "li", "--chat", "c1",
                                             f"#报价 {opp.number} 99000"]).output
    assert "¥99,000.00" in out
    assert reload(opp).status == "quoted"
