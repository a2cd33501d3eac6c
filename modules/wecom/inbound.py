"""What Tandem does with a decrypted, verified callback.

Messages go through the transport-free bot dispatcher (:mod:`core.bot`); each callback is
applied once (:mod:`modules.wecom.dedupe`); the reply is built in the protocol's passive
forms (robot: markdown ``stream`` or ``template_card``; app: XML text), and card updates
after an app card click go out through ``message/update_template_card``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from flask import current_app

from core import hooks
from core.bot import CardReply
from core.bot import IncomingMessage
from core.bot import Reply
from core.bot import dispatch
from core.bot import dispatch_card_action
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.wecom import dedupe
from modules.wecom.models import CallbackLog
from modules.wecom.models import ExternalContactEvent

log = logging.getLogger(__name__)

WELCOME = "您好，我是 Tandem 机器人。在群里 @我 并发送 #帮助 查看可用命令。"


def _log(
    channel: str,
    kind: str,
    key: str | None,
    sender: str | None,
    payload: dict,
    duplicate: bool = False,
) -> None:
    db.session.add(
        CallbackLog(
            channel=channel,
            kind=kind,
            dedupe_key=key,
            sender=sender,
            payload=payload,
            duplicate=duplicate,
        )
    )


def _record_duplicate(channel: str, kind: str, key: str, sender: str | None, payload: dict) -> None:
    db.session.rollback()
    with unit_of_work(ServiceContext.system("bot")):
        _log(channel, kind, key, sender, payload, duplicate=True)
    log.info("wecom: duplicate %s callback %s ignored", channel, key)


def _applied_once(
    channel: str,
    kind: str,
    key: str | None,
    sender: str | None,
    payload: dict,
    run: Callable[[ServiceContext], Any],
) -> Any:
    """Apply a callback once per dedupe ``key``; a repeat returns ``None``. Never raises.

    The callback owns one transaction: its log row, its dedupe key and the business change
    commit together. ``run(ctx)`` (the business part) runs in a nested unit of work, i.e. a
    savepoint: if it fails, only its work is rolled back; the log and the dedupe key still
    commit, so WeCom's retry of a failed callback is not applied again. The dispatcher turns
    a command's errors into its reply itself, so a refused command is answered once.
    With Redis the key is released when the transaction does not commit.
    """
    ctx = ServiceContext.system("bot")
    try:
        if key is None:
            with unit_of_work(ctx):
                _log(channel, kind, None, sender, payload)
                return _business(ctx, run, channel, key)
        with dedupe.once(key), unit_of_work(ctx):
            _log(channel, kind, key, sender, payload)
            return _business(ctx, run, channel, key)
    except dedupe.Duplicate:
        _record_duplicate(channel, kind, key, sender, payload)
        return None
    except Exception:
        log.exception("wecom: failed to handle %s callback %s", channel, key)
        db.session.rollback()
        return None


def _business(ctx: ServiceContext, run: Callable[[ServiceContext], Any], channel: str,
              key: str | None) -> Any:
    """``run(ctx)`` in a savepoint of the callback's transaction; ``None`` if it failed."""
    try:
        with unit_of_work(ctx):
            return run(ctx)
    except Exception:
        log.exception("wecom: %s callback %s failed; logged, not applied", channel, key)
        return None


# --------------------------------------------------------------------------- robot (JSON)
def _robot_text(payload: dict[str, Any]) -> str:
    kind = payload.get("msgtype")
    if kind == "text":
        return (payload.get("text") or {}).get("content", "")
    if kind == "voice":
        return (payload.get("voice") or {}).get("content", "")
    if kind == "mixed":
        items = (payload.get("mixed") or {}).get("msg_item") or []
        return " ".join(
            (i.get("text") or {}).get("content", "") for i in items if i.get("msgtype") == "text"
        )
    return ""


def robot_reply(reply: Reply) -> dict[str, Any]:
    """A dispatcher reply in the robot's passive reply forms."""
    if isinstance(reply, CardReply):
        return {"msgtype": "template_card", "template_card": reply.card.to_template_card()}
    content = reply.to_text()
    return {
        "msgtype": "stream",
        "stream": {"id": uuid.uuid4().hex, "finish": True, "content": content[:20000]},
    }


def handle_bot_message(payload: dict[str, Any]) -> dict | None:
    sender = ((payload.get("from") or {}).get("userid")) or ""
    msgid = payload.get("msgid")
    kind = payload.get("msgtype") or "unknown"
    key = f"bot:{msgid}" if msgid else None
    if kind == "event":
        event = payload.get("event") or {}
        eventtype = event.get("eventtype") or "unknown"
        if eventtype == "enter_chat":
            return {"msgtype": "text", "text": {"content": WELCOME}}
        if eventtype == "template_card_event":
            click = event.get("template_card_event") or {}

            def run_click(ctx: ServiceContext) -> dict:
                reply = dispatch_card_action(
                    sender, click.get("event_key", ""), click.get("task_id"), payload.get("chatid")
                )
                return _card_update(sender, reply)

            return _applied_once("bot", eventtype, key, sender, payload, run_click)
        _applied_once("bot", eventtype, key, sender, payload, lambda ctx: None)
        return None
    if kind == "stream":
        return None  # we always finish the stream in the first answer
    text = _robot_text(payload)

    def run(ctx: ServiceContext) -> dict:
        if payload.get("response_url") and _is_slow(text):
            # Answer within WeCom's 5 s at once; the job replies through response_url.
            from core import jobs

            jobs.enqueue("wecom.answer_later", payload)
            return {
                "msgtype": "stream",
                "stream": {
                    "id": uuid.uuid4().hex,
                    "finish": True,
                    "content": "收到，正在处理，稍后回复…",
                },
            }
        return robot_reply(dispatch(_robot_message(payload)))

    return _applied_once("bot", kind, key, sender, payload, run)


def _robot_message(payload: dict[str, Any]) -> IncomingMessage:
    sender = ((payload.get("from") or {}).get("userid")) or ""
    return IncomingMessage(
        text=_robot_text(payload),
        sender_userid=sender,
        chat_id=payload.get("chatid") or f"single:{sender}",
        chat_type="group" if payload.get("chattype") == "group" else "single",
        msg_id=payload.get("msgid"),
        raw=payload,
    )


def _is_slow(text: str) -> bool:
    """Commands registered with ``extra={"slow": True}`` run in a job."""
    from core.bot import parse_text

    parsed = parse_text(text)
    if parsed is None:
        return False
    command = hooks.registry().bot_commands.get(parsed.trigger)
    return bool(command and command.extra.get("slow"))


def answer_later(payload: dict[str, Any]) -> None:
    """Job: run a slow robot command and answer through the message's one-time
    ``response_url`` (markdown: response_url takes cards in single chats only)."""
    from modules.wecom.client import WeComClient

    reply = dispatch(_robot_message(payload))
    WeComClient().aibot_response(
        payload["response_url"], {"msgtype": "markdown", "markdown": {"content": reply.to_text()}}
    )


def _card_update(userid: str, reply: Reply) -> dict[str, Any]:
    from core.bot import Card

    if isinstance(reply, CardReply):
        card = reply.card
    else:  # a refusal or note: a text_notice card needs a card_action link
        card = Card(title=reply.to_text()[:120], url=current_app.config["TANDEM_BASE_URL"])
    return {
        "response_type": "update_template_card",
        "userids": [userid],
        "template_card": card.to_template_card(),
    }


# ----------------------------------------------------------------------------- app (XML)
def _xml_text_reply(to_user: str, content: str) -> str:
    from modules.wecom.config import load_config

    corp_id = load_config().corp_id
    return (
        f"<xml><ToUserName><![CDATA[{escape(to_user)}]]></ToUserName>"
        f"<FromUserName><![CDATA[{escape(corp_id)}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content.replace(']]>', ']]&gt;')}]]></Content></xml>"
    )


def handle_app_message(message: dict[str, str]) -> str | None:
    sender = message.get("FromUserName", "")
    kind = message.get("MsgType", "unknown")
    if kind == "event":
        event = message.get("Event", "unknown")
        if event == "template_card_event":
            key = f"app:card:{sender}:{message.get('CreateTime')}:{message.get('EventKey')}"
            update = _applied_once("app", event, key, sender, message,
                                   lambda ctx: _app_card_click(message))
            if update is not None:  # the change is committed: update the clicker's card
                _send_card_update(sender, *update)
            return None
        if event == "change_external_contact":
            key = "app:contact:" + ":".join(
                message.get(k, "") for k in ("ChangeType", "UserID", "ExternalUserID", "CreateTime")
            )
            _applied_once(
                "app",
                message.get("ChangeType", event),
                key,
                sender,
                message,
                lambda ctx: _external_contact_event(ctx, message),
            )
            return None
        key = f"app:event:{sender}:{message.get('CreateTime')}:{event}"
        _applied_once("app", event, key, sender, message, lambda ctx: None)
        return None
    if kind != "text":
        return None
    key = f"app:msg:{message.get('MsgId')}" if message.get("MsgId") else None

    def run(ctx: ServiceContext) -> str:
        reply = dispatch(
            IncomingMessage(
                text=message.get("Content", ""),
                sender_userid=sender,
                chat_id=f"app:{sender}",
                chat_type="single",
                msg_id=message.get("MsgId"),
                raw=message,
            )
        )
        return _xml_text_reply(sender, reply.to_text())

    return _applied_once("app", kind, key, sender, message, run)


def _app_card_click(message: dict[str, str]) -> tuple[str, dict] | None:
    """A button on an app card: same service call as the command. Returns the response
    code and the card to send the clicker through ``message/update_template_card`` once the
    callback's transaction has committed (``None`` without a response code)."""
    sender = message.get("FromUserName", "")
    reply = dispatch_card_action(sender, message.get("EventKey", ""), message.get("TaskId"))
    response_code = message.get("ResponseCode")
    if not response_code:
        return None
    return response_code, _card_update(sender, reply)["template_card"]


def _send_card_update(userid: str, response_code: str, template_card: dict) -> None:
    from modules.wecom.client import WeComAPIError
    from modules.wecom.client import WeComClient

    try:
        WeComClient().update_template_card([userid], response_code, template_card=template_card)
    except (WeComAPIError, OSError, ValueError):
        log.exception("wecom: update_template_card failed for %s", userid)


def _external_contact_event(ctx: ServiceContext, message: dict[str, str]) -> None:
    """Store the 客户联系 event as it came; bridges (e.g. wecom_crm) link it to customers."""
    event = ExternalContactEvent(
        change_type=message.get("ChangeType", ""),
        userid=message.get("UserID"),
        external_userid=message.get("ExternalUserID"),
        state=message.get("State"),
        detail=dict(message),
        note=message.get("FailReason"),
    )
    db.session.add(event)
    db.session.flush()
    hooks.call("wecom_external_contact_changed", event=dict(message, _event_id=event.id),
               ctx=ctx)


# ------------------------------------------------------------------ official account (XML)
def handle_official_account_message(message: Any) -> str | None:
    """Hand an official-account message to the bridges (e.g. phone binding); their first
    non-empty answer is the reply."""
    fields = {
        "type": getattr(message, "type", ""),
        "openid": getattr(message, "source", ""),
        "content": getattr(message, "content", "") or "",
        "msgid": str(getattr(message, "id", "") or ""),
        "event": getattr(message, "event", "") or "",
    }
    if fields["type"] == "image":  # the picture's address on WeChat's image CDN
        fields["pic_url"] = str(getattr(message, "image", "") or "")
        fields["media_id"] = str(getattr(message, "media_id", "") or "")
    key = f"oa:{fields['msgid']}" if fields["msgid"] not in ("", "0", "None") else None

    def run(ctx: ServiceContext) -> str | None:
        return hooks.call("wecom_official_account_message", message=fields, ctx=ctx)

    return _applied_once("oa", fields["type"] or "unknown", key, fields["openid"], fields, run)
