"""The business overview (驾驶舱) and the service analytics page in Chromium on the demo
data, on a desktop and on a 390 px phone: figures shown for each login, a figure's link
opening the list that makes it with the same count, quick ranges, charts drawn with their
tables and exports, nothing wider than the phone's screen."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest

from core.extensions import db
from tests.browser.test_crm_workspace import _demo
from tests.browser.test_crm_workspace import _log_in_demo
from tests.browser.test_phone_layout import OVERFLOW
from tests.browser.test_phone_layout import PHONE

pytestmark = pytest.mark.browser


def _figures(live, username, range_name="month"):
    """The user's overview figures computed on the server, by id."""
    from core.dashboard import compute_figures
    from core.periods import local_today
    from core.periods import quick_period
    from core.security.models import User
    from core.services import ServiceContext

    app = live.dispatcher.current_app()
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == username))
        with app.test_request_context("/overview"):
            shown = compute_figures(ServiceContext(actor=user, source="web"),
                                    quick_period(range_name, local_today(datetime.now(UTC))))
        out = {s.spec.id: s.figure for s in shown}
        db.session.remove()
    return out


def _fits(page):
    found = page.evaluate(OVERFLOW)
    assert not found["wide"] and not found["boxes"], found


def test_overview_for_a_manager_and_a_salesperson_desktop_and_phone(page, live):
    _demo(live)
    _log_in_demo(page, live, "manager")
    page.click("[data-menu=overview]")
    page.wait_for_url(re.compile(r".*/overview$"))
    expected = _figures(live, "manager")
    for key, figure in expected.items():
        card = page.locator(f"[data-figure='{key}']")
        assert card.locator(".figure-value").inner_text().strip() == figure.text, key
    assert page.locator("[data-figure='stock.below_minimum']").count() == 1
    # The open tickets lead to the list of open tickets, with as many rows.
    with page.expect_navigation():
        page.click("[data-figure='service.open'] .figure-value")
    assert f"共 {expected['service.open'].value} 条" in page.inner_text("body")
    page.go_back()
    # A status's part leads to that status's list.
    part = page.locator("[data-figure='service.open'] [data-part='待接单']")
    count = part.locator(".part-value").inner_text()
    with page.expect_navigation():
        part.click()
    assert "status=pending" in page.url and f"共 {count} 条" in page.inner_text("body")
    page.go_back()
    # Quick range: this year, compared with the same stretch of last year.
    page.click("#quick-ranges [data-range=year]")
    page.wait_for_url(re.compile(r".*range=year"))
    year = _figures(live, "manager", "year")
    assert page.locator("[data-figure='crm.won_amount'] .figure-value").inner_text().strip() \
        == year["crm.won_amount"].text
    assert "上期" in page.inner_text("[data-figure='sales.orders']")
    page.set_viewport_size(PHONE)
    page.reload()
    _fits(page)
    # A salesperson: his own figures, no stock.
    _log_in_demo(page, live, "sales1")
    page.goto(f"{live.url}/overview?range=year")
    mine = _figures(live, "sales1", "year")
    assert page.locator("[data-figure='stock.below_minimum']").count() == 0
    for key, figure in mine.items():
        assert page.locator(f"[data-figure='{key}'] .figure-value").inner_text().strip() \
            == figure.text, key
    assert mine["sales.orders"].value < year["sales.orders"].value
    _fits(page)


def test_service_analytics_desktop_and_phone(page, live):
    _demo(live)
    _log_in_demo(page, live, "manager")
    page.goto(f"{live.url}/service/analytics/?range=year")
    for chart in ("period", "type", "priority", "engineer_times", "scores", "brands",
                  "models", "causes", "engineers"):
        page.locator(f"#chart-{chart} .chart-canvas svg").first.wait_for()  # ECharts drew it
    # The table beside a chart, and its export.
    page.click("#chart-engineers [data-bs-target='#chart-engineers-table']")
    table = page.locator("#chart-engineers-table")
    table.wait_for(state="visible")
    assert "一次修复率" in table.inner_text() and "张工" in table.inner_text()
    with page.expect_download() as download:
        page.click("#chart-engineers [data-export=csv]")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith("工程师,完成工单") and "张工" in text
    assert page.locator("#headline [data-headline=csat] .headline-before").inner_text() \
        .startswith("上期")
    page.click("#quick-ranges [data-range=quarter]")
    page.wait_for_url(re.compile(r".*range=quarter"))
    assert page.locator("#quick-ranges [data-range=quarter]").get_attribute(
        "aria-current") == "true"
    page.set_viewport_size(PHONE)
    page.reload()
    page.locator("#chart-type .chart-canvas svg").first.wait_for()
    _fits(page)
    # Those without the right are refused.
    _log_in_demo(page, live, "sales1")
    response = page.goto(f"{live.url}/service/analytics/")
    assert response.status == 403
