"""Issue 14 #17 and the length half of #6, as class guards over ``/api/v1/openapi.json``:
every request field and query parameter declares its bounds, and ids and booleans are strict
(``{"owner_id": true}`` is not user 1, ``"unowned": 0`` is not false)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.security.services import issue_token
from core.services import ServiceContext
from core.services import unit_of_work


@pytest.fixture
def doc(client: Any) -> dict:
    return client.get("/api/v1/openapi.json").json


def _resolve(doc: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _leaves(doc: dict, schema: dict) -> list[dict]:
    schema = _resolve(doc, schema)
    found = []
    for branch in schema.get("anyOf", []) + schema.get("allOf", []) + schema.get("oneOf", []):
        found += _leaves(doc, branch)
    if "items" in schema:
        found += _leaves(doc, schema["items"])
    if schema.get("type") == "object" or "properties" in schema:
        for prop in schema.get("properties", {}).values():
            found += _leaves(doc, prop)
    if schema.get("type") in ("integer", "string", "number"):
        found.append(schema)
    return found


def _bodies(doc: dict) -> list[tuple[str, str, dict]]:
    found = []
    for path, items in doc["paths"].items():
        for method, op in items.items():
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            if content:
                found.append((method.upper(), path, _resolve(doc, content["schema"])))
    return found


def test_every_request_field_and_query_parameter_is_bounded(doc):
    unbounded = []
    for method, path, schema in _bodies(doc):
        for name, prop in schema.get("properties", {}).items():
            for leaf in _leaves(doc, prop):
                if leaf.get("enum") or leaf.get("pattern") or leaf.get("format") in (
                        "date", "date-time", "decimal"):
                    continue
                if leaf["type"] == "string" and "maxLength" not in leaf:
                    unbounded.append(f"{method} {path} body.{name}: no maxLength")
                if leaf["type"] == "number" and "pattern" not in str(prop):
                    unbounded.append(f"{method} {path} body.{name}: a bare number")
                if leaf["type"] == "integer" and not {"minimum", "maximum"} <= set(leaf):
                    unbounded.append(f"{method} {path} body.{name}: no minimum/maximum")
    for path, items in doc["paths"].items():
        for method, op in items.items():
            for param in op.get("parameters", []):
                schema = param["schema"]
                if schema.get("type") == "integer" and not {"minimum", "maximum"} <= set(schema):
                    unbounded.append(f"{method} {path} {param['in']}.{param['name']}: no range")
                if schema.get("type") == "string" and not (
                    schema.get("format") or schema.get("enum") or "maxLength" in schema
                ):
                    unbounded.append(f"{method} {path} {param['in']}.{param['name']}: no length")
    assert not unbounded, "\n".join(unbounded)
    users = doc["paths"]["/api/v1/users"]["get"]["parameters"]
    per_page = next(p for p in users if p["name"] == "per_page")["schema"]
    assert per_page["minimum"] == 1 and per_page["maximum"] == 200


def test_ids_and_booleans_are_strict_in_every_body(client, doc, make_user):
    """Sending ``true`` to an integer field or ``0`` to a boolean field is a 422 naming it."""
    admin = make_user("admin", username="strict-admin")
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        token = issue_token(ctx, admin)
    headers = {"Authorization": f"Bearer {token}"}
    checked = []
    for method, path, schema in _bodies(doc):
        url = re.sub(r"{\w+}", "1", path)
        for name, prop in schema.get("properties", {}).items():
            kinds = {leaf.get("type") for leaf in _leaves(doc, prop)} | {
                b.get("type") for b in _resolve(doc, prop).get("anyOf", [])}
            kinds.add(_resolve(doc, prop).get("type"))
            for kind, bad in (("integer", True), ("integer", "7"), ("integer", 7.0),
                              ("boolean", 0), ("boolean", "true")):
                if kind not in kinds:
                    continue
                response = client.open(url, method=method, headers=headers, json={name: bad})
                if response.status_code == 404:
                    continue  # the record was looked up first: nothing was read
                assert response.status_code == 422, (method, path, name, bad, response.json)
                assert name in response.json["error"]["fields"], (method, path, name, bad)
                checked.append((path, name))
    names = {name for _path, name in checked}
    assert {"team_id", "active"} <= names, names
