"""Login rate limit, security headers, hashed passwords and tokens, safe redirects."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.security.models import ApiToken
from core.security.models import User
from tests.conftest import base_config


def test_login_attempts_are_rate_limited(app, make_user):
    from core.app import create_app

    make_user("sales", username="target")
    limited = create_app(base_config(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path,
                                     RATELIMIT_ENABLED=True,
                                     TANDEM_LOGIN_RATE_LIMIT="3 per minute"))
    from core.extensions import limiter

    client = limited.test_client()
    try:
        codes = [client.post("/login", data={"username": "target", "password": "wrong"})
                 .status_code for _ in range(4)]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429
        assert "登录尝试过于频繁" in client.post("/login", data={}).get_data(as_text=True)
    finally:
        # Flask-Limiter keeps one switch and one storage for the process: restore them.
        limiter.reset()
        limiter.enabled = False


def test_security_headers(client):
    headers = client.get("/login").headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "same-origin"


def test_passwords_and_tokens_are_stored_hashed(app_ctx, make_user):
    from core.security.services import issue_token
    from core.services import ServiceContext
    from core.services import unit_of_work

    user = make_user("sales", username="hashy", password="plain-text-pw")
    stored = db.session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("$argon2id$") and "plain-text-pw" not in stored
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        raw = issue_token(ctx, user)
    token = db.session.scalar(select(ApiToken))
    assert raw not in (token.token_hash, token.prefix) and len(token.token_hash) == 64


def test_login_redirect_stays_on_this_site(client, make_user):
    make_user("sales", username="r1")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post(f"/login?next={target}",
                               data={"username": "r1", "password": "secret-pass-1"})
        assert response.headers["Location"] == "/"
        client.post("/logout")


def test_session_cookie_is_http_only(client, make_user):
    make_user("sales", username="c1")
    response = client.post("/login", data={"username": "c1", "password": "secret-pass-1"})
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_an_unchanged_session_cookie_is_refreshed_once_a_minute_not_on_every_page(
        client, make_user, monkeypatch):
    """The session's expiry slides (its cookie is signed and sent again) at most once a
    minute; a change to the session is sent at once; a tampered cookie is refused."""
    from datetime import UTC
    from datetime import datetime
    from datetime import timedelta

    import itsdangerous

    make_user("sales", username="slide")
    login = client.post("/login", data={"username": "slide", "password": "secret-pass-1"})
    assert "session=" in login.headers.get("Set-Cookie", "")

    client.get("/")  # the first page stores the form token (CSRF) in the session
    page = client.get("/")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers

    # A minute later (the cookie's signature carries its time) the cookie is sent again.
    later = datetime.now(UTC) + timedelta(minutes=1, seconds=5)
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp",
                        lambda self: int(later.timestamp()))
    monkeypatch.setattr("core.web.sessions.datetime", _Clock(later))
    refreshed = client.get("/")
    assert refreshed.status_code == 200 and "session=" in refreshed.headers["Set-Cookie"]
    assert "Set-Cookie" not in client.get("/").headers  # signed just now

    # A changed session is sent at once (switching the language stores it in the session).
    switched = client.post("/locale/en", data={"next": "/"})
    assert "session=" in switched.headers.get("Set-Cookie", "")

    client.set_cookie("session", "tampered.value.sig")
    assert client.get("/").status_code == 302  # to the login page


class _Clock:
    """``datetime`` whose ``now`` answers a fixed time."""

    def __init__(self, now):
        self._now = now

    def now(self, tz=None):
        return self._now
