"""Bad input answers a clear 4xx (never a 500) on the order and equipment endpoints."""

from __future__ import annotations

from tests.conftest import login
from tests.modules.equipment.factories import installed_equipment
from tests.modules.sales.factories import line
from tests.modules.sales.factories import make_order


def test_api_bad_input_is_4xx(people, api):
    order = make_order(people["a"])
    unit = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    calls = [
        ("post", "/api/v1/orders", {"customer_id": 2**40, "lines": [line()]}),
        ("post", "/api/v1/orders", {"customer_id": 1, "lines": [line(unit_price="1e400")]}),
        ("post", "/api/v1/orders", {"customer_id": 1, "lines": [line(quantity=0)]}),
        ("post", "/api/v1/orders", {"customer_id": 1, "lines": "x"}),
        ("patch", f"/api/v1/orders/{order.id}", {"engineer_id": 2**31 + 5, "reason": "x"}),
        ("patch", f"/api/v1/orders/{order.id}", {"engineer_id": 999999, "reason": "x"}),
        ("patch", f"/api/v1/orders/{order.id}/status", {"status": "confirmed", "day": "x"}),
        ("post", f"/api/v1/orders/{order.id}/install", {"serials": [{"line_id": 0}]}),
        ("patch", f"/api/v1/equipment/{unit.id}", {"status": "broken"}),
        ("patch", f"/api/v1/equipment/{unit.id}", {"serial_number": ""}),
        ("post", f"/api/v1/equipment/{unit.id}/maintenance-records",
         {"work_description": "x", "maintenance_type": "magic"}),
        ("post", f"/api/v1/equipment/{unit.id}/maintenance-records",
         {"work_description": "x", "cost": "12.345"}),
    ]
    for method, url, body in calls:
        answer = getattr(api("a" if "orders" in url else "e"), method)(url, json=body)
        assert 400 <= answer.status_code < 500, (url, body, answer.status_code, answer.json)
    for query in ("customer_id=abc", "customer_id=99999999999", "due_before=2026-02-30",
                  "warranty=x", "page=-1", "sort=bogus"):
        answer = api("e").get(f"/api/v1/equipment?{query}")
        assert 400 <= answer.status_code < 500, (query, answer.status_code)
    assert api("a").get("/api/v1/orders/99999999999").status_code == 404


def test_pages_bad_input_is_4xx(client, people):
    order = make_order(people["a"])
    login(client, people["a"])
    assert client.post("/sales/orders/new", data={
        "customer_id": str(2**40), "line-0-product_name": "x", "line-0-unit_price": "1"
    }).status_code == 200
    assert client.post("/sales/orders/new", data={
        "customer_id": "1", "line-0-product_name": "x", "line-0-quantity": "99999999999999",
        "line-0-unit_price": "1"}).status_code == 200
    assert client.post(f"/sales/orders/{order.id}/status", data={"status": "nope"}
                       ).status_code == 302
    assert client.get("/sales/orders/99999999999").status_code == 404
    assert client.get("/equipment/?customer_id=99999999999").status_code == 200
    assert client.get("/equipment/?due_days=abc").status_code == 200
    assert client.get("/sales/calendar/?engineer_id=99999999999").status_code == 200
