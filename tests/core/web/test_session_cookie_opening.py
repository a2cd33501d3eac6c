"""A session cookie already opened is not verified and decoded again (core.web.sessions),
and still answers as a freshly verified one would: its age is checked on every request,
another key or a changed cookie is verified anew, and a session holding a list is never
shared between requests."""

from __future__ import annotations

import time

from core.web import sessions
from tests.conftest import login


def _signed_in_cookie(app, make_user, username):
    client = app.test_client()
    login(client, make_user("sales", username=username))
    assert client.get("/").status_code == 200
    return client.get_cookie("session").value


def _home_with(app, cookie):
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/").status_code


def test_an_opened_cookie_is_kept_and_still_accepted(app_ctx, make_user):
    cookie = _signed_in_cookie(app_ctx, make_user, "kept")
    assert _home_with(app_ctx, cookie) == 200
    kept = app_ctx.extensions[sessions.OPENED_KEY]
    assert any(key[1] == cookie for key in kept)
    assert _home_with(app_ctx, cookie) == 200


def test_a_kept_cookie_expires_with_its_age(app_ctx, make_user, monkeypatch):
    cookie = _signed_in_cookie(app_ctx, make_user, "aged")
    assert _home_with(app_ctx, cookie) == 200
    lifetime = app_ctx.permanent_session_lifetime.total_seconds()
    now = time.time()
    monkeypatch.setattr(sessions.time, "time", lambda: now + lifetime + 5)
    assert _home_with(app_ctx, cookie) == 302
    monkeypatch.setattr(sessions.time, "time", lambda: now - 3600)  # signed in the future
    assert _home_with(app_ctx, cookie) == 302


def test_a_changed_cookie_or_another_key_is_verified_again(app_ctx, make_user, monkeypatch):
    cookie = _signed_in_cookie(app_ctx, make_user, "tampered")
    assert _home_with(app_ctx, cookie) == 200
    payload, signature = cookie.rsplit(".", 1)
    forged = f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert _home_with(app_ctx, forged) == 302
    monkeypatch.setattr(app_ctx, "secret_key", "another-secret-key-for-this-test")
    assert _home_with(app_ctx, cookie) == 302


def test_a_session_holding_a_list_is_not_kept(app_ctx):
    opened = ({"_flashes": [("message", "saved")]}, None)
    sessions._keep(app_ctx, "cookie-with-a-list", opened)
    assert sessions._opened(app_ctx, "cookie-with-a-list") is None
    sessions._keep(app_ctx, "cookie-of-scalars", ({"_user_id": "1", "_fresh": True}, None))
    assert sessions._opened(app_ctx, "cookie-of-scalars") is not None


def test_the_kept_cookies_are_bounded(app_ctx, monkeypatch):
    monkeypatch.setattr(sessions, "OPENED_MAX", 3)
    app_ctx.extensions.pop(sessions.OPENED_KEY, None)
    for number in range(7):
        sessions._keep(app_ctx, f"cookie-{number}", ({"n": number}, None))
    assert len(app_ctx.extensions[sessions.OPENED_KEY]) <= 3
    assert sessions._opened(app_ctx, "cookie-6") is not None
