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
