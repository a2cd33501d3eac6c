"""Pages changed by the equipment/stock follow-up, in Chromium at desktop width (1400 px) and on
a phone (390 px): the equipment list's filter sheet, the 360° view's MTBF and MTTR, the
型号可靠性 table, the parts list's filter sheet and the read-only order link's tickets."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from core.extensions import db
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


def _setup(live: Any) -> dict[str, Any]:
    from modules.service.models import Ticket
    from tests.modules.equipment.factories import installed_equipment
    from tests.modules.sales.factories import line
    from tests.modules.service.factories import make_ticket

    li = live.user("li", "sales", "engineer", display_name="李工")
    live.user("keeper", "warehouse", display_name="刘仓管")
    with live.app_context():
        unit = installed_equipment(li, lines=[line(quantity=1, model="KFR-72LW/(72555)FNhAa-B1")])[0]
        ticket = make_ticket(unit.customer, li, equipment_id=unit.id,
                             subject="室外机异响，联系人13912345678")
        start = datetime(2026, 11, 1, 9)
        db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(
            created_at=start, resolved_at=start + timedelta(hours=5)))
        db.session.commit()
        ids = {"unit": unit.id, "order": unit.order_id, "ticket_no": ticket.ticket_no}
        db.session.remove()
    return ids


def _no_overflow(page: Any, url: str) -> None:
    page.goto(url)
    assert page.evaluate(NO_OVERFLOW), (url, page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"))


def test_reliability_list_and_360_desktop_and_phone(page, browser, live):
    ids = _setup(live)
    log_in(page, live, "li")
    page.set_viewport_size({"width": 1400, "height": 900})
    _no_overflow(page, f"{live.url}/equipment/{ids['unit']}")
    assert page.inner_text("#unit-mttr").startswith("5.0")
    assert page.inner_text("#unit-failures").startswith("1 /")
    _no_overflow(page, f"{live.url}/equipment/reliability")
    assert "KFR-72LW" in page.inner_text("#reliability-table")
    _no_overflow(page, f"{live.url}/equipment/")
    page.select_option("#equipment-filters select[name=warranty]", "in")
    page.click("#equipment-filters button[type=submit]:visible")
    page.wait_for_url("**warranty=in**")
    assert page.locator("tbody tr[data-id]").count() == 1

    page.set_viewport_size({"width": 390, "height": 844})
    for url in (f"{live.url}/equipment/{ids['unit']}", f"{live.url}/equipment/reliability",
                f"{live.url}/equipment/?warranty=in"):
        _no_overflow(page, url)
    page.goto(f"{live.url}/equipment/")
    page.click("button[data-bs-target='#list-filters']")  # the filter sheet folds on a phone
    page.wait_for_selector("#list-filters.show")
    assert page.locator("#list-filters select[name=brand]").is_visible()

    # The read-only link of the unit's order shows its ticket, the phone masked.
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live.url}/sales/orders/{ids['order']}")
    page.click("#share-create")
    link = page.input_value("#share-link")
    outsider = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    other = outsider.new_page()
    other.goto(live.url + link[link.index("/p/order#"):])
    other.wait_for_selector("#share-tickets")
    text = other.inner_text("#share-tickets")
    assert ids["ticket_no"] in text and "139****5678" in text and "13912345678" not in text
    assert other.evaluate(NO_OVERFLOW)
    outsider.close()


def test_parts_list_filter_sheet_desktop_and_phone(page, live):
    live.user("keeper", "warehouse", display_name="刘仓管")
    log_in(page, live, "keeper")
    page.set_viewport_size({"width": 1400, "height": 900})
    _no_overflow(page, f"{live.url}/stock/parts")
    assert page.locator("#part-filters select[name=category]").is_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    _no_overflow(page, f"{live.url}/stock/parts")
    assert not page.locator("#part-filters select[name=category]").is_visible()
    page.click("button[data-bs-target='#list-filters']")
    page.wait_for_selector("#list-filters.show")
    assert page.locator("#list-filters select[name=category]").is_visible()
