"""The shell in Chromium: a chart drawn by the vendored ECharts under the CSP, its table
beside it; the navbar's search by keyboard ("/" focuses it, ↓ reaches a result, Enter opens
it), scoped to the searcher's record rules; a list's filters in the phone sheet."""

from __future__ import annotations

import pytest

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_a_chart_is_drawn_with_its_table_and_no_console_error(page, live_widgets):
    user = live_widgets.user("s1", "sales")
    with live_widgets.app_context():
        table = db.metadata.tables["demo_a_widget"]
        db.session.execute(table.insert(), [{"name": "a", "owner_id": user.id, "status": "new"}])
        db.session.commit()
        db.session.remove()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, live_widgets, "s1")
    page.goto(f"{live_widgets.url}/demo-a/chart")
    page.wait_for_selector(".chart-canvas[data-drawn='1'] svg")
    assert page.locator(".chart-canvas svg path").count() > 0
    assert not page.locator("#by-status-table").is_visible()
    page.click("button[data-bs-target='#by-status-table']")
    page.wait_for_selector("#by-status-table.show")
    assert "新建" in page.inner_text("#by-status-table")
    assert not errors, errors


def _customers(live, a, b):
    from modules.crm.services.customers import create_customer

    with live.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            mine = create_customer(ctx, {"customer_name": "上海盛安建设", "phone": "13912345678",
                                         "owner_id": a.id})
            create_customer(ctx, {"customer_name": "杭州恒达机电", "phone": "13912349999",
                                  "owner_id": b.id})
            mine_id = mine.id
        db.session.remove()
    return mine_id


def test_the_navbar_search_by_keyboard_finds_only_my_customer(page, live, monkeypatch):
    from core.registration import Searcher
    from tests.core.web.test_search import _customers as search_customers

    a, b = live.user("a", "sales"), live.user("b", "sales")
    mine = _customers(live, a, b)
    app = live.dispatcher.current_app()
    registry = app.extensions["tandem_registry"]
    if not any(s.id.startswith("crm.") for s in registry.searchers):  # crm's own, once merged
        monkeypatch.setattr(registry, "searchers", [
            Searcher("t.customers", "客户", search_customers, "crm.customer.read")])
    log_in(page, live, "a")
    page.goto(f"{live.url}/crm/customers/")
    page.locator("body").press("/")
    assert page.evaluate("document.activeElement.id") == "global-search"
    page.keyboard.type("1234")
    page.wait_for_selector("#global-search-results.show a.dropdown-item")
    results = page.inner_text("#global-search-results")
    assert "上海盛安建设" in results and "杭州恒达机电" not in results
    page.keyboard.press("ArrowDown")
    assert "上海盛安建设" in page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/crm/customers/{mine}")


def test_phone_filters_open_in_a_sheet(browser, live):
    live.user("a", "sales")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  locale="zh-CN")
    page = context.new_page()
    log_in(page, live, "a")
    page.goto(f"{live.url}/crm/opportunities/")
    sheet = page.locator("#list-filters")
    assert not sheet.is_visible() or sheet.bounding_box()["y"] > 800
    page.click("button[data-bs-target='#list-filters']")
    page.wait_for_selector("#list-filters.show")
    assert page.locator("#list-filters select[name=status]").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
