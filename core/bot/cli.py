"""``manage.py bot say|click|commands``: try the bot from a terminal (the group is added to
``manage.py`` by :func:`core.cli.register_commands`)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from core import hooks
from core.bot.dispatcher import dispatch
from core.bot.dispatcher import dispatch_card_action
from core.bot.dispatcher import find_user
from core.bot.messages import CardReply
from core.bot.messages import IncomingMessage
from core.bot.messages import Reply
from core.extensions import db
from core.security.models import User
from core.services import ServiceContext


@click.group()
def bot() -> None:
    """The chat bot, without WeCom."""


def _sender(user: str) -> tuple[str, ServiceContext | None]:
    """A WeCom userid, or a username mapped to its user (also when it has no userid)."""

    if find_user(user) is not None:
        return user, None
    account = db.session.scalar(select(User).where(User.username == user))
    if account is None or not account.active:
        return user, None  # dispatched as an unknown WeCom user: the polite refusal
    if account.wecom_userid:
        return account.wecom_userid, None
    return user, ServiceContext(actor=account, source="bot", locale=account.locale or "zh_CN")


def _echo(reply: Reply, as_json: bool) -> None:
    if as_json and isinstance(reply, CardReply):
        click.echo(
            json.dumps(
                {"msgtype": "template_card", "template_card": reply.card.to_template_card()},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        click.echo(reply.to_text())


@bot.command("say")
@click.option("--user", "user", required=True, help="WeCom userid or username of the sender.")
@click.option("--chat", "chat", default=None, help="Chat id (group); default a single chat.")
@click.option("--json", "as_json", is_flag=True, help="Print cards as template_card JSON.")
@click.argument("text", nargs=-1, required=True)
@with_appcontext
def bot_say(user: str, chat: str | None, as_json: bool, text: tuple[str, ...]) -> None:
    """Run one message TEXT (e.g. "#跟进 OPP-1 已发方案") through the bot dispatcher."""
    userid, ctx = _sender(user)
    if ctx is not None:
        ctx.chat_id = chat
    message = IncomingMessage(
        text=" ".join(text),
        sender_userid=userid,
        chat_id=chat,
        chat_type="group" if chat else "single",
    )
    _echo(dispatch(message, ctx=ctx), as_json)


@bot.command("click")
@click.option("--user", "user", required=True, help="WeCom userid or username of the clicker.")
@click.option("--chat", "chat", default=None)
@click.option("--task", "task_id", default=None, help="The card's task_id.")
@click.option("--json", "as_json", is_flag=True, help="Print cards as template_card JSON.")
@click.argument("key")
@with_appcontext
def bot_click(user: str, chat: str | None, task_id: str | None, as_json: bool, key: str) -> None:
    """Click a card button whose key is KEY (e.g. "crm.opportunity.claim:1023")."""
    userid, ctx = _sender(user)
    if ctx is not None:
        ctx.chat_id = chat
    _echo(dispatch_card_action(userid, key, task_id=task_id, chat_id=chat, ctx=ctx), as_json)


@bot.command("commands")
@with_appcontext
def bot_commands() -> None:
    """List the registered chat commands and card actions."""
    registry = hooks.registry()
    seen: set[int] = set()
    for trigger, cmd in registry.bot_commands.items():
        if id(cmd) in seen:
            continue
        seen.add(id(cmd))
        aliases = "、".join(f"#{a.lstrip('#＃')}" for a in cmd.aliases)
        click.echo(
            f"#{trigger:<10} {registry.bot_command_owner.get(trigger, '-'):<10} "
            f"{cmd.permission or '-':<28} {cmd.usage or '#' + trigger}  {cmd.help}"
            + (f"（别名 {aliases}）" if aliases else "")
        )
    for key, action in registry.card_actions.items():
        click.echo(f"[按钮] {key:<30} {action.permission or '-':<28} {action.label}")
