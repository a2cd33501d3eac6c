"""Seed 001 end to end through the fake WeCom: a phone sent to the official account (temp
binding) → staff add the customer by phone search (add_way 2) → verified → the customer
sends 售后 and describes the problem → ticket AS… matched to the latest in-progress order,
offered to its owner, pushed to the owner, the sales rep and the service group with the
project link; an unverified customer is refused politely."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from modules.service.models import Ticket
from tests.conftest import cleaned_context
from tests.conftest import installed_app
from tests.conftest import login
from tests.modules.sales.factories import advance
from tests.modules.sales.factories import make_order
from tests.modules.wecom.conftest import CORP_ID
from tests.modules.wecom.conftest import wecom_config

OA_TOKEN = "oatoken"


@pytest.fixture(scope="module")
def oa_app(databases: Any, instance_dir: Any, fake_wecom: Any) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["service", "wecom"],
                       **wecom_config(fake_wecom, WECOM_OA_TOKEN=OA_TOKEN,
                                      WECOM_OA_PICTURE_HOSTS=["127.0.0.1"])) as app:
        assert {"wecom_crm", "service_wecom"} <= set(app.extensions["tandem_registry"].installed)
        yield app


@pytest.fixture
def ctx_app(oa_app: Any, fake_wecom: Any) -> Iterator[Any]:
    fake_wecom.state.requests.clear()
    with cleaned_context(oa_app) as app:
        yield app
    fake_wecom.state.external_contacts.clear()
    fake_wecom.state.requests.clear()


def _user(username: str, role: str, name: str) -> Any:
    from core.security.services import create_user

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        return create_user(ctx, username, roles=[role], wecom_userid=username,
                           display_name=name, password="secret-pass-1")


_msgid = iter(range(9000, 99999))


def _oa(client: Any, openid: str, text: str) -> str:
    timestamp, nonce = str(int(time.time())), "12345"
    sig = hashlib.sha1("".join(sorted([OA_TOKEN, timestamp, nonce])).encode()).hexdigest()
    xml = (f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
           f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]>"
           f"</MsgType><Content>{escape(text)}</Content><MsgId>{next(_msgid)}</MsgId></xml>")
    response = client.post("/wecom/oa/callback", data=xml, query_string={
        "signature": sig, "timestamp": timestamp, "nonce": nonce})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _oa_image(client: Any, openid: str, pic_url: str, msgid: str | None = None) -> str:
    """An image message as WeChat posts it (``msgid``: the same for WeChat's retries)."""
    timestamp, nonce = str(int(time.time())), "12345"
    sig = hashlib.sha1("".join(sorted([OA_TOKEN, timestamp, nonce])).encode()).hexdigest()
    xml = (f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
           f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[image]]>"
           f"</MsgType><PicUrl><![CDATA[{escape(pic_url)}]]></PicUrl><MediaId><![CDATA[m1]]>"
           f"</MediaId><MsgId>{msgid or next(_msgid)}</MsgId></xml>")
    response = client.post("/wecom/oa/callback", data=xml, query_string={
        "signature": sig, "timestamp": timestamp, "nonce": nonce})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_verified_customer_reports_and_the_owner_sales_and_group_hear(ctx_app, driver,
                                                                       fake_wecom):
    from core.settings import set_setting
    from tests.modules.crm.factories import make_customer

    with unit_of_work(ServiceContext.system("cli")):
        set_setting("service.group_webhook", "service")
    li = _user("li.sales", "sales", "李销售")
    zhang = _user("zhang.eng", "engineer", "张工")
    customer = make_customer(li, customer_name="张三", phone="13800138000")
    old = make_order(li, customer)
    advance(li, old, "confirmed")
    project = make_order(li, customer, engineer_id=zhang.id)
    advance(li, project, "confirmed", "paid")
    client = ctx_app.test_client()

    # Phone to the official account: a temporary binding; not verified yet → refused.
    assert "138****8000" in _oa(client, "openid-zs", "13800138000")
    refusal = _oa(client, "openid-zs", "维修")
    assert "仅对已认证客户开放" in refusal and db.session.scalar(select(Ticket.id)) is None

    # Staff add him on WeCom by phone search (add_way 2) → verified.
    fake_wecom.state.external_contacts["wm_zs"] = {
        "external_contact": {"external_userid": "wm_zs", "name": "张三", "type": 1},
        "follow_user": [{"userid": "li.sales", "remark": "", "add_way": 2,
                         "remark_mobiles": ["13800138000"], "createtime": 1700000000}]}
    driver.app_event({"ToUserName": CORP_ID, "FromUserName": "sys", "CreateTime": 1700000000,
                      "MsgType": "event", "Event": "change_external_contact",
                      "ChangeType": "add_external_contact", "UserID": "li.sales",
                      "ExternalUserID": "wm_zs", "State": "", "WelcomeCode": "wc"})

    # He sends 售后, then describes the problem.
    assert "请直接描述问题" in _oa(client, "openid-zs", "售后")
    answer = _oa(client, "openid-zs", "设备无法启动，按开关没反应")
    ticket = db.session.scalar(select(Ticket))
    assert ticket is not None and f"工单已提交，编号：{ticket.ticket_no}" in answer
    assert ticket.ticket_no.startswith("AS") and len(ticket.ticket_no) == 19
    assert (ticket.order_id, ticket.assignee_id, ticket.channel, ticket.priority) == \
        (project.id, zhang.id, "customer", "high")

    # He sends a photo of the problem: fetched from WeChat's image server (the fake's), kept
    # on his ticket; an address of another host is never fetched.
    from modules.service.services.photos import photos
    from tests.core.storage.test_storage import jpeg_with_gps

    fake_wecom.state.pictures["p1.jpg"] = jpeg_with_gps()
    got = _oa_image(client, "openid-zs", f"{fake_wecom.base_url}/mmbiz/p1.jpg")
    assert f"照片已收到，将附在工单 {ticket.ticket_no} 上" in got
    assert [(p.phase, p.content_type) for p in photos(ticket.id)] == [("intake", "image/jpeg")]
    assert "未能接收" in _oa_image(client, "openid-zs", "http://203.0.113.9/mmbiz/p1.jpg")
    assert len(photos(ticket.id)) == 1

    # Pushed to the project owner (WeCom card), the sales rep and the service group,
    # each with the project link.
    to_people = {r["json"]["touser"]: r["json"] for r in
                 fake_wecom.state.received("/cgi-bin/message/send")}
    assert {"zhang.eng", "li.sales"} <= set(to_people)
    rows = db.session.scalars(select(Notification).where(
        Notification.record_id == str(ticket.id))).all()
    assert {r.recipient_id for r in rows if r.channel == "inapp"} >= {zhang.id, li.id}
    assert all(f"项目详情：/sales/orders/{project.id}" in r.body for r in rows
               if r.channel in ("inapp", "wecom"))
    group = fake_wecom.state.received("/cgi-bin/webhook/send")
    assert any(ticket.ticket_no in str(g["json"]) for g in group)
    # The link works for the people it was sent to.
    login(client, li)
    assert client.get(f"/sales/orders/{project.id}").status_code == 200
    assert client.get(f"/service/tickets/{ticket.id}").status_code == 200


def test_one_message_with_type_and_text_and_an_unknown_sender(ctx_app):
    client = ctx_app.test_client()
    assert "仅对已认证客户开放" in _oa(client, "openid-unknown", "售后")
    assert "仅对已认证客户开放" in _oa(client, "openid-unknown", "投诉 师傅态度差")
    assert "仅对已认证客户开放" in _oa_image(client, "openid-unknown", "http://127.0.0.1/x.jpg")
    assert _oa(client, "openid-unknown", "你好") in ("", "success")
