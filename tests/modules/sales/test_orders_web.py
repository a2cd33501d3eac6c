"""Order pages: list through the record rules, detail with status buttons by permission,
new order form, edit with a reason (modification shown), installation form with serials,
customer 360° section, workspace cards and the searcher."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.hooks import registry
from core.services import ServiceContext
from modules.equipment.models import Equipment
from modules.sales.models import Order
from tests.conftest import login
from tests.modules.crm.factories import make_customer
from tests.modules.equipment.factories import delivered_order
from tests.modules.sales.factories import advance
from tests.modules.sales.factories import make_order


def test_list_shows_only_visible_orders(client, people):
    mine, theirs = make_order(people["a"]), make_order(people["c"])
    login(client, people["a"])
    page = client.get("/sales/orders").get_data(as_text=True)
    assert mine.order_no in page and theirs.order_no not in page
    assert client.get(f"/sales/orders/{theirs.id}").status_code == 404


def test_detail_buttons_follow_status_and_permissions(client, people):
    order = make_order(people["a"])
    login(client, people["a"])
    page = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert 'data-status="confirmed"' in page and 'id="cancel-form"' in page
    assert 'data-status="paid"' not in page
    response = client.post(f"/sales/orders/{order.id}/status", data={"status": "confirmed"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == "confirmed"
    page = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert 'data-status="paid"' in page
    # A status move is no modification of the order; the timeline has it in words.
    modifications = page.split('id="modifications"', 1)[1].split("</ul>", 1)[0]
    assert "待确认 → 已确认" not in modifications and "暂无变更" in modifications
    assert "待确认 → 已确认" in page.split('id="timeline"', 1)[1]
    refused = client.post(f"/sales/orders/{order.id}/status", data={"status": "cancelled"},
                          follow_redirects=True).get_data(as_text=True)
    assert "取消订单需要填写原因" in refused


def test_engineer_sees_no_payment_button(client, people):
    order = advance(people["a"], make_order(people["a"], engineer_id=people["e"].id),
                    "confirmed")
    login(client, people["e"])
    page = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert 'data-status="paid"' not in page and 'id="cancel-form"' not in page


def test_new_order_form_and_edit_with_reason(client, people):
    customer = make_customer(people["a"])
    login(client, people["a"])
    page = client.get(f"/sales/orders/new?customer_id={customer.id}")
    assert page.status_code == 200
    # The customer is chosen by name among the user's own, not typed as a database id.
    picker = page.get_data(as_text=True).split('name="customer_id"')[1].split("</select>")[0]
    assert f'<option selected value="{customer.id}">{customer.customer_name}</option>' in picker
    response = client.post("/sales/orders/new", data={
        "customer_id": customer.id, "delivery_address": "上海市徐汇区漕溪北路1号",
        "line-0-product_name": "中央空调", "line-0-quantity": "2",
        "line-0-unit_price": "18500", "line-1-product_name": "新风系统",
        "line-1-quantity": "1", "line-1-unit_price": "4800.50"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    order = db.session.scalar(select(Order))
    assert str(order.total_amount) == "41800.50" and len(order.lines) == 2
    bad = client.post("/sales/orders/new", data={"customer_id": customer.id,
                                                 "line-0-product_name": "x",
                                                 "line-0-unit_price": "abc"})
    assert bad.status_code == 200 and "金额" in bad.get_data(as_text=True)
    advance(people["a"], order, "confirmed")
    form = {"delivery_address": "上海市徐汇区漕溪北路2号", "delivery_date": "2026-12-20",
            "line-0-product_name": "中央空调", "line-0-quantity": "2",
            "line-0-unit_price": "18500", "line-1-product_name": "新风系统",
            "line-1-quantity": "1", "line-1-unit_price": "4800.50"}
    no_reason = client.post(f"/sales/orders/{order.id}/edit", data=form)
    assert no_reason.status_code == 200 and "请填写修改原因" in no_reason.get_data(as_text=True)
    done = client.post(f"/sales/orders/{order.id}/edit", data={**form, "reason": "客户搬迁"})
    assert done.status_code == 302
    page = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert "漕溪北路2号" in page and "客户搬迁" in page


def test_install_form_creates_equipment(client, people):
    order = delivered_order(people["a"])
    login(client, people["a"])
    form_page = client.get(f"/sales/orders/{order.id}/install").get_data(as_text=True)
    line_id = order.lines[0].id
    assert f'name="serial-{line_id}-1"' in form_page
    missing = client.post(f"/sales/orders/{order.id}/install",
                          data={f"serial-{line_id}-0": "W-1"})
    assert missing.status_code == 200 and 'value="W-1"' in missing.get_data(as_text=True)
    done = client.post(f"/sales/orders/{order.id}/install", data={
        f"serial-{line_id}-0": "W-1", f"location-{line_id}-0": "1楼",
        f"serial-{line_id}-1": "W-2", f"location-{line_id}-1": "2楼"})
    assert done.status_code == 302
    assert sorted(db.session.scalars(select(Equipment.serial_number))) == ["W-1", "W-2"]
    page = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    assert "W-1" in page and 'id="order-equipment"' in page


def test_customer_section_cards_and_searcher(client, people, app_ctx):
    customer = make_customer(people["a"])
    order = make_order(people["a"], customer=customer)
    other = make_order(people["c"])
    login(client, people["a"])
    page = client.get(f"/crm/customers/{customer.id}").get_data(as_text=True)
    assert 'id="section-orders"' in page and order.order_no in page
    ctx = ServiceContext(actor=people["a"], source="web")
    searcher = next(s for s in registry().searchers if s.id == "orders")
    with app_ctx.test_request_context():
        hits = searcher.search(ctx, order.order_no[:-1], 10)
        assert [h.title for h in hits] == [order.order_no]
        assert other.order_no not in [h.title for h in searcher.search(ctx, "SO", 10)]
        advance(people["a"], order, "confirmed")
        card = next(c for c in registry().workspace_cards if c.id == "sales.waiting_payment")
        content = card.compute(ctx)
        assert content.total == 1 and order.order_no in content.items[0].title


def test_handover_checklist_lists_open_orders(people):
    from modules.crm.services.handover import checklist

    customer = make_customer(people["a"])
    order = make_order(people["a"], customer=customer)
    items = checklist(ServiceContext.system("cli"), [customer.id])
    orders = next(i for i in items if i["category"] == "orders")
    assert orders["count"] == 1 and order.order_no in orders["detail"]
