"""Service pages in Chromium: the ticket kanban (drag a card to 处理中 claims it; a refused
move puts it back with the reason), the engineer's "my tickets today" page on a phone
(390 px: no sideways scroll, start → progress → resolved by thumb), and the customer's
survey page on a phone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.extensions import db
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


def _setup(live: Any) -> dict[str, Any]:
    from core.services import ServiceContext
    from core.services import unit_of_work
    from core.settings import set_setting
    from tests.modules.crm.factories import make_customer
    from tests.modules.service.factories import make_ticket

    sales = live.user("wang", "sales", display_name="王销售")
    live.user("li", "engineer", display_name="李工")
    live.user("boss", "manager", display_name="赵主管")
    with live.app_context():
        with unit_of_work(ServiceContext.system("cli")):
            set_setting("service.dispatch_mode", "manual")
        customer = make_customer(
            sales, customer_name="上海浦东国际会展中心管理有限公司", phone="13800138000",
            address="上海市浦东新区龙阳路2345号国际会展中心东楼三层设备间（超长地址测试）")
        first = make_ticket(customer, subject="3楼中央空调制冷效果差，出风口不凉（超长主题测试）")
        second = make_ticket(customer, ticket_type="complaint", subject="安装师傅迟到两小时")
        ids = {"first": first.id, "first_no": first.ticket_no, "second": second.id}
        db.session.remove()
    return ids


def _no_overflow(page: Any, url: str) -> None:
    page.goto(url)
    assert page.evaluate(NO_OVERFLOW), (url, page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"))


def test_kanban_claim_by_drag_and_refused_move(page, live):
    ids = _setup(live)
    log_in(page, live, "li")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live.url}/service/board")
    assert page.inner_text("[data-count=todo]") == "2"
    with page.expect_response(lambda r: r.url.endswith("/service/board/move")) as moved:
        page.drag_and_drop(".kanban-card:has-text('3楼中央空调')",
                           ".kanban-column[data-status=doing]")
    assert moved.value.status == 200
    page.locator(".kanban-column[data-status=doing]").get_by_text("3楼中央空调").wait_for()
    with live.app_context():
        from modules.service.models import Ticket

        ticket = db.session.get(Ticket, ids["first"])
        assert (ticket.status, ticket.assignee.username) == ("accepted", "li")
        db.session.remove()
    page.drag_and_drop(".kanban-card:has-text('3楼中央空调')", ".kanban-column[data-status=todo]")
    page.locator("#kanban-error").get_by_text("不能这样移动").wait_for()


def test_engineer_today_page_on_a_phone(page, live):
    ids = _setup(live)
    log_in(page, live, "li")
    page.set_viewport_size({"width": 390, "height": 844})
    _no_overflow(page, f"{live.url}/service/today")
    # nothing of his yet: the two tickets wait to be claimed
    page.click(f"form[action$='/tickets/{ids['first']}/act/claim'] button")
    page.wait_for_load_state()
    card = page.locator(f".today-ticket[data-ticket={ids['first_no']}]")
    assert "tel:13800138000" in card.inner_html() and "uri.amap.com" in card.inner_html()
    card.locator("button[data-action=start]").click()
    page.wait_for_load_state()
    card = page.locator(f".today-ticket[data-ticket={ids['first_no']}]")
    card.locator("button[data-action=progress] >> nth=0").click()
    page.wait_for_load_state()
    assert "50%" in page.locator(f".today-ticket[data-ticket={ids['first_no']}]").inner_text()
    assert page.evaluate(NO_OVERFLOW)
    page.locator(f".today-ticket[data-ticket={ids['first_no']}] button[data-action=resolve]").click()
    page.wait_for_load_state()
    assert page.locator(f".today-ticket[data-ticket={ids['first_no']}]").count() == 0
    for url in (f"{live.url}/service/tickets", f"{live.url}/service/tickets/{ids['first']}",
                f"{live.url}/service/board", f"{live.url}/service/tickets/new"):
        _no_overflow(page, url)


def test_survey_page_on_a_phone(page, live):
    from core.notify.models import Notification

    ids = _setup(live)
    log_in(page, live, "li")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live.url}/service/today")
    page.click(f"form[action$='/tickets/{ids['first']}/act/claim'] button")
    page.wait_for_load_state()
    page.goto(f"{live.url}/service/tickets/{ids['first']}")
    page.fill("#resolve-form textarea[name=solution]", "清洗滤网，补充冷媒")
    page.click("#resolve-form button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#ticket-status") == "待评价"
    with live.app_context():
        url = db.session.scalar(select(Notification.url).where(Notification.channel == "sms"))
        db.session.remove()
    page.context.clear_cookies()
    _no_overflow(page, live.url + url)
    page.click("label[for=score-2]")
    page.fill("#comment", "还是有点不凉")
    page.click("#survey-form button[type=submit]")
    page.locator("#survey-thanks").wait_for()
    page.goto(live.url + url)
    page.locator("#survey-answered").wait_for()
