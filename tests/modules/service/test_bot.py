"""After-sales chat: #认领 (shared with crm's, picked by AS number or the chat's last card)
#转派 @李工 #协作 @张工 #进度 50% #已解决 #需要回访 #催办 #接单 #拒单 #我的工单, card
buttons, audit source ``bot``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.bot import IncomingMessage
from core.bot import dispatch
from core.bot import dispatch_card_action
from core.bot import last_record
from core.extensions import db
from modules.service.models import Ticket
from modules.service.models import TicketActionLog
from tests.modules.crm.factories import make_opportunity
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import make_ticket
from tests.modules.service.factories import service_people
from tests.modules.service.factories import set_settings

GROUP = "service-group"


@pytest.fixture
def people(app_ctx, make_user):
    set_settings(dispatch_mode="grab", group_chat_id=GROUP)
    return service_people(make_user)


def say(text, userid="ligong", chat=GROUP):
    return dispatch(IncomingMessage(text, userid, chat)).to_text()


def reload(ticket):
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def test_the_group_card_makes_claim_mean_the_ticket(people):
    ticket = make_ticket(make_customer(people["sales"]))
    assert last_record(GROUP).model == "service_ticket"
    reply = say("#认领")
    assert "已认领" in reply and ticket.ticket_no in reply
    assert reload(ticket).assignee_id == people["li"].id
    assert "已被李工认领" in say("#认领", "zhanggong")
    log = db.session.scalar(select(TicketActionLog).where(TicketActionLog.action == "claim"))
    assert log.source == "bot" and log.actor_id == people["li"].id


def test_claim_with_a_number_beats_the_last_card(people, make_user):
    ticket = make_ticket(make_customer(people["sales"]))
    seller = make_user("sales", "engineer", username="both", wecom_userid="both")
    make_opportunity(make_customer(seller))  # not announced to this chat
    assert "已认领" in say(f"#认领 {ticket.ticket_no}", "both")
    assert reload(ticket).assignee_id == seller.id


def test_the_whole_repair_in_chat(people):
    ticket = make_ticket(make_customer(people["sales"]))
    say("#认领")
    assert "已添加协作人：张工" in say("#协作 @张工")
    assert "50%" in say("#进度 50% 已拆机检查")
    assert "请写进度百分比" in say("#进度 很快")
    assert "进度应为" in say("#进度 150%")
    assert "已标记需要回访" in say("#需要回访")
    mine = say("#我的工单")
    assert ticket.ticket_no in mine and "服务中" in mine
    assert "已转派给 张工" in say("#转派 @张工 我去另一单")
    assert reload(ticket).assignee_id == people["zhang"].id
    assert "已催办" in say(f"#催办 {ticket.ticket_no}", "wangxs")
    assert "已解决" in say("#已解决 更换滤网后正常", "zhanggong")
    t = reload(ticket)
    assert (t.status, t.progress, t.survey_state) == ("resolved", 100, "sent")


def test_offer_buttons_accept_and_decline(people):
    set_settings(dispatch_mode="manual")
    from modules.service.services import tickets as svc
    from tests.modules.service.factories import act

    ticket = make_ticket(make_customer(people["sales"]))
    act(people["manager"], svc.assign_ticket, ticket.id, people["li"].id)
    reply = dispatch_card_action("ligong", f"service.ticket.accept:{ticket.id}")
    assert "已接单" in reply.to_text()
    assert reload(ticket).status == "accepted"
    other = make_ticket(make_customer(people["sales"]))
    act(people["manager"], svc.assign_ticket, other.id, people["zhang"].id)
    assert "请写拒单原因" in say(f"#拒单 {other.ticket_no}", "zhanggong")
    assert "已拒绝" in say(f"#拒单 {other.ticket_no} 今天请假", "zhanggong")
    assert reload(other).assignee_id != people["zhang"].id


def test_claim_button_and_no_leak_to_sales(people):
    ticket = make_ticket(make_customer(people["sales"]))
    reply = dispatch_card_action("ligong", f"service.ticket.claim:{ticket.id}", chat_id=GROUP)
    assert "已认领" in reply.to_text()
    denied = say(f"#进度 {ticket.ticket_no} 50%", "wangxs")
    assert "无权限" in denied


def test_report_in_chat_then_claim(people):
    customer = make_customer(people["sales"])
    reply = say(f"#报修 {customer.phone} 投诉 安装师傅迟到", "wangxs")
    ticket = db.session.scalar(select(Ticket))
    assert ticket.ticket_no in reply and ticket.ticket_type == "complaint"
    assert (ticket.priority, ticket.channel) == ("urgent", "bot")
    assert "已认领" in say("#认领")
    assert "请写客户和问题" in say("#报修", "wangxs")
    assert "找不到客户" in say("#报修 13999999999 漏水", "wangxs")
