"""Seed 000 scenario 1, step 1: a customer's message to the official account that is not a
phone number ("需要10台中央空调") becomes an unowned opportunity for the matching customer
(or a new potential customer), announced with its 认领 button: on a customer someone owns to
that owner and his team's manager only, on a customer nobody owns to the sales group."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.security.models import Team
from core.security.models import User
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm.models.customer import Customer
from modules.crm.models.opportunity import Opportunity
from tests.modules.wecom_crm.test_identity import _customer
from tests.modules.wecom_crm.test_identity import _oa_post
from tests.modules.wecom_crm.test_identity import _user
from tests.modules.wecom_crm.test_identity import ctx_app  # noqa: F401 - the fixture
from tests.modules.wecom_crm.test_identity import identity_app  # noqa: F401 - the fixture


def _say(client, openid, text, msgid):
    xml = (f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
           "</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]>"
           f"</MsgType><Content><![CDATA[{text}]]></Content><MsgId>{msgid}</MsgId></xml>")
    response = _oa_post(client, xml)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_demand_from_a_known_customer_becomes_an_announced_opportunity(ctx_app,  # noqa: F811
                                                                         fake_wecom):
    li, zhao = _user("li.sales"), _user("zhao.sales", "manager")
    _user("wang.sales")  # another salesman: not told of a customer li owns
    with unit_of_work(ServiceContext.system()):
        team = Team(name="一组", manager_id=zhao.id)
        db.session.add(team)
        db.session.flush()
        db.session.get(User, li.id).team_id = team.id
    customer = _customer(li)
    client = ctx_app.test_client()
    _say(client, "openid-9", "我的手机 13812345678", 901)  # binds the openid to the customer
    fake_wecom.state.requests.clear()
    reply = _say(client, "openid-9", "需要10台中央空调，下周能报价吗", 902)
    assert "已收到您的需求" in reply
    opp = db.session.scalar(select(Opportunity))
    assert (opp.customer_id, opp.owner_id, opp.product_name, opp.quantity, opp.source) == (
        customer.id, None, "中央空调", 10, "wecom")
    pushed = [r["json"] for r in fake_wecom.state.received("/cgi-bin/message/send")
              if r["json"]["msgtype"] == "template_card"]
    assert {p["touser"] for p in pushed} == {"li.sales", "zhao.sales"}  # owner and manager
    keys = {b.get("key") for p in pushed for b in p["template_card"]["button_list"]}
    assert f"crm.opportunity.claim:{opp.id}" in keys
    again = _say(client, "openid-9", "最好是格力的", 903)
    assert "补充" in again
    db.session.expire_all()
    assert db.session.scalar(select(Opportunity.requirements)).endswith("最好是格力的")
    assert len(db.session.scalars(select(Opportunity)).all()) == 1


def test_an_unknown_sender_becomes_a_potential_customer_in_the_pool(ctx_app):  # noqa: F811
    _user("li.sales")
    client = ctx_app.test_client()
    assert "请回复您的手机号" in _say(client, "openid-new", "想了解一下新风系统", 911)
    assert db.session.scalar(select(Opportunity.id)) is None
    _say(client, "openid-new", "13900001111", 912)
    assert "已收到您的需求" in _say(client, "openid-new", "想了解一下新风系统", 913)
    customer = db.session.scalar(select(Customer))
    assert (customer.customer_level, customer.status, customer.owner_id, customer.phone) == (
        "potential", "in_pool", None, "13900001111")
    opp = db.session.scalar(select(Opportunity))
    assert opp.customer_id == customer.id and opp.owner_id is None
    assert "需求" not in _say(client, "openid-new", "嗯", 914)  # too short: no lead
