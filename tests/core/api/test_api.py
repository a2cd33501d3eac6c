"""The API conventions: bearer tokens, JSON errors, lists, record rules, OpenAPI, core
endpoints (me, users, tokens) and the CLI token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import AuditLog
from core.extensions import db
from core.security.models import ApiToken
from core.security.models import User
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import cleaned_context
from tests.conftest import installed_app


@pytest.fixture(scope="module")
def api_app(databases: Any, instance_dir: Any) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["demo_a"]) as app:
        yield app


@pytest.fixture
def api(api_app: Any) -> Iterator[Any]:
    with cleaned_context(api_app) as app:
        yield app.test_client()


def user_with_token(*roles: str, username: str, **kwargs: Any) -> tuple[Any, dict]:
    from core.security.services import create_user
    from core.security.services import issue_token

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        user = create_user(ctx, username, roles=roles, **kwargs)
        token = issue_token(ctx, user)
    return user, {"Authorization": f"Bearer {token}"}


def add_widgets(rows: list[tuple[str, int | None]]) -> None:
    table = db.metadata.tables["demo_a_widget"]
    db.session.execute(table.insert(), [{"name": n, "owner_id": o} for n, o in rows])
    db.session.commit()


def assert_error(response: Any, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert error["code"] == code and error["message"] and isinstance(error["fields"], dict)
    return error


# --- authentication and permissions -----------------------------------------------------


def test_missing_wrong_and_revoked_tokens_are_401(api):
    for headers in ({}, {"Authorization": "Bearer tdm_wrong"}, {"Authorization": "Basic eDp5"}):
        response = api.get("/api/v1/me", headers=headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    user, headers = user_with_token("sales", username="s1")
    me = api.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.json["username"] == "s1" and me.json["roles"] == ["sales"]
    assert me.json["created_at"].endswith("+00:00")  # ISO 8601 with offset
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    assert db.session.get(ApiToken, token_id).last_used_at is not None
    assert api.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 204
    assert_error(api.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_token_of_a_deactivated_user_is_401(api):
    _admin, admin_headers = user_with_token("admin", username="root")
    user, headers = user_with_token("sales", username="s1")
    response = api.patch(f"/api/v1/users/{user.id}", headers=admin_headers, json={"active": False})
    assert response.status_code == 200 and response.json["active"] is False
    assert_error(api.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_permission_denied_is_403_json(api):
    _user, headers = user_with_token("engineer", username="e1")
    error = assert_error(api.get("/api/v1/widgets", headers=headers), 403, "forbidden")
    assert "demo_a.widget.read" in error["message"]
    assert_error(api.get("/api/v1/users", headers=headers), 403, "forbidden")


def test_tokens_create_list_and_revoke_only_own(api):
    _user, headers = user_with_token("sales", username="s1")
    other, other_headers = user_with_token("sales", username="s2")
    created = api.post("/api/v1/tokens", headers=headers, json={"label": "脚本"})
    assert created.status_code == 201
    token = created.json["token"]
    assert token.startswith("tdm_") and created.json["label"] == "脚本"
    new_headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=new_headers).json["username"] == "s1"
    listed = api.get("/api/v1/tokens", headers=headers).json["data"]
    assert [t["label"] for t in listed] == ["", "脚本"]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    # Another user's token is invisible: 404, and it keeps working.
    other_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == other.id))
    assert_error(api.delete(f"/api/v1/tokens/{other_id}", headers=headers), 404, "not_found")
    assert api.get("/api/v1/me", headers=other_headers).status_code == 200
    assert api.delete(f"/api/v1/tokens/{created.json['id']}", headers=headers).status_code == 204
    assert_error(api.get("/api/v1/me", headers=new_headers), 401, "unauthorized")


# --- errors -------------------------------------------------------------------------------


def test_invalid_fields_are_422_naming_each(api):
    admin, headers = user_with_token("admin", username="root")
    response = api.patch(
        f"/api/v1/users/{admin.id}",
        headers=headers,
        json={"display_name": "x" * 101, "colour": "red", "active": "maybe"},
    )
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {
        "display_name": "最多 100 个字符",
        "colour": "不支持的字段",
        "active": "必须是 true 或 false",
    }
    error = assert_error(
        api.post("/api/v1/users", headers=headers, json={}), 422, "validation_error"
    )
    assert error["fields"] == {"username": "必填"}
    error = assert_error(
        api.post("/api/v1/users", headers=headers, json=[1]), 422, "validation_error"
    )
    assert set(error["fields"]) == {"body"}


def test_a_service_error_rolls_the_request_back(api):
    _admin, headers = user_with_token("admin", username="root")
    response = api.post(
        "/api/v1/users", headers=headers, json={"username": "newbie", "roles": ["nope"]}
    )
    assert assert_error(response, 422, "validation_error")["fields"] == {
        "roles": "角色不存在：nope"
    }
    assert db.session.scalar(select(User.id).where(User.username == "newbie")) is None


def test_malformed_json_is_400(api):
    admin, headers = user_with_token("admin", username="root")
    response = api.patch(
        f"/api/v1/users/{admin.id}", headers=headers, data="{oops", content_type="application/json"
    )
    assert_error(response, 400, "invalid_json")


def test_unknown_record_route_and_method_are_json(api):
    _admin, headers = user_with_token("admin", username="root")
    assert_error(api.get("/api/v1/users/999999", headers=headers), 404, "not_found")
    assert_error(api.get("/api/v1/no-such-thing", headers=headers), 404, "not_found")
    assert_error(api.get("/api/v1/no-such-thing"), 404, "not_found")
    response = api.put("/api/v1/me", headers=headers, json={})
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    # Pages outside the API keep their HTML errors.
    page = api.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_duplicates_are_409_without_leaking(api):
    _admin, headers = user_with_token("admin", username="root")
    user_with_token("sales", username="s2", wecom_userid="taken", phone="13900000001")
    target, _ = user_with_token("sales", username="s3")
    response = api.patch(
        f"/api/v1/users/{target.id}", headers=headers, json={"wecom_userid": "taken"}
    )
    assert assert_error(response, 409, "conflict")["fields"] == {"wecom_userid": "已被绑定"}
    response = api.post("/api/v1/users", headers=headers, json={"username": "s2"})
    assert assert_error(response, 409, "conflict")["fields"] == {"username": "用户名已存在"}
    assert "13900000001" not in response.get_data(as_text=True)


def test_record_the_caller_may_not_see_is_404(api):
    owner, _ = user_with_token("sales", username="s1")
    _other, headers = user_with_token("sales", username="s2")
    add_widgets([("secret", owner.id)])
    widget_id = db.session.scalar(select(db.metadata.tables["demo_a_widget"].c.id))
    assert_error(api.get(f"/api/v1/widgets/{widget_id}", headers=headers), 404, "not_found")
    _admin, admin_headers = user_with_token("admin", username="root")
    assert api.get(f"/api/v1/widgets/{widget_id}", headers=admin_headers).json["name"] == "secret"


# --- users, audit ---------------------------------------------------------------------------


def test_create_and_patch_users_audited_with_source_api(api):
    admin, headers = user_with_token("admin", username="root")
    created = api.post(
        "/api/v1/users",
        headers=headers,
        json={"username": "  li  ", "display_name": "小李", "roles": ["sales"]},
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["username"] == "li" and body["roles"] == ["sales"] and body["active"] is True
    assert "password_hash" not in body
    patched = api.patch(
        f"/api/v1/users/{body['id']}",
        headers=headers,
        json={"display_name": "李工", "phone": "13800000000"},
    )
    assert patched.status_code == 200
    assert patched.json["display_name"] == "李工" and patched.json["email"] is None
    row = db.session.scalar(
        select(AuditLog).where(
            AuditLog.model == "core_user",
            AuditLog.action == "update",
            AuditLog.record_id == str(body["id"]),
        )
    )
    assert row.source == "api" and row.actor_id == admin.id
    assert row.changes["display_name"] == ["小李", "李工"]
    assert api.get(f"/api/v1/users/{body['id']}", headers=headers).json["phone"] == "13800000000"


def test_users_list_filters_and_query_model(api):
    _admin, headers = user_with_token("admin", username="root")
    user_with_token("sales", username="zhang", display_name="张三")
    user_with_token("engineer", username="wang", display_name="王五")
    listed = api.get("/api/v1/users?role=sales", headers=headers).json
    assert [u["username"] for u in listed["data"]] == ["zhang"]
    listed = api.get("/api/v1/users?q=王&sort=-username", headers=headers).json
    assert [u["username"] for u in listed["data"]] == ["wang"]
    listed = api.get("/api/v1/users?sort=-username", headers=headers).json
    assert [u["username"] for u in listed["data"]] == ["zhang", "wang", "root"]
    assert api.get("/api/v1/users?active=false", headers=headers).json["data"] == []
    error = assert_error(
        api.get("/api/v1/users?active=perhaps", headers=headers), 422, "validation_error"
    )
    assert error["fields"] == {"active": "必须是 true 或 false"}
    roles = api.get("/api/v1/roles", headers=headers).json["data"]
    assert {"code": "sales", "label": "销售", "module": "core"} in roles


# --- list conventions -----------------------------------------------------------------------


def test_list_pagination_sort_and_record_rules(api):
    owner, headers = user_with_token("sales", username="s1")
    other, _ = user_with_token("sales", username="s2")
    _admin, admin_headers = user_with_token("admin", username="root")
    add_widgets([(f"w{i}", owner.id) for i in range(5)] + [("theirs", other.id)])
    page = api.get("/api/v1/widgets?per_page=2&page=2&sort=-id", headers=headers).json
    assert [w["name"] for w in page["data"]] == ["w2", "w1"]
    assert page["meta"]["page"] == 2 and page["meta"]["per_page"] == 2
    assert page["meta"]["total"] == 5 and page["meta"]["total_capped"] is False
    assert page["meta"]["sort"] == "-id" and page["meta"]["next_cursor"]
    assert set(page["data"][0]) == {"id", "name", "owner_id"}
    last = api.get("/api/v1/widgets?per_page=2&page=3&sort=-id", headers=headers).json
    assert [w["name"] for w in last["data"]] == ["w0"] and last["meta"]["next_cursor"] is None
    # The total rides along with the rows; a page past the end, without rows, counts apart.
    beyond = api.get("/api/v1/widgets?per_page=2&page=9", headers=headers).json
    assert beyond["data"] == [] and beyond["meta"]["total"] == 5
    none = api.get("/api/v1/widgets?name=nothing", headers=headers).json
    assert none["data"] == [] and none["meta"]["total"] == 0
    everything = api.get("/api/v1/widgets?per_page=200", headers=admin_headers).json
    assert everything["meta"]["total"] == 6
    by_name = api.get("/api/v1/widgets?sort=-name", headers=admin_headers).json["data"]
    assert [w["name"] for w in by_name] == ["w4", "w3", "w2", "w1", "w0", "theirs"]
    for bad in ("owner_id;drop", "name desc", "-", "owner_id"):
        response = api.get(f"/api/v1/widgets?sort={bad}", headers=headers)
        assert_error(response, 400, "invalid_sort")
    error = assert_error(
        api.get("/api/v1/widgets?per_page=500", headers=headers), 422, "validation_error"
    )
    assert set(error["fields"]) == {"per_page"}
    assert_error(api.get("/api/v1/widgets?page=0", headers=headers), 422, "validation_error")


def test_list_filters_ranges_and_search(api):
    owner, _ = user_with_token("sales", username="s1")
    other, _ = user_with_token("sales", username="s2")
    _admin, headers = user_with_token("admin", username="root")
    add_widgets([("gear", owner.id), ("gear_box", other.id), ("gear%x", None), ("bolt", owner.id)])

    def names(query: str) -> list[str]:
        response = api.get(f"/api/v1/widgets?sort=name&{query}", headers=headers)
        assert response.status_code == 200, response.json
        return [w["name"] for w in response.json["data"]]

    assert names(f"owner_id={owner.id}") == ["bolt", "gear"]
    assert names(f"owner_id={owner.id}&owner_id={other.id}") == ["bolt", "gear", "gear_box"]
    assert names("name=gear") == ["gear"]
    assert names("q=GEAR") == ["gear", "gear%x", "gear_box"]
    assert names("q=r_") == ["gear_box"]  # LIKE wildcards are literal
    assert names("q=r%25") == ["gear%x"]
    ids = [w["id"] for w in api.get("/api/v1/widgets", headers=headers).json["data"]]
    assert names(f"id__gte={ids[1]}&id__lte={ids[2]}") == ["gear%x", "gear_box"]
    response = api.get("/api/v1/widgets?owner_id=x&id__gte=y", headers=headers)
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"owner_id": "必须是整数", "id__gte": "必须是整数"}


def test_cursor_pagination_walks_every_row_once(api):
    _admin, headers = user_with_token("admin", username="root")
    add_widgets([(name, None) for name in ("b", "a", "c", "a", "b", "d", "a")])
    for sort in ("id", "-id", "name", "-name,id", "name,-id"):
        seen, cursor = [], None
        while True:
            url = f"/api/v1/widgets?per_page=2&sort={sort}" + (
                f"&cursor={cursor}" if cursor else ""
            )
            body = api.get(url, headers=headers).json
            seen += [(w["name"], w["id"]) for w in body["data"]]
            cursor = body["meta"]["next_cursor"]
            if cursor is None:
                break
            assert body["meta"]["page"] in (1, None)
        offset_order = api.get(f"/api/v1/widgets?per_page=200&sort={sort}", headers=headers).json
        assert seen == [(w["name"], w["id"]) for w in offset_order["data"]], sort
    first = api.get("/api/v1/widgets?per_page=2&sort=name", headers=headers).json["meta"]
    response = api.get(f"/api/v1/widgets?sort=-name&cursor={first['next_cursor']}", headers=headers)
    assert_error(response, 400, "invalid_cursor")
    assert_error(api.get("/api/v1/widgets?cursor=!!!", headers=headers), 400, "invalid_cursor")


def test_count_is_capped(api, api_app, monkeypatch):
    _admin, headers = user_with_token("admin", username="root")
    add_widgets([(f"w{i}", None) for i in range(5)])
    monkeypatch.setitem(api_app.config, "TANDEM_COUNT_CAP", 3)
    meta = api.get("/api/v1/widgets?per_page=2", headers=headers).json["meta"]
    assert meta["total"] == 3 and meta["total_capped"] is True
    meta = api.get("/api/v1/widgets?per_page=2&page=5", headers=headers).json["meta"]
    assert meta["total"] == 3 and meta["total_capped"] is True  # counted apart, capped too


def test_listing_query_for_exports_and_paginate_shortcut_are_scoped(api, api_app):
    from demo_a.hooks import WIDGETS
    from demo_a.models import Widget

    from core.api import paginate

    owner, _ = user_with_token("sales", username="s1")
    other, _ = user_with_token("sales", username="s2")
    add_widgets([("mine-b", owner.id), ("mine-a", owner.id), ("theirs", other.id)])
    ctx = ServiceContext(actor=owner, source="api")
    with api_app.test_request_context("/api/v1/widgets?sort=name&q=mine"):
        exported = db.session.scalars(WIDGETS.query(ctx, select(Widget))).all()
        assert [w.name for w in exported] == ["mine-a", "mine-b"]
    with api_app.test_request_context("/x?sort=-name&per_page=1"):
        page = paginate(
            ctx,
            select(Widget),
            Widget,
            lambda w: w.name,
            sorts={"name": Widget.name},
            default_sort="name",
        )
    assert page["data"] == ["mine-b"] and page["meta"]["total"] == 2


# --- serialisation ----------------------------------------------------------------------------


def test_money_and_datetimes_travel_as_strings():
    from datetime import UTC
    from datetime import datetime
    from decimal import Decimal

    from core import api as core_api

    class Amount(core_api.ApiOut):
        amount: core_api.Money
        at: datetime

    dumped = core_api.jsonable(Amount(amount=Decimal("1234.5"), at=datetime(2025, 7, 17, 2)))
    assert dumped == {"amount": "1234.50", "at": "2025-07-17T02:00:00+00:00"}
    assert core_api.jsonable({"d": Decimal("0.10"), "t": datetime(2025, 1, 1, tzinfo=UTC)}) == {
        "d": "0.10",
        "t": "2025-01-01T00:00:00+00:00",
    }

    class AmountIn(core_api.ApiIn):
        amount: core_api.Money

    from core.api.schemas import validate
    from core.errors import ValidationError

    assert validate(AmountIn, {"amount": "12.30"}).amount == Decimal("12.30")
    with pytest.raises(ValidationError) as caught:
        validate(AmountIn, {"amount": "1.234"})
    assert caught.value.fields == {"amount": "最多 2 位小数"}
    schema = Amount.model_json_schema(mode="serialization")
    assert schema["properties"]["amount"]["type"] == "string"


def test_created_object_is_rendered_through_the_response_model(api):
    _user, headers = user_with_token("sales", username="s1")
    response = api.post("/api/v1/widgets", headers=headers, json={"name": "  齿轮 "})
    assert response.status_code == 201
    assert response.json["name"] == "齿轮" and response.json["owner_id"] == _user.id
    assert "齿轮" in response.get_data(as_text=True)  # UTF-8, not \\u escapes


# --- OpenAPI ----------------------------------------------------------------------------------


def test_openapi_document_is_valid_and_lists_every_api_route(api, api_app):
    from openapi_spec_validator import validate

    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    validate(document)
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    expected = set()
    for rule in api_app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                expected.add((path, method.lower()))
    assert expected and expected == documented
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    widgets = document["paths"]["/api/v1/widgets"]["get"]
    assert widgets["x-permission"] == "demo_a.widget.read"
    assert {p["name"] for p in widgets["parameters"]} >= {
        "page",
        "per_page",
        "cursor",
        "sort",
        "q",
        "owner_id",
        "id__gte",
        "id__lte",
    }
    ok = widgets["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["properties"]["data"]["items"] == {"$ref": "#/components/schemas/WidgetOut"}
    assert widgets["responses"]["403"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    patch = document["paths"]["/api/v1/users/{user_id}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/UserPatch"
    }
    assert {"404", "409", "422"} <= set(patch["responses"])
    users = document["paths"]["/api/v1/users"]["get"]
    assert "role" in {p["name"] for p in users["parameters"]}
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def test_docs_page_lists_operations(api):
    response = api.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "/api/v1/users/{user_id}" in text and "core.user.manage" in text


# --- CLI --------------------------------------------------------------------------------------


def test_cli_token_authenticates(api, api_app):
    import core.commands  # noqa: F401
    from core.cli import cli

    user_with_token("sales", username="cli-user")
    result = api_app.test_cli_runner().invoke(cli, ["users", "token", "cli-user"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["username"] == "cli-user"


def test_openapi_of_all_installed_modules_is_valid(client, app):
    from openapi_spec_validator import validate

    document = client.get("/api/v1/openapi.json").json
    validate(document)
    api_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]
    documented = sum(len(ops) for ops in document["paths"].values())
    assert documented == sum(len(r.methods - {"HEAD", "OPTIONS"}) for r in api_rules)


def test_database_conflicts_and_http_errors_inside_a_view_are_json(api, api_app):
    from flask import abort

    from core.api import api_view

    _user, headers = user_with_token("sales", username="s1")

    @api_view("authenticated")
    def duplicate(ctx):
        db.session.add_all([User(username="twin"), User(username="twin")])

    @api_view("authenticated")
    def too_large(ctx):
        abort(413)

    with api_app.test_request_context("/api/v1/x", headers=headers):
        response = duplicate()
    error = assert_error(response, 409, "conflict")
    assert "twin" not in response.get_data(as_text=True)
    assert db.session.scalar(select(User.id).where(User.username == "twin")) is None
    with api_app.test_request_context("/api/v1/x", headers=headers):
        assert_error(too_large(), 413, "too_large")
    assert error["fields"] == {}


# --- the token user's language -----------------------------------------------------------


def english_user_with_token(*roles: str, username: str) -> tuple[Any, dict]:
    user, headers = user_with_token(*roles, username=username)
    user.locale = "en"
    db.session.commit()
    return user, headers


def test_an_english_token_user_reads_validation_and_not_found_errors_in_english(api):
    admin, headers = english_user_with_token("admin", username="root")
    error = assert_error(api.post("/api/v1/users", headers=headers, json={}), 422,
                         "validation_error")
    assert error["message"] == "Invalid fields: username"
    assert error["fields"] == {"username": "Required"}
    response = api.patch(f"/api/v1/users/{admin.id}", headers=headers,
                         json={"display_name": "x" * 101, "colour": "red", "active": "maybe"})
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"display_name": "At most 100 characters",
                               "colour": "Field not allowed", "active": "Must be true or false"}
    error = assert_error(api.get("/api/v1/users/999999", headers=headers), 404, "not_found")
    assert error["message"] == "User not found"
    error = assert_error(api.get("/api/v1/no-such-thing", headers=headers), 404, "not_found")
    assert error["message"] == "No such endpoint or record"
    error = assert_error(api.get("/api/v1/no-such-thing"), 404, "not_found")
    assert error["message"] == "接口或记录不存在"
    error = assert_error(api.get("/api/v1/users?sort=nope", headers=headers), 400, "invalid_sort")
    assert error["message"].startswith("Unsupported sort: nope (available: ")
    # Without a known user (no token, a wrong one) the answer stays in the default Chinese.
    for wrong in ({}, {"Authorization": "Bearer tdm_wrong"}):
        error = assert_error(api.get("/api/v1/me", headers=wrong), 401, "unauthorized")
        assert error["message"] == "缺少、无效或已撤销的访问令牌"


def test_an_english_token_user_reads_service_errors_in_english(api):
    _admin, headers = english_user_with_token("admin", username="root")
    user_with_token("sales", username="s2", wecom_userid="taken")
    response = api.post("/api/v1/users", headers=headers, json={"username": "s2"})
    error = assert_error(response, 409, "conflict")
    assert error["message"] == "Username s2 already exists"
    assert error["fields"] == {"username": "Username already exists"}
    response = api.post("/api/v1/users", headers=headers,
                        json={"username": "newbie", "roles": ["nope"]})
    error = assert_error(response, 422, "validation_error")
    assert error["message"] == error["fields"]["roles"] == "Unknown roles: nope"
    _engineer, engineer_headers = english_user_with_token("engineer", username="e1")
    error = assert_error(api.get("/api/v1/users", headers=engineer_headers), 403, "forbidden")
    assert error["message"] == "Permission denied: requires “View users” (core.user.read)"
    # The same refusal for a Chinese user is unchanged.
    _chinese, chinese_headers = user_with_token("engineer", username="e2")
    error = assert_error(api.get("/api/v1/users", headers=chinese_headers), 403, "forbidden")
    assert error["message"] == "无权限：需要“查看用户”（core.user.read）"
