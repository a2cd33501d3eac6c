from __future__ import annotations

import json

import core.commands  # noqa: F401  (adds the bot group to the CLI)
from core.cli import cli
from core.extensions import db


def run(app, *args):
    result = app.test_cli_runner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_bot_say_runs_a_message_by_userid_and_username(bot_ctx, bot_user):
    user = bot_user("sales", username="zs", wecom_userid="zhangsan")
    out = run(bot_ctx, "bot", "say", "--user", "zhangsan", "--chat", "g1", "#小部件 齿轮").output
    assert "**齿轮**" in out and "认领" in out  # the card, as markdown
    out = run(bot_ctx, "bot", "say", "--user", "zs", "--chat", "g1", "#改名", "飞轮").output
    assert out.startswith("已改名：W-") and "飞轮" in out
    table = db.metadata.tables["demo_a_widget"]
    assert db.session.execute(table.select()).one().owner_id == user.id


def test_bot_say_json_card_and_user_without_userid(bot_ctx, bot_user):
    bot_user("sales", username="nouid")
    out = run(bot_ctx, "bot", "say", "--user", "nouid", "--json", "#小部件 齿轮").output
    body = json.loads(out)
    assert body["msgtype"] == "template_card"
    assert body["template_card"]["card_type"] == "button_interaction"
    assert body["template_card"]["button_list"][0]["key"].startswith("demo_a.widget.claim:")


def test_bot_say_unknown_user_and_unknown_command(bot_ctx, bot_user):
    assert "尚未绑定" in run(bot_ctx, "bot", "say", "--user", "ghost", "#帮助").output
    bot_user("sales", wecom_userid="zhangsan")
    out = run(bot_ctx, "bot", "say", "--user", "zhangsan", "#乱码").output
    assert "没有“#乱码”这个命令" in out and "Traceback" not in out


def test_bot_click_and_commands(bot_ctx, bot_user):
    bot_user("sales", wecom_userid="zhangsan")
    out = run(bot_ctx, "bot", "say", "--user", "zhangsan", "--json", "--chat", "g", "#小部件 甲")
    card = json.loads(out.output)["template_card"]
    key, task = card["button_list"][0]["key"], card["task_id"]
    out = run(bot_ctx, "bot", "click", "--user", "zhangsan", "--chat", "g", "--task", task, key)
    assert "**甲**" in out.output
    listing = run(bot_ctx, "bot", "commands").output
    assert "#帮助" in listing and "#小部件" in listing and "demo_a.widget.create" in listing
    assert "demo_a.widget.claim" in listing
