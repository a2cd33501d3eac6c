"""Order, calendar and equipment pages in Chromium at desktop width (1400 px) and on a phone (390 px):
the pages work (a status button moves the order, the install form creates equipment) and
never scroll sideways."""

from __future__ import annotations

from typing import Any

import pytest

from core.extensions import db
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


def _setup(live: Any) -> dict[str, Any]:
    from tests.modules.crm.factories import make_customer
    from tests.modules.sales.factories import line
    from tests.modules.sales.factories import make_order

    li = live.user("li", "sales", display_name="李销售")
    with live.app_context():
        customer = make_customer(li, customer_name="上海浦东国际会展中心管理有限公司",
                                 address="上海市浦东新区龙阳路2345号国际会展中心东楼三层设备间")
        order = make_order(li, customer=customer, lines=[
            line(quantity=2, product_name="变频多联机中央空调室外机组（超长名称测试）"),
            line(quantity=1, product_name="新风系统", brand="松下", model="FY-50ZDP1C")],
            delivery_date="2026-12-28", install_date="2026-12-30")
        ids = {"order": order.id, "order_no": order.order_no,
               "lines": [(x.id, x.quantity) for x in order.lines]}
        db.session.remove()
    return ids


def _no_overflow(page: Any, url: str) -> None:
    page.goto(url)
    assert page.evaluate(NO_OVERFLOW), (url, page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"))


def test_order_and_equipment_pages_desktop_and_phone(page, live):
    ids = _setup(live)
    log_in(page, live, "li")
    page.set_viewport_size({"width": 1400, "height": 900})
    order_url = f"{live.url}/sales/orders/{ids['order']}"
    _no_overflow(page, f"{live.url}/sales/orders")
    assert page.locator(f"text={ids['order_no']}").count() >= 1
    _no_overflow(page, order_url)
    for status, label in (("confirmed", "已确认"), ("paid", "已付款"), ("delivered", "已配送")):
        page.click(f"button[data-status={status}]")
        page.wait_for_load_state()
        assert page.inner_text("#order-status") == label
    page.click("#install-link")
    for line_id, quantity in ids["lines"]:
        for n in range(quantity):
            page.fill(f"input[name=serial-{line_id}-{n}]", f"B-{line_id}-{n}")
            page.fill(f"input[name=location-{line_id}-{n}]", f"{n + 1}楼")
    page.click("#install-form button[type=submit]")
    page.wait_for_url(order_url)
    assert page.inner_text("#order-status") == "已安装"
    assert page.locator("#order-equipment li").count() == 3
    page.click("#order-equipment a >> nth=0")
    page.wait_for_load_state()
    equipment_url = page.url
    assert "保修" in page.inner_text("#equipment-fields")
    assert page.locator("#section-maintenance").count() == 1
    _no_overflow(page, f"{live.url}/equipment/")
    _no_overflow(page, f"{live.url}/sales/orders/new")
    _no_overflow(page, f"{live.url}/sales/calendar/?view=month&date=2026-12-01")
    assert page.locator("#calendar-days [data-day]").count() == 31

    page.set_viewport_size({"width": 390, "height": 844})
    for url in (f"{live.url}/sales/orders", order_url, f"{live.url}/sales/orders/new",
                f"{live.url}/sales/orders/{ids['order']}/edit", f"{live.url}/equipment/",
                f"{live.url}/equipment/?warranty=in", equipment_url,
                f"{live.url}/sales/calendar/", f"{live.url}/sales/calendar/?view=month"):
        _no_overflow(page, url)


def test_a_read_only_link_opens_from_its_fragment_on_a_phone(page, browser, live):
    ids = _setup(live)
    log_in(page, live, "li")
    page.goto(f"{live.url}/sales/orders/{ids['order']}")
    page.click("#share-create")
    link = page.input_value("#share-link")
    assert "/p/order#" in link
    outsider = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    other = outsider.new_page()
    other.goto(live.url + link[link.index("/p/order#"):])  # the configured base is elsewhere
    other.wait_for_selector("#share-view")
    assert ids["order_no"] in other.inner_text("#share-view")
    assert "#" not in other.url  # the token left the address bar
    assert other.evaluate(NO_OVERFLOW)
    outsider.close()
