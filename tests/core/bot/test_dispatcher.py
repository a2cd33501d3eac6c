from __future__ import annotations

import logging
import sys
import types

import pytest
from sqlalchemy import select

from core.audit import AuditLog
from core.bot import CardReply
from core.bot import IncomingMessage
from core.bot import TextReply
from core.bot import dispatch
from core.bot import dispatch_card_action
from core.bot import last_record
from core.errors import ConflictError
from core.extensions import db
from core.registration import BotCommand
from core.services import ServiceContext


def say(text, userid="zhangsan", chat="chat-1", **kwargs):
    return dispatch(IncomingMessage(text=text, sender_userid=userid, chat_id=chat, **kwargs))


def widgets():
    table = db.metadata.tables["demo_a_widget"]
    return db.session.execute(select(table.c.id, table.c.name, table.c.owner_id)).all()


@pytest.fixture
def sales(bot_user):
    return bot_user("sales", username="zs", wecom_userid="zhangsan", display_name="张三")


@pytest.fixture
def add_command(bot_ctx, monkeypatch):
    """Register an extra command on the running registry for one test."""
    commands = bot_ctx.extensions["tandem_registry"].bot_commands

    def add(trigger, handler, **kwargs):
        monkeypatch.setitem(commands, trigger, BotCommand(trigger, handler, **kwargs))

    return add


def test_unknown_userid_is_refused_politely_and_admins_notified(bot_ctx, monkeypatch):
    calls = []
    fake = types.ModuleType("core.notify")

    def notify_admins(ctx, title, body):
        calls.append((ctx.source, title, body))

    fake.notify_admins = notify_admins
    monkeypatch.setitem(sys.modules, "core.notify", fake)
    reply = say("#小部件 齿轮", userid="stranger")
    assert isinstance(reply, TextReply)
    assert "尚未绑定" in reply.text and "已通知管理员" in reply.text
    assert widgets() == []
    assert calls == [("bot", calls[0][1], calls[0][2])]
    assert "stranger" in calls[0][2]()  # the body, written in each admin's language


def test_unknown_userid_without_notify_module(bot_ctx, monkeypatch):
    monkeypatch.setitem(sys.modules, "core.notify", None)  # import fails: feature absent
    assert say("#帮助", userid="nobody").text.endswith("请联系管理员为您绑定。")


def test_inactive_user_is_refused(bot_user):
    user = bot_user("sales", wecom_userid="gone")
    user.active = False
    db.session.commit()
    assert "已停用" in say("#小部件 齿轮", userid="gone").text
    assert widgets() == []


def test_command_creates_record_audited_with_source_bot(sales):
    reply = say("@Tandem\u2005＃小部件　齿轮，大号")
    assert isinstance(reply, CardReply)
    [(widget_id, name, owner_id)] = widgets()
    assert (name, owner_id) == ("齿轮，大号", sales.id)  # Chinese punctuation kept
    assert reply.card.title == "齿轮，大号"
    rows = db.session.scalars(select(AuditLog).where(AuditLog.model == "demo_a_widget")).all()
    assert [(r.action, r.source, r.actor_id) for r in rows] == [("create", "bot", sales.id)]
    assert last_record("chat-1").record_id == str(widget_id)


def test_permission_denied_says_why_and_changes_nothing(bot_user):
    bot_user("engineer", wecom_userid="ligong")
    reply = say("#小部件 齿轮", userid="ligong")
    assert reply.text == "无权限：需要“新建小部件”（demo_a.widget.create）"
    assert widgets() == []


def test_help_lists_only_permitted_commands(sales, bot_user):
    text = say("#帮助").text
    assert "#小部件 名称" in text and "#改名" in text and "#帮助 [命令]" in text
    bot_user("engineer", wecom_userid="ligong")
    text = say("＃HELP", userid="ligong").text
    assert "#帮助" in text and "#小部件" not in text
    assert "新建小部件" in say("#帮助 ＃小部件").text


def test_unknown_command_and_plain_text_answer_with_help(sales):
    reply = say("#不存在 什么")
    assert reply.text.startswith("没有“#不存在”这个命令。")
    assert "#小部件 名称" in reply.text
    reply = say("@Tandem 你好")
    assert "请发送以 # 开头的命令" in reply.text and "#帮助" in reply.text
    assert "#小部件 名称" in say("").text
    assert "可用命令" in say("帮助", chat_type="single", chat=None).text  # bare trigger


def test_tandem_error_becomes_its_message_and_rolls_back(sales, add_command):
    def handler(ctx, call):
        db.session.execute(db.metadata.tables["demo_a_widget"].insert(), [{"name": "x"}])
        raise ConflictError("已被他人认领")

    add_command("冲突", handler)
    assert say("#冲突").text == "已被他人认领"
    assert say("#小部件").text == "请写小部件名称，例如：#小部件 齿轮"
    assert widgets() == []


def test_unexpected_error_is_an_apology_without_traceback(sales, add_command, caplog):
    def handler(ctx, call):
        db.session.execute(db.metadata.tables["demo_a_widget"].insert(), [{"name": "x"}])
        raise RuntimeError("secret internals")

    add_command("炸", handler)
    with caplog.at_level(logging.ERROR, logger="core.bot.dispatcher"):
        reply = say("#炸")
    assert reply.text.startswith("抱歉")
    assert "secret" not in reply.text and "Traceback" not in reply.text
    assert "secret internals" in caplog.text  # logged with the traceback
    assert widgets() == []
    assert isinstance(say("#小部件 齿轮"), CardReply)  # the session still works


def test_mentions_map_to_users(sales, bot_user, add_command):
    lisi = bot_user("sales", wecom_userid="lisi", display_name="李四")
    bot_user("sales", display_name="王五")
    bot_user("sales", display_name="王五")
    add_command("谁", lambda ctx, call: call.mentioned_user().username, usage="#谁 @同事")
    assert say("#谁 @lisi").text == lisi.username
    assert say("＃谁　＠李四").text == lisi.username
    assert "找不到同事“无名”" in say("#谁 @无名").text
    assert "有多位同事叫“王五”" in say("#谁 @王五").text
    assert say("#谁").text == "请 @ 一位同事，例如：#谁 @同事"
    assert say("#谁", mentions=["lisi"]).text == lisi.username  # userids from the transport


def test_command_without_reference_uses_last_card_in_chat(sales):
    first = say("#小部件 甲").card.record[1]
    second = say("#小部件 乙").card.record[1]
    assert say("#改名 乙二").text == f"已改名：W-{second} 乙二"
    assert say(f"#改名 W-{first}，甲二").text == f"已改名：W-{first} 甲二"
    assert "请写明要操作的记录（例如 W-1023）" in say("#改名 丙", chat="other-chat").text
    assert sorted(name for _id, name, _o in widgets()) == ["乙二", "甲二"]


def test_record_rules_apply_to_references(sales, bot_user):
    widget_id = say("#小部件 甲").card.record[1]
    bot_user("sales", wecom_userid="lisi")
    assert say(f"#改名 W-{widget_id} 抢", userid="lisi").text == f"小部件 W-{widget_id} 不存在"


def test_card_click_runs_the_action_audited_with_source_bot(sales, bot_user):
    card = say("#小部件 甲").card
    widget_id = card.record[1]
    lisi = bot_user("admin", wecom_userid="lisi")
    reply = dispatch_card_action("lisi", card.buttons[0].key, card.task_id, "chat-1")
    assert isinstance(reply, CardReply)
    assert reply.card.fields == [("负责人", str(lisi.id))]
    assert reply.card.task_id  # a new card, to replace the clicked one
    rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "update")).all()
    assert [(r.source, r.actor_id, r.changes["owner_id"]) for r in rows] == [
        ("bot", lisi.id, [sales.id, lisi.id])
    ]
    # a key without the id falls back to the card remembered under task_id
    reply = dispatch_card_action("zhangsan", "demo_a.widget.claim", card.task_id, "chat-1")
    assert reply.card.record == ("demo_a_widget", widget_id)
    assert widgets()[0].owner_id == sales.id


def test_card_click_refusals(sales, bot_user):
    bot_user("engineer", wecom_userid="ligong")
    key = say("#小部件 甲").card.buttons[0].key
    assert dispatch_card_action("ligong", key).text.startswith("无权限：需要“查看小部件”")
    assert "已失效" in dispatch_card_action("zhangsan", "demo_a.nothing:1").text
    assert "已失效" in dispatch_card_action("zhangsan", "demo_a.widget.claim", "no-such").text
    assert "尚未绑定" in dispatch_card_action("stranger", key).text


def test_dispatch_with_explicit_context(bot_user):
    user = bot_user("sales")  # no WeCom userid: the CLI acts through a context
    ctx = ServiceContext(actor=user, source="bot", chat_id="c")
    reply = dispatch(IncomingMessage("#小部件 甲", sender_userid=""), ctx=ctx)
    assert isinstance(reply, CardReply)
    assert widgets()[0].owner_id == user.id


def test_triggers_are_normalised_in_the_registry(bot_ctx):
    commands = bot_ctx.extensions["tandem_registry"].bot_commands
    assert {"帮助", "help", "小部件", "改名"} <= set(commands)
    assert not any(t.startswith("#") for t in commands)
    assert "demo_a.widget.claim" in bot_ctx.extensions["tandem_registry"].card_actions


def test_shared_trigger_picks_the_command_by_reference_or_last_card(bot_ctx, bot_user, monkeypatch):
    registry = bot_ctx.extensions["tandem_registry"]
    ticket = BotCommand(
        "认领",
        lambda ctx, call: "工单",
        model="service_ticket",
        reference="AS",
        permission="demo_a.widget.create",
    )
    widget = BotCommand("认领", lambda ctx, call: "小部件", model="demo_a_widget", reference="W-")
    monkeypatch.setitem(registry.bot_commands, "认领", ticket)
    monkeypatch.setitem(registry.bot_command_variants, "认领", [ticket, widget])
    bot_user("sales", wecom_userid="zhangsan")
    assert say("#认领 W-3").text == "小部件"
    assert say("#认领 AS20240202123456").text == "工单"
    assert (
        say("#认领", chat="fresh").text
        == "“#认领”可用于多种记录，请写明编号（例如 AS1023、W-1023）。"
    )
    say("#小部件 甲", chat="c9")  # the last card in c9 is a widget
    assert say("#认领", chat="c9").text == "小部件"
    bot_user("engineer", wecom_userid="ligong")  # may use only the widget variant
    assert say("#认领", userid="ligong", chat="fresh").text == "小部件"
    help_text = say("#帮助 认领", userid="zhangsan").text
    assert help_text.count("#认领") == 2


def test_single_chat_has_its_own_context(sales):
    widget_id = say("#小部件 甲", chat=None, chat_type="single").card.record[1]
    assert last_record("single:zhangsan").record_id == str(widget_id)
    assert say("#改名 乙", chat=None, chat_type="single").text == f"已改名：W-{widget_id} 乙"
    assert "请写明要操作的记录" in say("#改名 丙", chat="group-x").text


@pytest.fixture
def choose_command(add_command):
    """``#选名 [W-编号] 新名称``: acts on the last card only when its widget is not locked
    (its name starts with 锁); otherwise the sender's widgets are listed, numbered."""
    from demo_a.hooks import _get_widget
    from demo_a.models import Widget
    from sqlalchemy import select as sa_select

    def handler(ctx, call):
        def candidates():
            rows = db.session.scalars(ctx.scoped(sa_select(Widget), Widget)
                                      .where(~Widget.name.startswith("锁"))
                                      .order_by(Widget.id.desc()))
            return [(w.id, f"W-{w.id} {w.name}") for w in rows]

        widget, name = call.resolve(lambda value: _get_widget(ctx, value),
                                    usable=lambda w: not w.name.startswith("锁"),
                                    candidates=candidates, empty="您没有可改名的小部件。")
        widget.name = name
        return f"已改名：W-{widget.id} {name}"

    add_command("选名", handler, permission="demo_a.widget.read", model="demo_a_widget",
                reference="W-")


@pytest.mark.usefixtures("choose_command")
def test_bare_command_on_a_usable_last_card_acts_on_it(sales):
    widget_id = say("#小部件 甲").card.record[1]
    assert say("#选名 甲二").text == f"已改名：W-{widget_id} 甲二"


@pytest.mark.usefixtures("choose_command")
def test_bare_command_lists_candidates_and_the_number_answers(sales, bot_user):
    first = say("#小部件 甲").card.record[1]
    second = say("#小部件 乙").card.record[1]
    bot_user("sales", wecom_userid="lisi")
    locked = say("#小部件 锁定的", userid="lisi").card.record[1]  # lisi's card is the last
    reply = say("#选名 新名字").text
    assert reply.splitlines() == [
        "请选择要操作的记录，回复编号即可（例如“1”或“#选名 1”）：",
        f"1. W-{second} 乙",
        f"2. W-{first} 甲",
    ]
    assert say("2").text == f"已改名：W-{first} 新名字"  # the text typed the first time
    assert "请发送以 # 开头的命令" in say("2").text  # the list is used up
    say("#选名 再改")
    assert say("#选名 1 乙二").text == f"已改名：W-{second} 乙二"  # number and new text
    names = {wid: name for wid, name, _o in widgets()}
    assert names == {first: "新名字", second: "乙二", locked: "锁定的"}


@pytest.mark.usefixtures("choose_command")
def test_the_list_is_the_senders_own_and_per_chat(sales, bot_user):
    say("#小部件 甲")
    say("#小部件 锁乙")
    bot_user("sales", wecom_userid="lisi")
    assert say("#选名 丙").text.startswith("请选择要操作的记录")
    assert "请发送以 # 开头的命令" in say("1", userid="lisi").text  # not lisi's list
    assert "请发送以 # 开头的命令" in say("1", chat="chat-2").text  # nor another chat's
    assert say("#选名 丙", userid="lisi").text == "您没有可改名的小部件。"


@pytest.mark.usefixtures("choose_command")
def test_a_refused_choice_keeps_the_list(sales):
    widget_id = say("#小部件 锁甲").card.record[1]
    other = say("#小部件 乙").card.record[1]
    say("#小部件 锁丙")
    assert say("#选名 丁").text.endswith(f"1. W-{other} 乙")
    assert "请发送以 # 开头的命令" in say("3").text  # out of range: not an answer
    assert say("1").text == f"已改名：W-{other} 丁"
    assert {wid: name for wid, name, _o in widgets()}[widget_id] == "锁甲"
