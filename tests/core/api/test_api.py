"""The API conventions: bearer tokens, JSON errors, lists, record rules, OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import AuditLog
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import _clean
from tests.conftest import build_installed_app


@pytest.fixture(scope="module")
def api_app(databases: Any, instance_dir: Any) -> Iterator[Any]:
    app = build_installed_app(databases.new_url(), instance_dir, ["demo_a"])
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def api(api_app: Any) -> Iterator[Any]:
    with api_app.app_context():
        yield api_app.test_client()
        db.session.remove()
    _clean(api_app)


def user_with_token(*roles: str, username: str | None = None) -> tuple[Any, dict]:
    from core.security.services import create_user
    from core.security.services import issue_token

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        user = create_user(ctx, username or f"{roles[0]}-{len(roles)}", roles=roles)
        token = issue_token(ctx, user)
    return user, {"Authorization": f"Bearer {token}"}


def test_missing_wrong_and_revoked_tokens_are_401(api):
    assert api.get("/api/v1/me").status_code == 401
    response = api.get("/api/v1/me", headers={"Authorization": "Bearer tdm_wrong"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    user, headers = user_with_token("sales", username="s1")
    assert api.get("/api/v1/me", headers=headers).json["username"] == "s1"
    from core.security.models import ApiToken

    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    assert api.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 204
    assert api.get("/api/v1/me", headers=headers).status_code == 401


def test_permission_denied_is_403_json(api):
    _user, headers = user_with_token("engineer", username="e1")
    response = api.get("/api/v1/widgets", headers=headers)
    assert response.status_code == 403
    assert "无权限" in response.json["error"]["message"]


def test_invalid_fields_are_422_naming_each(api):
    admin, headers = user_with_token("admin", username="root")
    response = api.patch(
        f"/api/v1/users/{admin.id}",
        headers=headers,
        json={"display_name": "x" * 101, "colour": "red"},
    )
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"display_name", "colour"}


def test_malformed_json_is_400(api):
    admin, headers = user_with_token("admin", username="root")
    response = api.patch(
        f"/api/v1/users/{admin.id}", headers=headers, data="{oops", content_type="application/json"
    )
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid"


def test_unknown_record_and_route_are_404_json(api):
    _admin, headers = user_with_token("admin", username="root")
    assert api.get("/api/v1/users/999999", headers=headers).status_code == 404
    response = api.get("/api/v1/no-such-thing", headers=headers)
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_duplicate_is_409(api):
    _admin, headers = user_with_token("admin", username="root")
    other, _h = user_with_token("sales", username="s2")
    from core.security.services import update_user

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        update_user(ctx, other, wecom_userid="taken")
    admin2, _ = user_with_token("sales", username="s3")
    response = api.patch(
        f"/api/v1/users/{admin2.id}", headers=headers, json={"wecom_userid": "taken"}
    )
    assert response.status_code == 409
    assert response.json["error"]["fields"] == {"wecom_userid": "已被绑定"}


def test_patch_is_audited_with_source_api(api):
    admin, headers = user_with_token("admin", username="root")
    api.patch(f"/api/v1/users/{admin.id}", headers=headers, json={"display_name": "管理员甲"})
    row = db.session.scalar(
        select(AuditLog).where(AuditLog.model == "core_user", AuditLog.action == "update")
    )
    assert row.source == "api" and row.actor_id == admin.id
    assert row.changes["display_name"][1] == "管理员甲"


def test_list_conventions_and_record_rules(api):
    owner, headers = user_with_token("sales", username="s1")
    other, _ = user_with_token("sales", username="s2")
    _admin, admin_headers = user_with_token("admin", username="root")
    table = db.metadata.tables["demo_a_widget"]
    db.session.execute(
        table.insert(),
        [{"name": f"w{i}", "owner_id": owner.id} for i in range(5)]
        + [{"name": "theirs", "owner_id": other.id}],
    )
    db.session.commit()
    page = api.get("/api/v1/widgets?per_page=2&page=2&sort=-id", headers=headers).json
    assert page["meta"] == {
        "page": 2,
        "per_page": 2,
        "total": 5,
        "total_capped": False,
        "sort": "-id",
    }
    assert [w["name"] for w in page["data"]] == ["w2", "w1"]
    everything = api.get("/api/v1/widgets?per_page=200", headers=admin_headers).json
    assert everything["meta"]["total"] == 6
    bad = api.get("/api/v1/widgets?sort=owner_id;drop", headers=headers)
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_sort"
    assert api.get("/api/v1/widgets?per_page=500", headers=headers).status_code == 422


def test_openapi_document_is_valid_and_lists_every_api_route(api, api_app):
    from openapi_spec_validator import validate

    document = api.get("/api/v1/openapi.json").json
    validate(document)
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    for rule in api_app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method.lower()) in documented
    widgets = document["paths"]["/api/v1/widgets"]["get"]
    assert widgets["x-permission"] == "demo_a.widget.read"
    assert {p["name"] for p in widgets["parameters"]} >= {"page", "per_page", "sort"}


def test_cli_token_authenticates(api, api_app):
    import core.commands  # noqa: F401
    from core.cli import cli

    user_with_token("sales", username="cli-user")
    result = api_app.test_cli_runner().invoke(cli, ["users", "token", "cli-user"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["username"] == "cli-user"
