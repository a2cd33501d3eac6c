"""A fake WeCom on loopback for tests and ``manage.py wecom simulate``.

It serves the API endpoints Tandem calls with the real request and response shapes and error
codes (expired token 42001, invalid token 40014, webhook rate limit 45009, partial
``invaliduser``), records every request and every message it delivers (``delivered``: after
``enable_duplicate_check`` dropped repeats, as WeCom does), can be told to fail for a while
(``fail_for``: an HTTP 5xx or an errcode such as 45009) or to hold its answer to a send
(``hold``: the message is delivered, the sender waits — to kill it mid-send), and its
:class:`CallbackDriver` posts encrypted callbacks to Tandem exactly as WeCom does
(signature, AES, XML or JSON, retries).
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections import defaultdict
from collections import deque
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import requests
from flask import Flask
from flask import jsonify
from flask import redirect
from flask import request
from werkzeug.serving import make_server

from modules.wecom.crypto import WeComCrypto

WEBHOOK_LIMIT_PER_MINUTE = 20


@dataclass
class FakeState:
    corp_id: str = "ww_fake_corp"
    secret: str = "fake-secret"
    users: set[str] = field(default_factory=set)  # known member userids; others → invaliduser
    external_contacts: dict[str, dict] = field(default_factory=dict)
    transfer_results: dict[str, int] = field(default_factory=dict)  # external_userid → status
    tokens: dict[str, float] = field(default_factory=dict)  # token → expiry
    requests: list[dict] = field(default_factory=list)
    webhook_times: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    expire_next_token: bool = False
    token_ttl: int = 7200
    # Web OAuth2: the member "inside the WeCom client" when it opens an authorize link, and
    # the single-use codes handed out (code → userid).
    oauth_user: str | None = None
    oauth_codes: dict[str, str] = field(default_factory=dict)
    # Pictures customers send to the official account, as WeChat's image CDN serves the
    # ``PicUrl`` of an image message: ``/mmbiz/<name>`` → bytes.
    pictures: dict[str, bytes] = field(default_factory=dict)
    # The official account's own API (cgi-bin/token, message/custom/send): its credentials,
    # and the followers who wrote more than 48 hours ago (a message to them: 45015).
    oa_app_id: str = "wx_fake_oa"
    oa_secret: str = "fake-oa-secret"
    oa_out_of_window: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Messages delivered to members or groups ({"path", "json", "at"}), repeats dropped.
    delivered: list[dict] = field(default_factory=list)
    # Faults: {"path", "until", "status", "errcode"}; the first active one answers a send.
    faults: list[dict] = field(default_factory=list)
    # While set to an Event not yet set, a send is delivered and its answer waits for it.
    hold: threading.Event | None = None
    sends_held: int = 0

    def received(self, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def delivered_to(self, path: str = "/cgi-bin/message/send") -> list[dict]:
        with self.lock:
            return [d["json"] for d in self.delivered if d["path"] == path]

    def fail_for(self, seconds: float, *, path: str = "/cgi-bin/message/send",
                 status: int = 200, errcode: int = 45009) -> None:
        """Answer sends to ``path`` for ``seconds`` with HTTP ``status`` (a 5xx: a gateway
        page, no JSON) or, with status 200, WeCom's ``errcode``."""
        with self.lock:
            self.faults.append({"path": path, "until": time.time() + seconds,
                                "status": status, "errcode": errcode})

    def _fault(self, path: str) -> dict | None:
        now = time.time()
        with self.lock:
            self.faults = [f for f in self.faults if f["until"] > now]
            return next((f for f in self.faults if f["path"] == path), None)

    def _deliver(self, path: str, body: dict) -> bool:
        """Keep a delivered message; False for a repeat WeCom's duplicate check drops
        (same member(s), same message, within ``duplicate_check_interval``)."""
        now = time.time()
        with self.lock:
            if body.get("enable_duplicate_check"):
                interval = int(body.get("duplicate_check_interval") or 1800)
                same = {k: v for k, v in body.items()
                        if k not in ("enable_duplicate_check", "duplicate_check_interval")}
                for earlier in self.delivered:
                    if earlier["path"] == path and earlier["at"] > now - interval and {
                            k: v for k, v in earlier["json"].items()
                            if k not in ("enable_duplicate_check",
                                         "duplicate_check_interval")} == same:
                        return False
            self.delivered.append({"path": path, "json": body, "at": now})
            return True


def _error(code: int, msg: str) -> Any:
    return jsonify({"errcode": code, "errmsg": msg})


def build_fake_app(state: FakeState) -> Flask:
    app = Flask("fake_wecom")
    counter = itertools.count(1)

    @app.before_request
    def _record() -> None:
        body = request.get_json(silent=True)
        with state.lock:
            state.requests.append(
                {"path": request.path, "args": dict(request.args), "json": body, "at": time.time()}
            )

    def _injected_fault() -> Any:
        fault = state._fault(request.path)
        if fault is None:
            return None
        if fault["status"] >= 500:
            return f"<html><body>{fault['status']} Bad Gateway</body></html>", fault["status"]
        return _error(fault["errcode"], "api freq out of limit" if fault["errcode"] == 45009
                      else "injected fault")

    def _held() -> None:
        hold = state.hold
        if hold is not None and not hold.is_set():
            with state.lock:
                state.sends_held += 1
            hold.wait(60)

    def _check_token() -> Any:
        token = request.args.get("access_token", "")
        expiry = state.tokens.get(token)
        if expiry is None:
            return _error(40014, "invalid access_token")
        if expiry < time.time():
            return _error(42001, "access_token expired")
        return None

    @app.get("/cgi-bin/gettoken")
    def gettoken() -> Any:
        if request.args.get("corpid") != state.corp_id:
            return _error(40013, "invalid corpid")
        if request.args.get("corpsecret") != state.secret:
            return _error(40001, "invalid credential")
        token = secrets.token_hex(16)
        ttl = -1 if state.expire_next_token else state.token_ttl
        state.expire_next_token = False
        state.tokens[token] = time.time() + ttl
        return jsonify(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": state.token_ttl}
        )

    @app.post("/cgi-bin/message/send")
    def message_send() -> Any:
        if (err := _injected_fault()) is not None:
            return err
        if (err := _check_token()) is not None:
            return err
        body = request.get_json(silent=True) or {}
        if "msgtype" not in body or body["msgtype"] not in body:
            return _error(40008, "invalid message type")
        state._deliver(request.path, body)
        _held()
        to = [u for u in str(body.get("touser", "")).split("|") if u]
        invalid = [u for u in to if state.users and u not in state.users and u != "@all"]
        n = next(counter)
        return jsonify(
            {
                "errcode": 0,
                "errmsg": "ok",
                "invaliduser": "|".join(invalid),
                "msgid": f"msg{n}",
                "response_code": f"rc{n}",
            }
        )

    @app.get("/cgi-bin/token")
    def oa_token() -> Any:
        """The official account's access token (AppID + AppSecret)."""
        if request.args.get("grant_type") != "client_credential":
            return _error(40002, "invalid grant_type")
        if request.args.get("appid") != state.oa_app_id:
            return _error(40013, "invalid appid")
        if request.args.get("secret") != state.oa_secret:
            return _error(40125, "invalid appsecret")
        token = secrets.token_hex(16)
        state.tokens[token] = time.time() + state.token_ttl
        return jsonify({"access_token": token, "expires_in": state.token_ttl})

    @app.post("/cgi-bin/message/custom/send")
    def oa_custom_send() -> Any:
        """A customer-service message to a follower of the official account."""
        if (err := _injected_fault()) is not None:
            return err
        if (err := _check_token()) is not None:
            return err
        body = request.get_json(silent=True) or {}
        if body.get("msgtype") not in body:
            return _error(40008, "invalid message type")
        if not body.get("touser"):
            return _error(40003, "invalid openid")
        if body["touser"] in state.oa_out_of_window:
            return _error(45015, "response out of time limit or subscription is canceled")
        state._deliver(request.path, body)
        return jsonify({"errcode": 0, "errmsg": "ok"})

    @app.post("/cgi-bin/message/update_template_card")
    def update_card() -> Any:
        if (err := _check_token()) is not None:
            return err
        body = request.get_json(silent=True) or {}
        if not body.get("response_code"):
            return _error(40058, "response_code missing")
        return jsonify({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    @app.post("/cgi-bin/webhook/send")
    def webhook_send() -> Any:
        if (err := _injected_fault()) is not None:
            return err
        key = request.args.get("key", "")
        if not key:
            return _error(93000, "invalid webhook url")
        now = time.time()
        window = state.webhook_times[key]
        while window and window[0] < now - 60:
            window.popleft()
        if len(window) >= WEBHOOK_LIMIT_PER_MINUTE:
            return _error(45009, "api freq out of limit")
        window.append(now)
        body = request.get_json(silent=True) or {}
        if body.get("msgtype") not in (
            "text",
            "markdown",
            "news",
            "template_card",
            "markdown_v2",
            "image",
            "file",
        ):
            return _error(40008, "invalid message type")
        state._deliver(request.path, body)
        _held()
        return jsonify({"errcode": 0, "errmsg": "ok"})

    @app.post("/cgi-bin/aibot/response")
    def aibot_response() -> Any:
        if not request.args.get("response_code"):
            return _error(40058, "response_code missing")
        return jsonify({"errcode": 0, "errmsg": "ok"})

    @app.get("/mmbiz/<name>")
    def picture(name: str) -> Any:
        if (err := _injected_fault()) is not None:  # e.g. fail_for(path=…, status=502)
            return err
        data = state.pictures.get(name)
        if data is None:
            return "not found", 404
        return app.response_class(data, mimetype="image/jpeg")

    @app.get("/connect/oauth2/authorize")
    def oauth_authorize() -> Any:
        """WeCom's web OAuth2 page: back to ``redirect_uri`` with a code for the member in
        the client (``state.oauth_user``); without one, back with no code (refused)."""
        from urllib.parse import urlencode

        if request.args.get("appid") != state.corp_id:
            return _error(40013, "invalid corpid")
        target = request.args.get("redirect_uri", "")
        params = {"state": request.args.get("state", "")}
        if state.oauth_user:
            code = f"oauth-{next(counter)}"
            with state.lock:
                state.oauth_codes[code] = state.oauth_user
            params["code"] = code
        return redirect(f"{target}{'&' if '?' in target else '?'}{urlencode(params)}")

    @app.get("/cgi-bin/auth/getuserinfo")
    def oauth_userinfo() -> Any:
        if (err := _check_token()) is not None:
            return err
        with state.lock:
            userid = state.oauth_codes.pop(request.args.get("code", ""), None)
        if userid is None:
            return _error(40029, "invalid code")
        return jsonify({"errcode": 0, "errmsg": "ok", "userid": userid})

    @app.get("/cgi-bin/externalcontact/get")
    def external_get() -> Any:
        if (err := _check_token()) is not None:
            return err
        contact = state.external_contacts.get(request.args.get("external_userid", ""))
        if contact is None:
            return _error(84061, "not external contact")
        return jsonify({"errcode": 0, "errmsg": "ok", **contact})

    @app.post("/cgi-bin/externalcontact/remark")
    def remark() -> Any:
        if (err := _check_token()) is not None:
            return err
        return jsonify({"errcode": 0, "errmsg": "ok"})

    @app.post("/cgi-bin/externalcontact/transfer_customer")
    def transfer_customer() -> Any:
        if (err := _check_token()) is not None:
            return err
        body = request.get_json(silent=True) or {}
        ids = body.get("external_userid") or []
        if len(ids) > 100:
            return _error(40058, "external_userid exceed max size 100")
        customers = []
        for ext in ids:
            if ext in state.external_contacts:
                state.transfer_results.setdefault(ext, 2)  # 2 = waiting to be taken over
                customers.append({"external_userid": ext, "errcode": 0})
            else:
                customers.append({"external_userid": ext, "errcode": 84061})
        return jsonify({"errcode": 0, "errmsg": "ok", "customer": customers})

    @app.post("/cgi-bin/externalcontact/transfer_result")
    def transfer_result() -> Any:
        if (err := _check_token()) is not None:
            return err
        customers = [
            {"external_userid": ext, "status": status, "takeover_time": int(time.time())}
            for ext, status in state.transfer_results.items()
        ]
        return jsonify({"errcode": 0, "errmsg": "ok", "customer": customers, "next_cursor": ""})

    return app


class FakeWeCom:
    """Run the fake on a free loopback port in a thread: ``with FakeWeCom() as fake:``."""

    def __init__(self, state: FakeState | None = None, port: int = 0) -> None:
        self.state = state or FakeState()
        self._server = make_server("127.0.0.1", port, build_fake_app(self.state), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FakeWeCom:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeWeCom:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class CallbackDriver:
    """Posts encrypted callbacks to a Tandem server the way WeCom does.

    ``post`` is any callable ``(method, url, params, body, headers) -> (status, text)``: a
    werkzeug test client wrapper in tests, ``requests`` against a running server otherwise.
    """

    def __init__(
        self,
        post: Any,
        app_crypto: WeComCrypto | None = None,
        bot_crypto: WeComCrypto | None = None,
    ) -> None:
        self._post = post
        self.app_crypto = app_crypto
        self.bot_crypto = bot_crypto

    @staticmethod
    def over_http(base_url: str) -> Any:
        def post(
            method: str, path: str, params: dict, body: str | None, headers: dict
        ) -> tuple[int, str]:
            response = requests.request(
                method, base_url + path, params=params, data=body, headers=headers, timeout=5
            )
            return response.status_code, response.text

        return post

    def _query(self, crypto: WeComCrypto, encrypted: str) -> dict:
        from modules.wecom.crypto import signature

        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
        return {
            "msg_signature": signature(crypto.token, timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
        }

    def verify_url(self, path: str, crypto: WeComCrypto, echo: str = "echo-1234") -> tuple:
        encrypted = crypto.encrypt(echo)
        params = {**self._query(crypto, encrypted), "echostr": encrypted}
        return self._post("GET", path, params, None, {})

    def app_event(
        self, fields: dict[str, Any], deliveries: int = 1, path: str = "/wecom/app/callback"
    ) -> list[tuple[int, str]]:
        """POST an XML message/event to the app callback, ``deliveries`` times (retries)."""
        crypto = self.app_crypto
        inner = (
            "<xml>"
            + "".join(
                f"<{k}><![CDATA[{v}]]></{k}>" if isinstance(v, str) else f"<{k}>{v}</{k}>"
                for k, v in fields.items()
            )
            + "</xml>"
        )
        encrypted = crypto.encrypt(inner)
        body = (
            f"<xml><ToUserName><![CDATA[{crypto.receive_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID>1000002</AgentID></xml>"
        )
        params = self._query(crypto, encrypted)
        return [
            self._post("POST", path, params, body, {"Content-Type": "text/xml"})
            for _ in range(deliveries)
        ]

    def bot_message(
        self, payload: dict[str, Any], deliveries: int = 1, path: str = "/wecom/bot/callback"
    ) -> list[tuple[int, str]]:
        """POST a JSON robot callback, ``deliveries`` times (WeCom re-posts on timeouts)."""
        crypto = self.bot_crypto
        encrypted = crypto.encrypt(json.dumps(payload, ensure_ascii=False))
        body = json.dumps({"encrypt": encrypted})
        params = self._query(crypto, encrypted)
        return [
            self._post("POST", path, params, body, {"Content-Type": "application/json"})
            for _ in range(deliveries)
        ]

    def decrypt_bot_reply(self, text: str) -> dict:
        reply = json.loads(text)
        self.bot_crypto.check_signature(
            reply["msgsignature"], str(reply["timestamp"]), reply["nonce"], reply["encrypt"]
        )
        return json.loads(self.bot_crypto.decrypt(reply["encrypt"]))
