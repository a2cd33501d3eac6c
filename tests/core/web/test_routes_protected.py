"""Every route is public on purpose or needs login and a permission: a new unprotected route
fails here, whatever module adds it."""

from __future__ import annotations

import re

import pytest

from core.security.access import view_access

# Static files only; everything else declares itself with @public or @requires / api_view.
ALLOWED_UNDECLARED = {"static", "bootstrap.static"}


def _undeclared(app):
    return sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in ALLOWED_UNDECLARED
        and view_access(app.view_functions[rule.endpoint]) is None
    )


def test_every_route_of_the_installed_modules_declares_its_access(app):
    assert _undeclared(app) == []


def test_every_route_of_the_fixture_modules_declares_its_access(make_app):
    assert _undeclared(make_app(modules=["demo_a", "demo_b", "demo_bridge"])) == []


def _sample_url(rule):
    return re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)


def test_protected_get_routes_send_anonymous_users_to_login(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        access = view_access(view)
        if access in (None, "public") or "GET" not in rule.methods:
            continue
        response = client.get(_sample_url(rule))
        if rule.rule.startswith("/api/"):
            assert response.status_code == 401, rule.rule
        else:
            assert response.status_code == 302, rule.rule
            assert "/login" in response.headers["Location"], rule.rule
        checked += 1
    assert checked > 5


@pytest.mark.parametrize("roles", [("engineer",), ("warehouse",)])
def test_admin_pages_are_forbidden_without_the_permission(app, client, login_as, roles):
    login_as(*roles)
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        access = view_access(view)
        if (rule.rule.startswith("/admin") and "GET" in rule.methods
                and access not in (None, "public", "authenticated")):
            assert client.get(_sample_url(rule)).status_code in (403, 404), rule.rule
