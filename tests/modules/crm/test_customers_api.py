"""Customer REST API: GET/POST/PATCH, 404 for others' records, 409 without leaking, 422 naming
the field, contacts and follow-ups, audit source ``api``."""

from __future__ import annotations

from sqlalchemy import select

from core.audit import AuditLog
from core.extensions import db
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import mobile
from tests.modules.crm.factories import tax_id


def test_requires_a_valid_token(client, people):
    assert client.get("/api/v1/customers").status_code == 401
    response = client.get("/api/v1/customers", headers={"Authorization": "Bearer tdm_nope"})
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_create_get_patch(api, people):
    response = api("a").post(
        "/api/v1/customers",
        json={
            "customer_name": "上海恒达机电有限公司",
            "customer_type": "enterprise",
            "tax_id": tax_id(901).lower(),
            "phone": "+86 139-0000-0901",
            "customer_level": "important",
            "tags": ["重点", "老客户"],
            "industry": "制造业",
        },
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["phone"] == "13900000901" and body["tax_id"] == tax_id(901)
    assert body["owner_id"] == people["a"].id and body["tags"] == ["重点", "老客户"]
    assert body["number"] == f"CUS-{body['id']:06d}" and body["status"] == "active"
    got = api("a").get(f"/api/v1/customers/{body['id']}").json
    assert got["customer_name"] == "上海恒达机电有限公司"
    assert api("a").get(f"/api/v1/customers/{body['number']}").json["id"] == body["id"]
    patched = api("a").patch(
        f"/api/v1/customers/{body['id']}", json={"customer_level": "normal", "address": "上海市"}
    )
    assert patched.status_code == 200
    assert patched.json["customer_level"] == "normal" and patched.json["industry"] == "制造业"
    sources = db.session.scalars(
        select(AuditLog.source).where(
            AuditLog.model == "crm_customer", AuditLog.record_id == str(body["id"])
        )
    ).all()
    assert sources == ["api", "api"]


def test_invalid_fields_answer_422_naming_them(api):
    response = api("a").post("/api/v1/customers", json={"customer_name": "张三", "phone": "12345"})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert "手机号格式不正确" in response.json["error"]["fields"]["phone"]
    response = api("a").post(
        "/api/v1/customers",
        json={"customer_name": "张三", "customer_level": "vip", "colour": "red"},
    )
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"customer_level", "colour"}
    response = api("a").post(
        "/api/v1/customers", json={"customer_type": "enterprise", "customer_name": "X公司"}
    )
    assert response.json["error"]["fields"] == {"tax_id": "企业客户必须填写统一社会信用代码"}
    response = api("a").post("/api/v1/customers", data="not json", content_type="application/json")
    assert response.status_code == 400


def test_others_customers_are_404(api, people):
    theirs = make_customer(people["c"], customer_name="丙的客户")
    for path in (
        f"/api/v1/customers/{theirs.id}",
        f"/api/v1/customers/{theirs.id}/contacts",
        f"/api/v1/customers/{theirs.id}/follow-ups",
        "/api/v1/customers/999999",
        "/api/v1/customers/abc",
        "/api/v1/customers/99999999999999",
    ):
        response = api("a").get(path)
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"
    assert (
        api("a").patch(f"/api/v1/customers/{theirs.id}", json={"industry": "x"}).status_code == 404
    )
    assert api("manager").get(f"/api/v1/customers/{theirs.id}").status_code == 404
    assert api("admin").get(f"/api/v1/customers/{theirs.id}").status_code == 200


def test_list_is_scoped_filtered_and_paginated(api, people):
    for i in range(3):
        make_customer(people["a"], customer_name=f"甲{i}", customer_level="important")
    make_customer(people["b"], customer_name="乙")
    make_customer(people["c"], customer_name="丙")
    make_customer(None, customer_name="公海")
    names = {c["customer_name"] for c in api("a").get("/api/v1/customers").json["data"]}
    assert names == {"甲0", "甲1", "甲2", "公海"}
    body = api("manager").get("/api/v1/customers?per_page=2&sort=customer_name").json
    assert body["meta"]["total"] == 5 and len(body["data"]) == 2
    assert [c["customer_name"] for c in body["data"]] == ["乙", "公海"]
    body = api("admin").get("/api/v1/customers?customer_level=important&q=甲").json
    assert body["meta"]["total"] == 3
    response = api("a").get("/api/v1/customers?sort=bogus")
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_sort"
    assert api("a").get("/api/v1/customers?owner_id=x").status_code == 422
    body = api("admin").get(f"/api/v1/customers?owner_id={people['b'].id}").json
    assert [c["customer_name"] for c in body["data"]] == ["乙"]


def test_duplicate_is_409_without_leaking(api, people):
    make_customer(people["c"], customer_name="丙的秘密客户", phone=mobile(902))
    response = api("a").post(
        "/api/v1/customers", json={"customer_name": "新", "phone": "139 0000 0902"}
    )
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "conflict" and "phone" in error["fields"]
    assert "丙的秘密客户" not in response.get_data(as_text=True)
    assert people["c"].username not in response.get_data(as_text=True)


def test_contacts_and_follow_ups(api, people):
    customer = make_customer(people["a"], customer_type="enterprise")
    url = f"/api/v1/customers/{customer.id}"
    response = api("a").post(
        f"{url}/contacts", json={"name": "王主任", "phone": "010-88886666", "is_primary": True}
    )
    assert response.status_code == 201 and response.json["phone"] == "01088886666"
    contact_id = response.json["id"]
    assert (
        api("a").patch(f"/api/v1/contacts/{contact_id}", json={"title": "采购"}).json["title"]
        == "采购"
    )
    assert [c["name"] for c in api("a").get(f"{url}/contacts").json["data"]] == ["王主任"]
    assert api("b").patch(f"/api/v1/contacts/{contact_id}", json={"title": "x"}).status_code == 404
    response = api("a").post(f"{url}/follow-ups", json={"content": "电话沟通", "channel": "phone"})
    assert response.status_code == 201
    got = api("a").get(url).json
    assert got["last_follow_up"] == response.json["follow_up_at"]
    response = api("a").post(f"{url}/follow-ups", json={"content": ""})
    assert response.status_code == 422 and "content" in response.json["error"]["fields"]
    assert len(api("a").get(f"{url}/follow-ups").json["data"]) == 1
    assert api("a").delete(f"/api/v1/contacts/{contact_id}").status_code == 204


def test_sales_cannot_edit_pool_customers_through_the_api(api):
    pooled = make_customer(None)
    assert api("a").get(f"/api/v1/customers/{pooled.id}").status_code == 200
    response = api("a").patch(f"/api/v1/customers/{pooled.id}", json={"industry": "x"})
    assert response.status_code == 403 and "公海" in response.json["error"]["message"]


def test_openapi_documents_the_customer_endpoints(client):
    doc = client.get("/api/v1/openapi.json").json
    paths = doc["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/customers"])
    assert {"get", "patch"} <= set(paths["/api/v1/customers/{customer_id}"])
    assert {"get", "post"} <= set(paths["/api/v1/customers/{customer_id}/follow-ups"])
    create = paths["/api/v1/customers"]["post"]
    assert create["x-permission"] == "crm.customer.create" and "409" in create["responses"]
    schema = doc["components"]["schemas"]["CustomerCreate"]
    assert {"customer_name", "customer_type", "phone", "tax_id"} <= set(schema["properties"])


def test_a_listed_customer_is_answered_as_its_own_get(api, people):
    """The list and the single GET write a customer the same way (fields hidden from the
    caller included), in the same field order."""
    from core.services import ServiceContext
    from core.services import unit_of_work
    from core.settings import set_setting

    make_customer(people["a"], customer_name="甲", tags="老客户,重点")
    make_customer(None, customer_name="公海", phone=mobile(903), industry="医疗")
    with unit_of_work(ServiceContext.system()):
        set_setting("pool.hidden_fields", ["phone", "industry"])
    listed = api("a").get("/api/v1/customers").json["data"]
    assert {c["customer_name"] for c in listed} == {"甲", "公海"}
    for item in listed:
        single = api("a").get(f"/api/v1/customers/{item['id']}").json
        assert list(item.items()) == list(single.items())
    pooled = next(c for c in listed if c["customer_name"] == "公海")
    assert pooled["phone"] is None and pooled["hidden_fields"] == ["industry", "phone"]
