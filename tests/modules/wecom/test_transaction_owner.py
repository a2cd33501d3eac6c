"""A WeCom callback owns one transaction: its log row, its dedupe key and the business
change; a business error rolls back to the savepoint and keeps the log, the dedupe key and
the error reply, so WeCom's retry is answered empty and not applied again."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from core.audit import AuditLog
from core.extensions import db
from modules.wecom import inbound
from modules.wecom.crypto import parse_xml
from modules.wecom.models import CallbackLog
from modules.wecom.models import ProcessedCallback


def _widgets():
    table = db.metadata.tables["demo_a_widget"]
    return db.session.execute(select(table.c.id, table.c.name)).all()


def _logs():
    return db.session.execute(
        select(CallbackLog.dedupe_key, CallbackLog.duplicate).order_by(CallbackLog.id)).all()


def _group_message(text, msgid, userid="li.sales"):
    return {"msgid": msgid, "aibotid": "bot1", "chatid": "chat-sales", "chattype": "group",
            "from": {"userid": userid}, "msgtype": "text", "text": {"content": text}}


def test_a_failed_robot_command_is_answered_once_and_not_applied_again(driver, chat_user):
    chat_user("li.sales")
    answers = driver.bot_message(_group_message("@Tandem #坏小部件 齿轮", "fail-1"),
                                 deliveries=3)
    assert [status for status, _ in answers] == [200, 200, 200]
    reply = driver.decrypt_bot_reply(answers[0][1])
    assert reply["stream"]["content"] == "小部件保存失败：仓库已满"
    assert [text for _, text in answers[1:]] == ["", ""]  # retries: answered empty
    db.session.expire_all()
    assert _widgets() == []  # the widget written before the error is rolled back
    assert not db.session.scalars(select(AuditLog).where(
        AuditLog.model == "demo_a_widget")).all()
    assert _logs() == [("bot:fail-1", False), ("bot:fail-1", True), ("bot:fail-1", True)]
    assert db.session.get(ProcessedCallback, "bot:fail-1") is not None


def test_a_failed_app_command_keeps_its_log_and_dedupe_row(driver, chat_user):
    chat_user("li.sales")
    fields = {"ToUserName": "ww_fake_corp", "FromUserName": "li.sales",
              "CreateTime": 1700000000, "MsgType": "text", "Content": "#坏小部件 阀门",
              "MsgId": "77001", "AgentID": 1000002}
    answers = driver.app_event(fields, deliveries=2)
    assert [status for status, _ in answers] == [200, 200]
    envelope = parse_xml(answers[0][1])
    reply = parse_xml(driver.app_crypto.decrypt_xml(
        answers[0][1].encode(), envelope["MsgSignature"], envelope["TimeStamp"],
        envelope["Nonce"]))
    assert reply["Content"] == "小部件保存失败：仓库已满"
    assert answers[1][1] == ""
    db.session.expire_all()
    assert _widgets() == []
    assert _logs() == [("app:msg:77001", False), ("app:msg:77001", True)]


def test_a_good_command_after_a_failed_one_in_the_same_chat_is_applied(driver, chat_user):
    chat_user("li.sales")
    driver.bot_message(_group_message("#坏小部件 齿轮", "m-1"))
    driver.bot_message(_group_message("#小部件 齿轮", "m-2"))
    db.session.expire_all()
    assert [w.name for w in _widgets()] == ["齿轮"]


def test_a_business_error_rolls_back_to_the_savepoint_and_keeps_log_and_key(wecom_ctx):
    """Any callback's business part (here an event handler that raises) is a savepoint."""
    table = db.metadata.tables["demo_a_widget"]

    def run(ctx):
        db.session.execute(table.insert().values(name="half done"))
        raise RuntimeError("a bridge failed")

    assert inbound._applied_once("app", "event", "app:event:x", "li", {"a": 1}, run) is None
    assert inbound._applied_once("app", "event", "app:event:x", "li", {"a": 1}, run) is None
    db.session.expire_all()
    assert _widgets() == []
    assert _logs() == [("app:event:x", False), ("app:event:x", True)]
    assert db.session.scalar(select(func.count()).select_from(ProcessedCallback)) == 1
