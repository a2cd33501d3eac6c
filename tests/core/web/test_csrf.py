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
