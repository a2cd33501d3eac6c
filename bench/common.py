"""Shared set-up for benchmarks: an installed app on the given database and an API token."""

from __future__ import annotations

from typing import Any

from core.app import create_app
from core.extensions import db
from core.registry import installer
from core.services import ServiceContext
from core.services import unit_of_work


def installed_app(url: str, instance: str, modules: list[str], **config: Any) -> Any:
    base = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench",
        "REDIS_URL": None,
        "TANDEM_JOBS_EAGER": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        **config,
    }
    app = create_app(base)
    with app.app_context():
        installer.ensure_core()
        if modules:
            installer.install(modules)
    return create_app(base) if modules else app


def served_client(app: Any) -> Any:
    """A test client of ``app`` as the server runs it: through ``core.wsgi``'s entry point
    (the registry version is checked on every request)."""
    from werkzeug.test import Client

    from core.wsgi import TandemDispatcher

    return Client(TandemDispatcher(factory=lambda _config: app))


def admin_token(app: Any, username: str = "bench-admin") -> str:
    from core.security.services import create_user
    from core.security.services import issue_token

    with app.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            user = create_user(ctx, username, roles=["admin"], password="bench-password-1")
            token = issue_token(ctx, user)
        db.session.remove()
    return token


def signed_robot_request(crypto: Any, token: str, sender: str, text: str, msgid: str,
                         chatid: str = "g1") -> tuple[dict[str, str], str]:
    """A group message to the robot as WeCom posts it: the query (``msg_signature``,
    ``timestamp``, ``nonce``) and the JSON body, encrypted with ``crypto`` and signed with
    ``token``. One place for the benchmarks (Flask's test client) and the load test
    (locust's HTTP client)."""
    import json
    import time
    import uuid

    from modules.wecom.crypto import signature

    payload = {"msgid": msgid, "chatid": chatid, "chattype": "group",
               "from": {"userid": sender}, "msgtype": "text", "text": {"content": text}}
    encrypted = crypto.encrypt(json.dumps(payload, ensure_ascii=False))
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    query = {"msg_signature": signature(token, ts, nonce, encrypted), "timestamp": ts,
             "nonce": nonce}
    return query, json.dumps({"encrypt": encrypted})


def robot_callback(client: Any, crypto: Any, token: str, sender: str, text: str,
                   msgid: str) -> Any:
    """POST a group-robot message to ``/wecom/bot/callback`` as WeCom does (JSON, encrypted
    with ``crypto`` and signed with ``token``); the answer, checked to be a 200."""
    query, body = signed_robot_request(crypto, token, sender, text, msgid)
    response = client.post("/wecom/bot/callback", data=body, query_string=query)
    assert response.status_code == 200, response.data
    return response
