"""Inbound callbacks end to end through the fake WeCom's driver."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func
from sqlalchemy import select

from core.audit import AuditLog
from core.extensions import db
from modules.wecom.crypto import parse_xml
from modules.wecom.models import CallbackLog


def _widgets():
    table = db.metadata.tables["demo_a_widget"]
    return db.session.execute(select(table.c.id, table.c.name, table.c.owner_id)).all()


def _group_message(text, userid="li.sales", msgid="m1", chatid="chat-sales"):
    return {
        "msgid": msgid,
        "aibotid": "bot1",
        "chatid": chatid,
        "chattype": "group",
        "from": {"userid": userid},
        "response_url": "http://127.0.0.1:1/cgi-bin/aibot/response?response_code=x",
        "msgtype": "text",
        "text": {"content": text},
    }


def test_url_verification_answers_the_bare_echo(driver):
    status, text = driver.verify_url("/wecom/bot/callback", driver.bot_crypto, "8345129")
    assert (status, text) == (200, "8345129")
    status, text = driver.verify_url("/wecom/app/callback", driver.app_crypto, "1616140317")
    assert (status, text) == (200, "1616140317")


def test_group_command_is_applied_once_although_delivered_three_times(driver, chat_user):
    chat_user("li.sales")
    answers = driver.bot_message(_group_message("@Tandem ＃小部件 齿轮"), deliveries=3)
    assert [status for status, _ in answers] == [200, 200, 200]
    assert len(_widgets()) == 1
    reply = driver.decrypt_bot_reply(answers[0][1])
    assert reply["msgtype"] == "template_card"
    assert reply["template_card"]["main_title"]["title"] == "齿轮"
    logs = db.session.scalars(select(CallbackLog).order_by(CallbackLog.id)).all()
    assert [log.duplicate for log in logs] == [False, True, True]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.model == "demo_a_widget"))
    assert audit.source == "bot"


def test_command_without_reference_uses_the_chat_last_card(driver, chat_user):
    chat_user("li.sales")
    driver.bot_message(_group_message("@Tandem #小部件 齿轮", msgid="a"))
    _status, text = driver.bot_message(_group_message("@Tandem #改名 大齿轮", msgid="b"))[0]
    reply = driver.decrypt_bot_reply(text)
    assert reply["msgtype"] == "stream" and reply["stream"]["finish"] is True
    assert "大齿轮" in reply["stream"]["content"]
    assert [w.name for w in _widgets()] == ["大齿轮"]


def test_unknown_user_gets_a_polite_refusal_and_nothing_changes(driver):
    status, text = driver.bot_message(_group_message("#小部件 齿轮", userid="stranger"))[0]
    assert status == 200
    content = driver.decrypt_bot_reply(text)["stream"]["content"]
    assert "齿轮" not in content and _widgets() == []


def test_user_without_permission_gets_no_permission_reason(driver, chat_user):
    chat_user("zhang.eng", "engineer")
    text = driver.bot_message(_group_message("#小部件 齿轮", userid="zhang.eng"))[0][1]
    assert "无权限" in driver.decrypt_bot_reply(text)["stream"]["content"]
    assert _widgets() == []


def test_forged_or_tampered_calls_are_refused_and_not_processed(driver, chat_user, wecom_ctx):
    chat_user("li.sales")
    client = wecom_ctx.test_client()
    crypto = driver.bot_crypto
    encrypted = crypto.encrypt(json.dumps(_group_message("#小部件 伪造")))
    body = json.dumps({"encrypt": encrypted})
    forged = client.post("/wecom/bot/callback", data=body,
                         query_string={"msg_signature": "0" * 40, "timestamp": "1", "nonce": "2"})
    assert forged.status_code == 403
    from modules.wecom.crypto import signature

    good_sig = {"msg_signature": signature(crypto.token, "1", "2", encrypted),
                "timestamp": "1", "nonce": "2"}
    tampered = client.post("/wecom/bot/callback", query_string=good_sig,
                           data=json.dumps({"encrypt": encrypted[:-8] + "AAAAAAA="}))
    assert tampered.status_code in (400, 403)
    malformed = client.post("/wecom/bot/callback", query_string=good_sig, data="{not json")
    assert malformed.status_code == 400
    assert _widgets() == []
    assert db.session.scalar(select(func.count()).select_from(CallbackLog)) == 0


def test_app_text_message_gets_an_encrypted_passive_reply(driver, chat_user):
    chat_user("li.sales")
    fields = {"ToUserName": "ww_fake_corp", "FromUserName": "li.sales", "CreateTime": 1700000000,
              "MsgType": "text", "Content": "#小部件 阀门", "MsgId": "9001", "AgentID": 1000002}
    (status, text), (_s2, again) = driver.app_event(fields, deliveries=2)
    assert status == 200
    envelope = parse_xml(text)
    reply = parse_xml(driver.app_crypto.decrypt_xml(text, envelope["MsgSignature"],
                                                    envelope["TimeStamp"], envelope["Nonce"]))
    assert reply["ToUserName"] == "li.sales" and "阀门" in reply["Content"]
    assert again == ""  # the retry is recognised and answered empty
    assert len(_widgets()) == 1


def test_card_click_claims_for_the_clicker_and_updates_his_card(driver, chat_user, fake_wecom):
    chat_user("li.sales")
    chat_user("zhao.sales")
    driver.bot_message(_group_message("#小部件 水泵", userid="li.sales"))
    widget_id = _widgets()[0].id
    fields = {"ToUserName": "ww_fake_corp", "FromUserName": "zhao.sales",
              "CreateTime": 1700000100, "MsgType": "event", "Event": "template_card_event",
              "EventKey": f"demo_a.widget.claim:{widget_id}", "TaskId": "tdm-task-1",
              "CardType": "button_interaction", "ResponseCode": "rc-42", "AgentID": 1000002}
    driver.app_event(fields, deliveries=2)
    zhao = db.session.execute(select(db.metadata.tables["core_user"].c.id).where(
        db.metadata.tables["core_user"].c.username == "zhao.sales")).scalar()
    assert _widgets()[0].owner_id == zhao
    updates = fake_wecom.state.received("/cgi-bin/message/update_template_card")
    assert len(updates) == 1
    assert updates[0]["json"]["userids"] == ["zhao.sales"]
    assert updates[0]["json"]["response_code"] == "rc-42"
    audit = db.session.scalars(select(AuditLog).where(AuditLog.model == "demo_a_widget",
                                                      AuditLog.action == "update")).all()
    assert [a.source for a in audit] == ["bot"]


def test_not_configured_channel_answers_404(make_app):
    app = make_app(modules=["wecom"])
    response = app.test_client().get("/wecom/bot/callback?echostr=x")
    assert response.status_code == 404


def test_signed_callbacks_need_no_csrf_token(make_app, fake_wecom):
    from tests.modules.wecom.conftest import callback_driver
    from tests.modules.wecom.conftest import wecom_config

    app = make_app(modules=["wecom"], WTF_CSRF_ENABLED=True, **wecom_config(fake_wecom))
    with app.app_context():
        driver = callback_driver(app)
        status, text = driver.bot_message(_group_message("#帮助", userid="nobody"))[0]
    assert status == 200
    assert "尚未绑定" in driver.decrypt_bot_reply(text)["stream"]["content"]


@pytest.mark.redis
def test_retries_are_applied_once_with_redis_dedupe(make_app, fake_wecom):
    import redis

    from core.services import ServiceContext
    from core.services import unit_of_work
    from tests.conftest import shared_redis_url
    from tests.modules.wecom.conftest import callback_driver
    from tests.modules.wecom.conftest import wecom_config

    url = shared_redis_url(15)
    try:
        client = redis.Redis.from_url(url)
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    for key in client.scan_iter("tandem:wecom:seen:*"):
        client.delete(key)
    app = make_app(modules=["demo_a", "wecom"], REDIS_URL=url, TANDEM_JOBS_EAGER=True,
                   **wecom_config(fake_wecom))
    with app.app_context():
        from core.security.services import create_user

        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            create_user(ctx, "li.sales", roles=["sales"], wecom_userid="li.sales")
        driver = callback_driver(app)
        answers = driver.bot_message(_group_message("#小部件 Redis 齿轮", msgid="redis-1"),
                                     deliveries=3)
        assert [s for s, _ in answers] == [200, 200, 200]
        assert [w.name for w in _widgets()] == ["Redis 齿轮"]
        assert client.exists("tandem:wecom:seen:bot:redis-1")
        assert db.session.scalar(select(func.count()).select_from(
            db.metadata.tables["wecom_processed_callback"])) == 0  # Redis, not the table


def _signed(crypto, encrypted, timestamp=None, nonce="77"):
    import time

    from modules.wecom.crypto import signature

    timestamp = timestamp or str(int(time.time()))
    return {"msg_signature": signature(crypto.token, timestamp, nonce, encrypted),
            "timestamp": timestamp, "nonce": nonce}


def test_a_correctly_signed_but_stale_callback_is_refused(driver, chat_user, wecom_ctx):
    """Issue 14 #13: a captured request cannot be replayed once outside ±5 minutes."""
    import time

    chat_user("li.sales")
    client = wecom_ctx.test_client()
    crypto = driver.bot_crypto
    encrypted = crypto.encrypt(json.dumps(_group_message("#小部件 重放", msgid="old")))
    for skew in (-600, 600):
        query = _signed(crypto, encrypted, str(int(time.time()) + skew))
        response = client.post("/wecom/bot/callback", query_string=query,
                               data=json.dumps({"encrypt": encrypted}))
        assert response.status_code == 403
    app_crypto = driver.app_crypto
    inner = app_crypto.encrypt("<xml><MsgType>text</MsgType></xml>")
    query = _signed(app_crypto, inner, str(int(time.time()) - 3600))
    response = client.post("/wecom/app/callback", query_string=query,
                           data=f"<xml><Encrypt><![CDATA[{inner}]]></Encrypt></xml>")
    assert response.status_code == 403
    assert _widgets() == []


def test_callbacks_of_bad_shape_answer_4xx_never_500(driver, chat_user, wecom_ctx):
    """Issue 14 #6: deep JSON unauthenticated, signed payloads of the wrong shape, a receive
    id that is not UTF-8."""
    import struct

    from modules.wecom.crypto import _pad

    chat_user("li.sales")
    client = wecom_ctx.test_client()
    crypto = driver.bot_crypto
    deep = "[" * 100_000 + "]" * 100_000
    assert client.post("/wecom/bot/callback", query_string=_signed(crypto, "x"),
                       data=deep).status_code == 400
    for payload in ({"from": "li.sales", "msgtype": "text"}, {"msgtype": ["text"]},
                    {"msgtype": "text", "text": "hi"}, {"msgtype": "mixed", "mixed": [1]},
                    {"msgtype": "event", "event": "x"}, {"msgid": {"a": 1}},
                    [1, 2], "text", {"msgtype": "text", "text": {"content": ["a"]}}):
        encrypted = crypto.encrypt(json.dumps(payload))
        response = client.post("/wecom/bot/callback", query_string=_signed(crypto, encrypted),
                               data=json.dumps({"encrypt": encrypted}))
        assert response.status_code == 400, payload
    deep_inner = crypto.encrypt(deep)
    response = client.post("/wecom/bot/callback", query_string=_signed(crypto, deep_inner),
                           data=json.dumps({"encrypt": deep_inner}))
    assert response.status_code == 400
    # An app callback whose receive id is not UTF-8.
    app_crypto = driver.app_crypto
    body = b"<xml/>"
    plain = b"0" * 16 + struct.pack(">I", len(body)) + body + b"\xff\xfe\xfa"
    encryptor = app_crypto._cipher().encryptor()
    import base64

    inner = base64.b64encode(encryptor.update(_pad(plain)) + encryptor.finalize()).decode()
    response = client.post("/wecom/app/callback", query_string=_signed(app_crypto, inner),
                           data=f"<xml><Encrypt><![CDATA[{inner}]]></Encrypt></xml>")
    assert response.status_code in (400, 403)
    assert _widgets() == []


def test_the_sender_is_read_again_once_users_change(driver, chat_user):
    """The sender kept between callbacks (under the auth epoch) is never a stale one: a
    disabled account is refused at the next message, a rebound WeCom id acts as its new
    user."""
    from core.security.models import User
    from core.services import ServiceContext
    from core.services import unit_of_work

    li = chat_user("li.sales")
    driver.bot_message(_group_message("@Tandem #小部件 齿轮", msgid="a"))
    driver.bot_message(_group_message("@Tandem #小部件 链条", msgid="b"))
    assert {w.owner_id for w in _widgets()} == {li.id}
    with unit_of_work(ServiceContext.system("cli")):
        db.session.get(User, li.id).active = False
    text = driver.bot_message(_group_message("@Tandem #小部件 轴承", msgid="c"))[0][1]
    assert "停用" in driver.decrypt_bot_reply(text)["stream"]["content"]
    with unit_of_work(ServiceContext.system("cli")):
        db.session.get(User, li.id).wecom_userid = None
    wang = chat_user("wang.sales")
    with unit_of_work(ServiceContext.system("cli")):
        db.session.get(User, wang.id).wecom_userid = "li.sales"
    driver.bot_message(_group_message("@Tandem #小部件 轴承", msgid="d"))
    assert sorted((w.name, w.owner_id) for w in _widgets()) == sorted(
        [("齿轮", li.id), ("链条", li.id), ("轴承", wang.id)])
