"""Opportunity REST API: shapes (amounts as decimal strings), status PATCH with
``{"status", "reason"}``, 404 for what the caller may not see, 409, 422 naming the field,
quotes, follow-ups, claim, audit source ``api``, OpenAPI."""

from __future__ import annotations

from sqlalchemy import select

from core.audit import AuditLog
from core.extensions import db
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity


def test_create_get_list_and_status_patch(api, people):
    customer = make_customer(people["a"])
    created = api("a").post("/api/v1/opportunities", json={
        "customer_id": customer.id, "product_name": "配电柜", "quantity": 2,
        "estimated_amount": "67000.5", "source": "phone"})
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["estimated_amount"], body["status"], body["owner_id"]) == (
        "67000.50", "new", people["a"].id)
    assert body["number"] == f"OPP-{body['id']}" and body["current_quote"] is None
    oid = body["id"]
    assert api("a").get(f"/api/v1/opportunities/{oid}").json["product_name"] == "配电柜"
    moved = api("a").patch(f"/api/v1/opportunities/{oid}/status", json={"status": "contacted"})
    assert moved.status_code == 200 and moved.json["status"] == "contacted"
    lost = api("a").patch(f"/api/v1/opportunities/{oid}/status",
                          json={"status": "lost", "reason": "预算取消"})
    assert (lost.json["status"], lost.json["lost_reason"]) == ("lost", "预算取消")
    assert lost.json["stage_reached"] == "contacted" and lost.json["closed_at"]
    listing = api("a").get("/api/v1/opportunities?status=lost").json
    assert [o["id"] for o in listing["data"]] == [oid] and listing["meta"]["total"] == 1
    audit = db.session.scalars(select(AuditLog).where(AuditLog.model == "crm_opportunity"))
    assert {a.source for a in audit} == {"api"}


def test_errors_404_409_422(api, people):
    a_opp = make_opportunity(make_customer(people["a"]), people["a"])
    c_opp = make_opportunity(make_customer(people["c"]), people["c"])
    url = f"/api/v1/opportunities/{a_opp.id}/status"
    no_reason = api("a").patch(url, json={"status": "lost"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["error"]["fields"]
    bad = api("a").patch(url, json={"status": "closed"})
    assert bad.status_code == 422 and "status" in bad.json["error"]["fields"]
    extra = api("a").patch(url, json={"status": "contacted", "owner_id": 1})
    assert extra.status_code == 422 and "owner_id" in extra.json["error"]["fields"]
    refused = api("a").patch(url, json={"status": "won"})
    assert refused.status_code == 400 and "不能从“新建”变为“成交”" in refused.json["error"][
        "message"]
    for caller, oid in (("a", c_opp.id), ("manager", c_opp.id), ("c", a_opp.id)):
        hidden = api(caller).get(f"/api/v1/opportunities/{oid}")
        assert hidden.status_code == 404 and "中央空调" not in hidden.get_data(as_text=True)
        assert api(caller).patch(f"/api/v1/opportunities/{oid}/status",
                                 json={"status": "contacted"}).status_code == 404
    assert api("admin").get(f"/api/v1/opportunities/{c_opp.id}").status_code == 200
    other_customer = api("a").post("/api/v1/opportunities", json={
        "customer_id": make_customer(people["c"]).id, "product_name": "x"})
    assert other_customer.status_code == 422 and "customer_id" in other_customer.json["error"][
        "fields"]
    for field, value in (("estimated_amount", "十万"), ("quantity", 0), ("product_name", "")):
        bad = api("a").post("/api/v1/opportunities", json={
            "customer_id": a_opp.customer_id, "product_name": "x", field: value})
        assert bad.status_code == 422 and field in bad.json["error"]["fields"], bad.json
    unowned = make_opportunity(make_customer(people["a"]))
    assert api("b").post(f"/api/v1/opportunities/{unowned.id}/claim").json["owner_id"] == (
        people["b"].id)
    late = api("a").post(f"/api/v1/opportunities/{unowned.id}/claim")
    assert late.status_code == 409 and "已被" in late.json["error"]["message"]


def test_list_is_scoped_filtered_and_sorted(api, people):
    a, b, c = people["a"], people["b"], people["c"]
    make_opportunity(make_customer(a), a, estimated_amount="100")
    make_opportunity(make_customer(b), b, estimated_amount="300")
    make_opportunity(make_customer(c), c, estimated_amount="200")

    def amounts(who, query=""):
        return [o["estimated_amount"] for o in api(who).get(
            f"/api/v1/opportunities{query}").json["data"]]

    assert amounts("a") == ["100.00"]
    assert amounts("manager", "?sort=estimated_amount") == ["100.00", "300.00"]
    assert amounts("admin", "?sort=-estimated_amount") == ["300.00", "200.00", "100.00"]
    assert amounts("admin", "?estimated_amount__gte=150&sort=estimated_amount") == [
        "200.00", "300.00"]
    assert amounts("admin", f"?owner_id={c.id}") == ["200.00"]
    assert amounts("a", f"?owner_id={c.id}") == []
    assert api("a").get("/api/v1/opportunities?sort=secret").status_code == 400


def test_patch_quotes_and_follow_ups(api, people):
    opp = make_opportunity(make_customer(people["a"]), people["a"])
    url = f"/api/v1/opportunities/{opp.id}"
    patched = api("a").patch(url, json={"quantity": 12, "requirements": "机房改造"})
    assert (patched.json["quantity"], patched.json["requirements"]) == (12, "机房改造")
    assert api("a").patch(url, json={"status": "won"}).status_code == 422  # not here
    quote = api("a").post(f"{url}/quotes", json={"amount": "175000.00",
                                                  "valid_until": "2026-12-31"})
    assert quote.status_code == 201 and quote.json["amount"] == "175000.00"
    assert quote.json["is_current"] is True
    assert api("a").post(f"{url}/quotes", json={"amount": "0"}).status_code == 422
    follow = api("a").post(f"{url}/follow-ups", json={"content": "已发送方案", "channel": "wechat"})
    assert follow.status_code == 201 and follow.json["opportunity_id"] == opp.id
    body = api("a").get(url).json
    assert body["status"] == "quoted" and body["current_quote"]["amount"] == "175000.00"
    assert body["followed_up_at"] is not None
    assert api("c").post(f"{url}/quotes", json={"amount": "1"}).status_code == 404
    api("a").post(f"{url}/quotes", json={"amount": "168000.00"})  # now the current one
    unquoted = make_opportunity(make_customer(people["a"]), people["a"])
    listed = {o["id"]: o for o in api("a").get("/api/v1/opportunities").json["data"]}
    assert listed[opp.id]["current_quote"]["amount"] == "168000.00"
    assert listed[unquoted.id]["current_quote"] is None
    for oid, item in listed.items():  # the list's rows answer as one does, quoted or not
        one = api("a").get(f"/api/v1/opportunities/{oid}").json
        assert item == one and list(item) == list(one)  # and in the same order
    first = api("a").get("/api/v1/opportunities?per_page=1&sort=estimated_amount").json
    after = api("a").get(f"/api/v1/opportunities?per_page=1&sort=estimated_amount"
                         f"&cursor={first['meta']['next_cursor']}").json
    assert {first["data"][0]["id"], after["data"][0]["id"]} == set(listed)  # keyset pages
    assert after["meta"]["total"] == 2 and after["meta"]["next_cursor"] is None


def test_openapi_documents_the_opportunity_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/opportunities"])
    assert "patch" in paths["/api/v1/opportunities/{opportunity_id}/status"]
    assert "post" in paths["/api/v1/opportunities/{opportunity_id}/quotes"]
