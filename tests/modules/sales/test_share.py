"""Read-only order links for outside WeCom: shown once, signed, expiring, revocable; the
page shows the order, the customer with a masked phone and the equipment — and the token
is never stored, audited or sent in a request line (it travels after ``#``)."""

from __future__ import annotations

import time

from itsdangerous import TimestampSigner
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from core.audit import AuditLog
from core.extensions import db
from modules.sales.services.sharing import SALT
from tests.conftest import login
from tests.modules.crm.factories import make_customer
from tests.modules.sales.factories import make_order


def _make_link(client, order):
    assert client.post(f"/sales/orders/{order.id}/share").status_code == 302
    page = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    start = page.index('id="share-link"')
    value = page[page.index('value="', start - 200) + 7:]
    link = value[:value.index('"')]
    assert "/p/order#" in link
    again = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert 'id="share-link"' not in again  # shown once
    return link.split("#", 1)[1]


def test_a_link_opens_a_read_only_view_with_a_masked_phone(client, app_ctx, people):
    customer = make_customer(people["a"], phone="13912345678")
    order = make_order(people["a"], customer=customer)
    login(client, people["a"])
    token = _make_link(client, order)
    outsider = app_ctx.test_client()
    assert "share.js" in outsider.get("/p/order").get_data(as_text=True)
    view = outsider.post("/p/order", data={"token": token})
    html = view.get_data(as_text=True)
    assert view.status_code == 200 and order.order_no in html
    assert "139****5678" in html and "13912345678" not in html
    assert "/sales/orders" not in html and "navbar" not in html
    logged = db.session.scalars(select(AuditLog.message)).all()
    assert all(token not in (m or "") for m in logged)
    assert any("生成只读链接" in (m or "") for m in logged)


def test_forged_revoked_and_expired_links_open_nothing(client, app_ctx, people):
    order = make_order(people["a"])
    login(client, people["a"])
    token = _make_link(client, order)
    outsider = app_ctx.test_client()
    assert outsider.post("/p/order", data={"token": token[:-3] + "abc"}).status_code == 404
    class EightDaysAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 8 * 86400

    stale = URLSafeTimedSerializer(app_ctx.secret_key, salt=SALT, signer=EightDaysAgo).dumps(
        {"o": order.id, "v": 0})
    assert outsider.post("/p/order", data={"token": stale}).status_code == 404
    assert outsider.post("/p/order", data={"token": token}).status_code == 200
    assert client.post(f"/sales/orders/{order.id}/share/revoke").status_code == 302
    assert outsider.post("/p/order", data={"token": token}).status_code == 404


def test_only_those_who_may_change_the_order_make_links(client, people):
    order = make_order(people["c"])
    login(client, people["a"])
    assert client.post(f"/sales/orders/{order.id}/share").status_code == 404


def test_the_link_shows_that_orders_tickets_without_internal_data(client, app_ctx, people):
    """Tickets come from ``service`` through sales' ``order_tickets`` hook: only the order's,
    no description or contacts, phone numbers masked."""
    from tests.modules.service.factories import make_ticket

    customer = make_customer(people["a"], phone="13912345678")
    order = make_order(people["a"], customer=customer)
    other = make_order(people["a"], customer=customer)
    mine = make_ticket(customer, people["a"], order_id=order.id,
                       subject="空调不制冷 回电13800001111", description="内部：客户难缠",
                       contact_name="王五", contact_phone="13700002222")
    theirs = make_ticket(customer, people["a"], order_id=other.id, subject="另一订单")
    login(client, people["a"])
    token = _make_link(client, order)
    html = app_ctx.test_client().post("/p/order", data={"token": token}).get_data(as_text=True)
    assert 'id="share-tickets"' in html and mine.ticket_no in html and "空调不制冷" in html
    assert "138****1111" in html and "13800001111" not in html
    assert theirs.ticket_no not in html and "另一订单" not in html
    assert "客户难缠" not in html and "王五" not in html and "13700002222" not in html
