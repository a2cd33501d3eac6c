"""Issue 14 #8, #11, #12: sessions end when they must, login costs the same for every
username and is throttled per account, the cookie is Secure over HTTPS."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.security.models import ApiToken
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import base_config
from tests.conftest import login


def _copied_cookie(client, user):
    login(client, user)
    assert client.get("/").status_code == 200
    return client.get_cookie("session").value


def _with_cookie(app, value):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def test_a_session_cookie_copied_before_logout_no_longer_works(app_ctx, make_user):
    user = make_user("sales", username="copy")
    client = app_ctx.test_client()
    cookie = _copied_cookie(client, user)
    assert _with_cookie(app_ctx, cookie).get("/").status_code == 200
    client.post("/logout")
    assert _with_cookie(app_ctx, cookie).get("/").status_code == 302


def test_password_change_reset_disable_and_role_change_end_sessions(app_ctx, make_user):
    from core.security.services import issue_token
    from core.security.services import set_password
    from core.security.services import update_user

    admin = make_user("admin", username="boss")
    user = make_user("sales", username="victim")
    ctx = ServiceContext(actor=admin, source="web")
    changes = [
        lambda u: set_password(ctx, u, "another-pass-9"),
        lambda u: update_user(ctx, u, active=False),
        lambda u: update_user(ctx, u, roles=["sales", "engineer"]),
    ]
    for number, change in enumerate(changes):
        if number == 2:
            with unit_of_work(ctx):
                update_user(ctx, user, active=True)  # re-enabled: old sessions stay over
        client = app_ctx.test_client()
        cookie = _copied_cookie(client, user) if number == 0 else None
        if number == 0:
            with unit_of_work(ctx):
                raw = issue_token(ctx, user)
        else:
            password = "another-pass-9"
            client.post("/login", data={"username": "victim", "password": password})
            cookie = client.get_cookie("session").value
            assert _with_cookie(app_ctx, cookie).get("/").status_code == 200
        with unit_of_work(ctx):
            change(db.session.get(type(user), user.id))
        assert _with_cookie(app_ctx, cookie).get("/").status_code == 302, number
        if number == 0:  # a password change also revokes the API tokens
            token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
            assert token.revoked_at is not None
            assert app_ctx.test_client().get(
                "/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_saving_a_user_without_changes_keeps_his_sessions(app_ctx, make_user):
    from core.security.services import update_user

    admin = make_user("admin", username="boss2")
    user = make_user("sales", username="same")
    cookie = _copied_cookie(app_ctx.test_client(), user)
    ctx = ServiceContext(actor=admin, source="web")
    with unit_of_work(ctx):
        update_user(ctx, db.session.get(type(user), user.id), roles=["sales"],
                    display_name="新名字")
    assert _with_cookie(app_ctx, cookie).get("/").status_code == 200


def test_every_failed_login_spends_one_hash(app_ctx, make_user, monkeypatch):
    """Unknown, disabled and password-less users cost a hash like a wrong password."""
    import core.web.auth as auth
    from core.security.services import update_user

    make_user("sales", username="known")
    disabled = make_user("sales", username="gone")
    make_user("sales", username="nopass", password=None)
    with unit_of_work(ServiceContext.system("cli")) as _s:
        update_user(ServiceContext.system("cli"), db.session.get(type(disabled), disabled.id),
                    active=False)
    calls = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda *a: calls.append(a) or real(*a))
    client = app_ctx.test_client()
    for username in ("known", "unknown-user", "gone", "nopass"):
        calls.clear()
        page = client.post("/login", data={"username": username, "password": "wrong-pw-1"})
        assert page.status_code == 200 and "用户名或密码错误" in page.get_data(as_text=True)
        assert len(calls) == 1, username
    calls.clear()
    client.post("/login", data={"username": "gone", "password": "secret-pass-1"})
    assert len(calls) == 1 and client.get("/").status_code == 302  # disabled: refused


def test_login_is_throttled_per_account_across_addresses(app, make_user):
    from core.app import create_app
    from core.extensions import limiter

    make_user("sales", username="target2")
    limited = create_app(base_config(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path,
                                     RATELIMIT_ENABLED=True,
                                     TANDEM_LOGIN_RATE_LIMIT="100 per minute",
                                     TANDEM_LOGIN_ACCOUNT_RATE_LIMIT="3 per minute"))
    client = limited.test_client()
    try:
        codes = [client.post("/login", data={"username": "target2", "password": "wrong"},
                             environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code
                 for n in range(4)]
        assert codes == [200, 200, 200, 429]
        other = client.post("/login", data={"username": "someone", "password": "wrong"},
                            environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert other.status_code == 200
    finally:
        limiter.reset()
        limiter.enabled = False


def test_nul_in_the_login_form_is_a_400_not_a_500(client):
    for data in ({"username": "a\x00b", "password": "x"}, {"username": "a", "password": "\x00"}):
        assert client.post("/login", data=data).status_code == 400


def test_session_cookie_is_secure_over_https_and_proxies_are_trusted_only_when_configured(
        app, make_user):
    from core.app import create_app

    make_user("sales", username="tls")
    url, inst = app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path
    form = {"username": "tls", "password": "secret-pass-1"}
    direct = create_app(base_config(url, inst))
    over_https = direct.test_client().post("/login", data=form, base_url="https://tandem.example")
    assert "Secure" in over_https.headers["Set-Cookie"]
    plain = direct.test_client().post("/login", data=form, base_url="http://tandem.example")
    assert "Secure" not in plain.headers["Set-Cookie"]
    # Without configured proxies a forged X-Forwarded-Proto is ignored …
    forged = create_app(base_config(url, inst)).test_client().post(
        "/login", data=form, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in forged.headers["Set-Cookie"]
    # … behind one configured proxy it is believed.
    proxied = create_app(base_config(url, inst, TANDEM_PROXY_HOPS=1)).test_client().post(
        "/login", data=form, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in proxied.headers["Set-Cookie"]
    assert proxied.headers.get("Strict-Transport-Security")


def test_an_overlong_form_field_is_a_400(client):
    """Issue 14 #6: a text of megabytes is refused for every form, whatever its own limits."""
    response = client.post("/login", data={"username": "x" * 5_000_000, "password": "x"})
    assert response.status_code == 400
