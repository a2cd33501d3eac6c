"""Issue 14 #5/#6, the class guard: no input makes any API endpoint or list filter answer 500.

Every operation of ``/api/v1/openapi.json`` (so an endpoint added later is covered without
editing this file) is called by hypothesis with bad values in its path ids, each declared
query parameter and each field of its JSON body, as an admin. Runs on SQLite and PostgreSQL
(``TANDEM_TEST_DB``); bounded (a few examples an operation, no deadline)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.extensions import db
from core.security.models import ApiToken
from core.security.services import issue_token
from core.services import ServiceContext
from core.services import unit_of_work
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity

BAD_TEXT = [
    "\x00", "a\x00b", "sNaN", "NaN", "-Infinity", "1e999", "²", "١٢٣", "0x10", " 1 ",
    "9999-12-31", "0001-01-01", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
    "2024-02-30", "x" * 5000, "'; DROP TABLE x; --", "%", "\\", "\ud7ff", "=1+1",
]
BAD_INTS = [2**31, 2**31 - 1, -(2**31) - 1, 2**63, 2**63 - 1, -(2**63) - 1, 2**64, 10**30, -1, 0]
BAD_JSON: list[Any] = [
    *BAD_TEXT, *BAD_INTS, True, False, None, 1.5, float("1e308"), [], {}, [1], {"a": 1},
    [[[[[]]]]], "x" * 100_000,
]
PATH_BAD = ["²", "2147483648", "9223372036854775808", "99999999999999999999", "0", "-1",
            "%00", "1%00", "١"]

query_value = st.one_of(st.sampled_from(BAD_TEXT), st.sampled_from([str(i) for i in BAD_INTS]),
                        st.text(max_size=30))
json_value = st.one_of(st.sampled_from(BAD_JSON), st.integers(), st.text(max_size=30),
                       st.floats(allow_nan=False))


@pytest.fixture
def world(app_ctx: Any) -> Any:
    """An admin with a token and a customer, an opportunity, a contact, a spare user and a
    spare token to aim path ids at."""
    from core.security.services import create_user
    from modules.crm.services.contacts import add_contact

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        admin = create_user(ctx, "fuzz-admin", roles=["admin"])
        spare = create_user(ctx, "fuzz-spare", roles=["sales"])
        token = issue_token(ctx, admin)
        issue_token(ctx, spare)
    customer = make_customer(admin)
    opportunity = make_opportunity(customer, admin)
    with unit_of_work(ctx):
        contact = add_contact(ctx, customer.id, {"name": "联系人", "phone": "13900000000"})
    spare_token = db.session.scalar(
        select(ApiToken.id).where(ApiToken.user_id == spare.id))
    ids = {"customer_id": customer.id, "opportunity_id": opportunity.id,
           "contact_id": contact.id, "user_id": spare.id, "token_id": spare_token}
    doc = app_ctx.test_client().get("/api/v1/openapi.json").json
    return {"headers": {"Authorization": f"Bearer {token}"}, "ids": ids, "doc": doc}


def operations(doc: dict) -> list[tuple[str, str, dict]]:
    ops = []
    for path, items in doc["paths"].items():
        for method, op in items.items():
            if path.endswith(("/openapi.json", "/docs")):
                continue
            ops.append((method.upper(), path, op))
    return ops


def body_fields(doc: dict, op: dict) -> list[str]:
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = schema.get("schema", {}).get("$ref")
    if not ref:
        return []
    return list(doc["components"]["schemas"][ref.rsplit("/", 1)[1]].get("properties", {}))


def fill(path: str, ids: dict[str, int], bad: str | None = None) -> str:
    names = re.findall(r"{(\w+)}", path)
    for i, name in enumerate(names):
        value = bad if bad is not None and i == len(names) - 1 else str(ids.get(name, 1))
        path = path.replace("{" + name + "}", value)
    return path


FAILURES: list[str] = []


def call(client: Any, method: str, url: str, headers: dict, **kw: Any) -> Any:
    """Call, and note a 5xx (or an exception) with what caused it; each test asserts that
    none was noted, listing them all."""
    try:
        response = client.open(url, method=method, headers=headers, **kw)
    except Exception as exc:  # noqa: BLE001 - the guard reports every failure at once
        FAILURES.append(f"{method} {url} {str(kw)[:200]} raised {exc!r:.200}")
        db.session.rollback()
        return None
    if response.status_code >= 500:
        FAILURES.append(f"{method} {url} {str(kw)[:200]} → {response.status_code}")
    return response


@pytest.fixture(autouse=True)
def _no_failures() -> Any:
    FAILURES.clear()
    yield
    found = sorted(set(FAILURES))
    FAILURES.clear()
    assert not found, f"{len(found)} server errors:\n" + "\n".join(found[:60])


OPS_SETTINGS = settings(max_examples=12, deadline=None, database=None,
                        suppress_health_check=list(HealthCheck))


def fuzzer(client: Any, headers: dict, url: str, method: str, params: list[str],
           fields: list[str]) -> Any:
    @OPS_SETTINGS
    @given(st.data())
    def fuzz(data: Any) -> None:
        if params:
            name = data.draw(st.sampled_from(params))
            call(client, method, url, headers, query_string={name: data.draw(query_value)})
        if fields:
            name = data.draw(st.sampled_from(fields))
            call(client, method, url, headers, json={name: data.draw(json_value)})

    return fuzz


def test_no_server_error_for_bad_path_ids_query_values_and_bodies(app_ctx, world):
    client = app_ctx.test_client()
    headers, ids, doc = world["headers"], world["ids"], world["doc"]
    ops = operations(doc)
    assert len(ops) >= 25  # every module's endpoints are there
    for method, path, op in ops:
        if "{" in path:
            for bad in PATH_BAD:
                call(client, method, fill(path, ids, bad), headers, json={})
        params = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
        fields = body_fields(doc, op)

        fuzzer(client, headers, fill(path, ids), method, params, fields)()


SWEEP = ["\x00", "sNaN", "9999-12-31", "0001-01-01T00:00:00+14:00", 2**31, 2**63, -(2**63) - 1,
         True, [], {}, "x" * 100_000, 1.5]


def test_every_body_field_takes_the_worst_values_without_a_server_error(app_ctx, world):
    """Deterministic twin of the property test: each body field × the values that broke it."""
    client = app_ctx.test_client()
    headers, ids, doc = world["headers"], world["ids"], world["doc"]
    for method, path, op in operations(doc):
        for name in body_fields(doc, op):
            for value in SWEEP:
                call(client, method, fill(path, ids), headers, json={name: value})


def test_no_server_error_for_json_documents_of_the_wrong_shape(app_ctx, world):
    client = app_ctx.test_client()
    headers, ids = world["headers"], world["ids"]
    deep = "[" * 100_000 + "]" * 100_000
    for method, path, op in operations(world["doc"]):
        if "requestBody" not in op:
            continue
        url = fill(path, ids)
        for raw in (deep, '{"a":' * 50_000 + "1" + "}" * 50_000, "[]", "1", '"x"', "null",
                    "\xff\xfe", '{"x": "\\u0000"}'):
            call(client, method, url, headers, data=raw, content_type="application/json")


def test_created_at_range_filters_answer(app_ctx, world):
    """#5: every ``created_at__gte`` / ``__lte`` filter is read as a UTC datetime."""
    client = app_ctx.test_client()
    seen = 0
    for _method, path, op in operations(world["doc"]):
        params = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
        for name in params:
            if name.endswith(("__gte", "__lte")) and name.startswith("created_at"):
                url = fill(path, world["ids"])
                for value in ("2020-01-01", "2020-01-01T08:00:00+08:00", "2099-01-01T00:00:00"):
                    response = client.get(url, headers=world["headers"],
                                          query_string={name: value})
                    assert response.status_code == 200, response.get_data(as_text=True)
                seen += 1
    assert seen >= 4
    response = client.get("/api/v1/users", headers=world["headers"],
                          query_string={"created_at__gte": "2099-01-01"})
    assert response.json["data"] == []
    response = client.get("/api/v1/users", headers=world["headers"],
                          query_string={"created_at__lte": "2099-01-01"})
    assert len(response.json["data"]) >= 2


def test_unicode_digits_and_huge_ids_in_paths_are_404(app_ctx, world):
    client = app_ctx.test_client()
    for bad in ("²", "2147483648", "9223372036854775808"):
        response = client.get(f"/api/v1/customers/{bad}", headers=world["headers"])
        assert response.status_code == 404
        assert json.loads(response.data)["error"]["code"] == "not_found"
