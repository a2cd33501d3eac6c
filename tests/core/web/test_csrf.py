"""CSRF on every form: each state-changing browser route refuses a POST without a token."""

from __future__ import annotations

import re

from core.security.access import view_access
from tests.conftest import base_config


def test_every_browser_post_route_needs_a_csrf_token(app):
    from core.app import create_app

    csrf_app = create_app(base_config(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path,
                                      WTF_CSRF_ENABLED=True))
    client = csrf_app.test_client()
    checked = []
    for rule in csrf_app.url_map.iter_rules():
        methods = rule.methods - {"GET", "HEAD", "OPTIONS"}
        view = csrf_app.view_functions[rule.endpoint]
        if not methods or rule.rule.startswith("/api/"):
            continue
        if view_access(view) == "public" and rule.rule.startswith("/wecom/"):
            continue  # signed by WeCom instead (see tests/modules/wecom)
        url = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        for method in methods:
            response = client.open(url, method=method, data={"x": "1"})
            assert response.status_code == 400, f"{method} {rule.rule}"
            assert b"CSRF" in response.data, f"{method} {rule.rule}"
            checked.append(rule.rule)
    assert "/login" in checked and "/logout" in checked


def test_a_form_with_its_token_goes_through(app, make_user):
    from core.app import create_app

    csrf_app = create_app(base_config(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path,
                                      WTF_CSRF_ENABLED=True))
    make_user("sales", username="csrf-user")
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": "csrf-user",
                                           "password": "secret-pass-1", "csrf_token": token})
    assert response.status_code == 302


def test_every_api_write_is_exempt_and_answers_401_without_a_token(app):
    """Issue 14 #4: bearer API writes are not refused by CSRF (core's blueprint included)."""
    from core.app import create_app

    csrf_app = create_app(base_config(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path,
                                      WTF_CSRF_ENABLED=True))
    client = csrf_app.test_client()
    checked = []
    for rule in csrf_app.url_map.iter_rules():
        methods = rule.methods - {"GET", "HEAD", "OPTIONS"}
        if not methods or not rule.rule.startswith("/api/v1/"):
            continue
        url = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        for method in methods:
            response = client.open(url, method=method, json={})
            assert response.status_code == 401, f"{method} {rule.rule}: {response.status_code}"
            checked.append((method, rule.rule))
    assert ("POST", "/api/v1/tokens") in checked
    assert ("DELETE", "/api/v1/tokens/<int:token_id>") in checked
    assert ("PATCH", "/api/v1/users/<int:user_id>") in checked


def test_a_bearer_token_can_create_and_revoke_tokens_with_csrf_on(app, make_user):
    from core.app import create_app
    from core.security.services import issue_token
    from core.services import ServiceContext
    from core.services import unit_of_work

    csrf_app = create_app(base_config(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path,
                                      WTF_CSRF_ENABLED=True))
    user = make_user("sales", username="csrf-api")
    ctx = ServiceContext(actor=user, source="cli")
    with unit_of_work(ctx):
        raw = issue_token(ctx, user)
    headers = {"Authorization": f"Bearer {raw}"}
    client = csrf_app.test_client()
    created = client.post("/api/v1/tokens", json={"label": "x"}, headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    gone = client.delete(f"/api/v1/tokens/{created.json['id']}", headers=headers)
    assert gone.status_code == 204
