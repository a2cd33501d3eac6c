"""Issue 14 #6 on the pages: non-finite and oversized numbers in forms, bad values in list
filters, NUL in a search, odd ids in paths: 4xx or the form again, never 500."""

from __future__ import annotations

from tests.conftest import login
from tests.modules.crm.factories import make_customer


def test_pages_answer_bad_input_without_a_server_error(client, people):
    c = make_customer(people["a"])
    login(client, people["a"])
    for v in ("sNaN", "NaN", "Infinity", "1e999", "-sNaN", "9" * 40):
        for url, data in (("/crm/opportunities/new", {"customer_id": c.id, "product_name": "x", "quantity": "1", "estimated_amount": v}),
                          ("/crm/opportunities/new", {"customer_id": c.id, "product_name": "x", "quantity": v, "estimated_amount": "1"}),
                          (f"/crm/customers/{c.id}/edit", {"customer_type": "individual", "customer_name": "n", "phone": "13900000000", "credit_limit": v, "customer_level": "normal"})):
            r = client.post(url, data=data)
            assert r.status_code < 500, (url, v, r.status_code)
    for q in ("/crm/customers/?q=%00", "/crm/opportunities/?estimated_amount__gte=sNaN", "/crm/opportunities/?created_at__gte=9999-12-31T23:59:59-14:00", "/crm/customers/?owner_id=99999999999", "/crm/opportunities/?owner_id=%C2%B2", "/admin/audit?from=0001-01-01", "/admin/audit?actor_id=99999999999", "/admin/audit?to=9999-12-31"):
        r = client.get(q)
        assert r.status_code < 500, (q, r.status_code)
    for path in ("/crm/customers/%C2%B2", "/crm/opportunities/99999999999",
                 "/crm/customers/9223372036854775808/edit"):
        assert client.get(path).status_code == 404, path
