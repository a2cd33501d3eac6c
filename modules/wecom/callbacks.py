"""Signed callback endpoints: self-built app (XML), intelligent robot (JSON).

Every request is verified (signature in constant time, strict padding, receive id) before
anything is parsed; a forged or tampered call answers 4xx and nothing is processed, a
malformed body 400, and nothing here answers 500.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Blueprint
from flask import Response
from flask import request
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError as PydanticError

from core.inputs import load_json
from core.security.access import public
from modules.wecom import inbound
from modules.wecom.config import load_config
from modules.wecom.crypto import CryptoError
from modules.wecom.crypto import WeComCrypto
from modules.wecom.crypto import parse_xml

log = logging.getLogger(__name__)

bp = Blueprint("wecom", __name__, url_prefix="/wecom")

BAD_SIGNATURE = {-40001, -40005, -40011}
# A signed request older or newer than this is refused: once its dedupe key has expired a
# captured request could otherwise be replayed (issue 14 #13).
MAX_CLOCK_SKEW = 300  # seconds


def _check_fresh(timestamp: str) -> None:
    """Refuse a callback whose signed timestamp is more than :data:`MAX_CLOCK_SKEW` away."""
    try:
        sent = int(timestamp)
    except ValueError as exc:
        raise CryptoError(-40011, "timestamp is not a number") from exc
    if abs(time.time() - sent) > MAX_CLOCK_SKEW:
        raise CryptoError(-40011, "timestamp outside the accepted window")


class _Text(BaseModel):
    model_config = ConfigDict(extra="allow")
    content: str = ""


class _Item(BaseModel):
    model_config = ConfigDict(extra="allow")
    msgtype: str | None = None
    text: _Text | None = None


class _Mixed(BaseModel):
    model_config = ConfigDict(extra="allow")
    msg_item: list[_Item] = []


class _From(BaseModel):
    model_config = ConfigDict(extra="allow")
    userid: str = ""


class _CardEvent(BaseModel):
    model_config = ConfigDict(extra="allow")
    event_key: str = ""
    task_id: str | None = None


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")
    eventtype: str | None = None
    template_card_event: _CardEvent | None = None


class BotPayload(BaseModel):
    """The fields of a robot message Tandem reads, with their types: a signed payload of
    another shape answers 400 instead of failing inside (issue 14 #6)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    msgid: str | None = Field(default=None, max_length=128)
    msgtype: str | None = Field(default=None, max_length=64)
    chatid: str | None = Field(default=None, max_length=128)
    chattype: str | None = Field(default=None, max_length=32)
    response_url: str | None = Field(default=None, max_length=2048)
    sender: _From | None = Field(default=None, alias="from")
    text: _Text | None = None
    voice: _Text | None = None
    mixed: _Mixed | None = None
    event: _Event | None = None


def _plain(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _refuse(exc: CryptoError) -> Response:
    status = 403 if exc.code in BAD_SIGNATURE else 400
    log.warning("wecom callback refused (%s): %s", exc.code, exc)
    return _plain(f"refused {exc.code}", status)


def _query() -> tuple[str, str, str]:
    args = request.args
    return args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", "")


def _verify_get(crypto: WeComCrypto) -> Response:
    sig, ts, nonce = _query()
    try:
        _check_fresh(ts)
        return _plain(crypto.verify_url(sig, ts, nonce, request.args.get("echostr", "")))
    except CryptoError as exc:
        return _refuse(exc)


@bp.route("/app/callback", methods=["GET", "POST"])
@public
def app_callback() -> Response:
    config = load_config()
    if not config.app_configured:
        return _plain("wecom app not configured", 404)
    crypto = WeComCrypto(config.app_token, config.app_aes_key, config.corp_id)
    if request.method == "GET":
        return _verify_get(crypto)
    sig, ts, nonce = _query()
    try:
        message = parse_xml(crypto.decrypt_xml(request.get_data(), sig, ts, nonce))
        _check_fresh(ts)
    except CryptoError as exc:
        return _refuse(exc)
    reply_xml = inbound.handle_app_message(message)
    if not reply_xml:
        return _plain("")
    body = crypto.encrypt_xml(reply_xml, nonce=nonce or str(int(time.time())))
    return Response(body, mimetype="text/xml")


@bp.route("/bot/callback", methods=["GET", "POST"])
@public
def bot_callback() -> Response:
    config = load_config()
    if not config.bot_configured:
        return _plain("wecom robot not configured", 404)
    crypto = WeComCrypto(config.bot_token, config.bot_aes_key, "")
    if request.method == "GET":
        return _verify_get(crypto)
    sig, ts, nonce = _query()
    try:
        plain = crypto.decrypt_json(request.get_data(), sig, ts, nonce)
        _check_fresh(ts)
        payload: Any = load_json(plain)
    except CryptoError as exc:
        return _refuse(exc)
    except ValueError:
        return _plain("message is not JSON", 400)
    if not isinstance(payload, dict):
        return _plain("message is not a JSON object", 400)
    try:
        BotPayload.model_validate(payload)
    except PydanticError:
        return _plain("message of an unexpected shape", 400)
    reply = inbound.handle_bot_message(payload)
    if reply is None:
        return _plain("")
    body = crypto.encrypt_json(
        json.dumps(reply, ensure_ascii=False), nonce=nonce or str(int(time.time()))
    )
    return Response(body, mimetype="application/json")


@bp.route("/oa/callback", methods=["GET", "POST"])
@public
def official_account_callback() -> Response:
    """The official account (服务号): plain or safe mode, parsed by wechatpy."""
    from wechatpy import create_reply
    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.exceptions import InvalidSignatureException
    from wechatpy.utils import check_signature

    config = load_config()
    if not config.oa_token:
        return _plain("official account not configured", 404)
    args = request.args
    try:
        check_signature(config.oa_token, args.get("signature", ""), args.get("timestamp", ""),
                        args.get("nonce", ""))
    except InvalidSignatureException:
        return _plain("refused -40001", 403)
    try:
        _check_fresh(args.get("timestamp", ""))
    except CryptoError as exc:
        return _refuse(exc)
    if request.method == "GET":
        return _plain(args.get("echostr", ""))
    body = request.get_data()
    safe_mode = args.get("encrypt_type") == "aes"
    if config.oa_aes_key and not safe_mode:
        # With a key configured only encrypted messages are taken: in plain mode a
        # captured signature, timestamp and nonce would authorise any body (issue 14 #3).
        return _plain("refused: encrypted messages only", 403)
    crypto = None
    try:
        if safe_mode:
            crypto = WeChatCrypto(config.oa_token, config.oa_aes_key, config.oa_app_id)
            body = crypto.decrypt_message(body, args.get("msg_signature", ""),
                                          args.get("timestamp", ""), args.get("nonce", ""))
        message = parse_message(body)
    except InvalidSignatureException:
        return _plain("refused -40001", 403)
    except Exception:  # noqa: BLE001 - wechatpy raises assorted errors for a malformed body
        return _plain("malformed message", 400)
    text = inbound.handle_official_account_message(message)
    if not text:
        return _plain("success")
    reply = create_reply(text, message).render()
    if crypto is not None:
        reply = crypto.encrypt_message(reply, args.get("nonce", ""), args.get("timestamp"))
    return Response(reply, mimetype="text/xml")
