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


def _mine_in_service(live: Any, ids: dict[str, Any]) -> None:
    from decimal import Decimal

    from core.security.models import User
    from modules.service.models import Ticket
    from modules.service.services import tickets as svc
    from tests.modules.service.factories import act

    with live.app_context():
        li = db.session.scalar(select(User).where(User.username == "li"))
        act(li, svc.claim_ticket, ids["first"])
        act(li, svc.start_service, ids["first"])
        from core.services import ServiceContext
        from core.services import unit_of_work

        with unit_of_work(ServiceContext.system("cli")):
            t = db.session.get(Ticket, ids["first"])
            t.site_lat, t.site_lng = Decimal("31.2"), Decimal("121.55")
        db.session.remove()


def _offline_page(page: Any, live: Any) -> Any:
    page.context.grant_permissions(["geolocation"], origin=live.url)
    page.context.set_geolocation({"latitude": 31.2005, "longitude": 121.55})
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live.url}/service/today")
    page.context.set_offline(True)
    for _ in range(50):
        if page.evaluate("navigator.onLine") is False:
            break
        page.wait_for_timeout(100)
    return page


def test_offline_check_in_and_note_sync_on_reconnect(page, live):
    ids = _setup(live)
    _mine_in_service(live, ids)
    with live.app_context():
        from tests.modules.stock.factories import make_part

        make_part("AC-FILTER-001")
        db.session.remove()
    log_in(page, live, "li")
    _offline_page(page, live)
    card = page.locator(f".today-ticket[data-ticket={ids['first_no']}]")
    card.locator("button[data-action=check_in]").click()
    page.locator("#offline-status").get_by_text("1 条").wait_for()
    card.locator(".note-form input[name=percent]").fill("60")
    card.locator(".note-form input[name=note]").fill("离线记录：已拆机检查")
    card.locator("button[data-action=note]").click()
    page.locator("#offline-status").get_by_text("2 条").wait_for()
    from tests.core.storage.test_storage import jpeg_with_gps

    card.locator(".photo-form input[type=file]").set_input_files(
        {"name": "site.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps((2400, 1800))})
    card.locator(".photo-form select[name=phase]").select_option("start")
    card.locator("button[data-action=photo]").click()
    page.locator("#offline-status").get_by_text("3 条").wait_for()
    card.locator(".parts-form input[name=part_code]").fill("AC-FILTER-001")
    card.locator(".parts-form input[name=quantity]").fill("2")
    card.locator("button[data-action=part_request]").click()
    page.locator("#offline-status").get_by_text("4 条").wait_for()
    page.context.set_offline(False)
    page.wait_for_selector("body[data-synced='4']", state="attached")
    assert page.locator(".sync-conflict").count() == 0
    with live.app_context():
        from modules.service.models import Ticket
        from modules.service.models import Visit
        from modules.service.services.tickets import action_log

        ticket = db.session.get(Ticket, ids["first"])
        visit = db.session.scalar(select(Visit).where(Visit.ticket_id == ticket.id))
        assert ticket.progress == 60 and visit is not None
        assert visit.check_in_distance_m is not None and visit.check_in_distance_m < 100
        assert "离线记录：已拆机检查" in [r.note for r in action_log(ticket.id)]
        from modules.service.services.photos import photos

        shot = photos(ticket.id)
        # Shrunk on the phone before it was queued (longest edge 1600 px), GPS gone.
        assert len(shot) == 1 and shot[0].phase == "start" and shot[0].width == 1600
        from modules.stock.models import PartRequest

        asked = db.session.scalar(select(PartRequest).where(PartRequest.ticket_id == ticket.id))
        assert asked is not None and asked.status == "pending"
        assert [(line.part.part_code, line.quantity) for line in asked.lines] == \
            [("AC-FILTER-001", 2)]
        db.session.remove()


def test_offline_action_on_a_ticket_transferred_meanwhile_shows_the_conflict(page, live):
    ids = _setup(live)
    _mine_in_service(live, ids)
    other = live.user("zhao", "engineer", display_name="赵工")
    log_in(page, live, "li")
    _offline_page(page, live)
    card = page.locator(f".today-ticket[data-ticket={ids['first_no']}]")
    card.locator(".note-form input[name=note]").fill("离线：等待配件")
    card.locator("button[data-action=note]").click()
    page.locator("#offline-status").get_by_text("1 条").wait_for()
    with live.app_context():
        from core.security.models import User
        from modules.service.services import tickets as svc
        from tests.modules.service.factories import act

        boss = db.session.scalar(select(User).where(User.username == "boss"))
        act(boss, svc.transfer_ticket, ids["first"], other.id, "李工临时请假")
        db.session.remove()
    page.context.set_offline(False)
    page.locator(".sync-conflict").get_by_text("赵工").wait_for()
    assert ids["first_no"] in page.inner_text("#sync-conflicts")


def test_check_in_and_customer_signature_on_a_phone(page, live):
    ids = _setup(live)
    _mine_in_service(live, ids)
    log_in(page, live, "li")
    page.context.grant_permissions(["geolocation"], origin=live.url)
    page.context.set_geolocation({"latitude": 31.2005, "longitude": 121.55})
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live.url}/service/today")
    card = page.locator(f".today-ticket[data-ticket={ids['first_no']}]")
    card.locator("button[data-action=check_in]").click()
    page.wait_for_load_state()
    page.locator(f".today-ticket[data-ticket={ids['first_no']}] button[data-action=check_out]") \
        .wait_for()
    page.locator(f".today-ticket[data-ticket={ids['first_no']}] >> text=客户签字").click()
    page.wait_for_load_state()
    assert page.evaluate(NO_OVERFLOW)
    box = page.locator("#signature-pad").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 40)
    page.mouse.down()
    for step in range(1, 30):
        page.mouse.move(box["x"] + 20 + step * 8, box["y"] + 40 + (step % 5) * 10)
    page.mouse.up()
    page.fill("#signer_name", "张经理")
    page.click("#sign-form button[type=submit]")
    page.locator("#report-link").wait_for()
    assert "张经理" in page.inner_text("#report-link")
    with live.app_context():
        from modules.service.services.onsite import latest_report
        from modules.service.services.onsite import visits

        report = latest_report(ids["first"])
        assert report.pdf.startswith(b"%PDF") and report.signer_name == "张经理"
        assert visits(ids["first"])[0].check_in_distance_m < 100
        db.session.remove()


def test_photos_on_the_ticket_page_at_desktop_and_phone_width(page, live):
    """Photos chosen on the ticket page are uploaded, shown (served after the access check)
    and the page still fits a phone."""
    from tests.core.storage.test_storage import jpeg_with_gps

    ids = _setup(live)
    _mine_in_service(live, ids)
    log_in(page, live, "li")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live.url}/service/tickets/{ids['first']}")
    form = page.locator("#photos form.photo-form")
    form.locator("input[type=file]").set_input_files(
        [{"name": "a.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()},
         {"name": "b.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps((300, 600))}])
    form.locator("input[name=caption]").fill("拆机前")
    form.locator("button[data-action=photo]").click()
    page.get_by_text("已上传 2 张照片").wait_for()
    images = page.locator(".ticket-photo img")
    assert images.count() == 2
    page.wait_for_function("[...document.querySelectorAll('.ticket-photo img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    page.set_viewport_size({"width": 390, "height": 844})
    _no_overflow(page, f"{live.url}/service/tickets/{ids['first']}")
    assert page.locator(".ticket-photo img").first.is_visible()
