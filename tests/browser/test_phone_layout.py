"""Every page of every installed module fits a 390 × 844 phone: lists, details, forms and
boards, found from the app's URL map (pages without parameters) and the links on the pages
visited (one record per endpoint), on the demo data. A page wider than the screen, or with a
box the reader must scroll sideways, fails; so does a page that could not be reached."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.exceptions import HTTPException

from core.extensions import db
from tests.browser.conftest import CHROMIUM
from tests.browser.conftest import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# Not pages a person opens: machine endpoints, streams and callbacks.
NOT_PAGES = ("core_events.stream", "core_search.suggest", "core_auth.login", "static",
             "bootstrap.static", "sales_calendar.feed", "service.report_pdf",
             "service_public.script",  # an .ics feed, a PDF, the offline worker's script
             "service.photo")  # an image (shown inside the ticket page, which is visited)

OVERFLOW = """() => {
  const wide = document.documentElement.scrollWidth > window.innerWidth;
  const boxes = [...document.querySelectorAll('body *')].filter(e => {
    const s = getComputedStyle(e);
    return (s.overflowX === 'auto' || s.overflowX === 'scroll') && e.offsetParent !== null
      && e.scrollWidth > e.clientWidth + 1;
  }).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + [...e.classList].join('.'));
  return {width: document.documentElement.scrollWidth, inner: window.innerWidth, wide, boxes};
}"""


@pytest.fixture
def demo_live(live: Any) -> Iterator[Any]:
    """The live app with the demo data of every installed module (as ``demo.sh`` loads it)."""
    from core.demo import load_all

    with live.app_context():
        load_all()
        db.session.remove()
    yield live


def _pages(app: Any) -> tuple[list[str], set[str]]:
    """Parameterless GET pages and every HTML endpoint that should be visited."""
    plain, wanted = [], set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
            continue
        if rule.rule.startswith("/api/") or rule.endpoint.endswith(("callback", ".static")):
            continue
        wanted.add(rule.endpoint)
        if not rule.arguments:
            plain.append(rule.rule)
    return sorted(plain), wanted


def _unlinked_pages(app: Any) -> list[str]:
    """Pages no back-office link leads to, on the demo data: a customer's signed links (the
    equipment QR page, a satisfaction survey), the install form of a delivered order, a
    maintenance record to fill in (reached from chat cards), an import run's page and a failed
    job's page."""
    from sqlalchemy import select

    from core.services import ServiceContext
    from core.services import unit_of_work

    paths = []
    with app.app_context():
        installed = app.extensions["tandem_registry"].installed
        if "equipment" in installed:
            from modules.equipment.models import Equipment
            from modules.equipment.models import MaintenanceRecord
            from modules.equipment.web.public import label_url

            unit = db.session.scalar(select(Equipment.id).order_by(Equipment.id).limit(1))
            paths.append(urlsplit(label_url(unit)).path)
            record = db.session.scalar(select(MaintenanceRecord.id).order_by(
                MaintenanceRecord.id).limit(1))
            paths.append(f"/equipment/maintenance-records/{record}")
        if "sales" in installed:
            from modules.sales.models import Order

            order = db.session.scalar(select(Order.id).where(Order.status == "delivered")
                                      .order_by(Order.id).limit(1))
            paths.append(f"/sales/orders/{order}/install")
        if "service" in installed:
            from modules.service.models import Ticket
            from modules.service.services.surveys import send_survey

            ctx = ServiceContext.system("cli")
            with unit_of_work(ctx):
                ticket = db.session.scalar(select(Ticket).where(Ticket.status == "resolved")
                                           .order_by(Ticket.id).limit(1))
                paths.append(send_survey(ctx, ticket))
        if "crm" in installed:  # an import run's page (a dry run with a refused row)
            from core import imports
            from core.security.services import get_user_by_username

            ctx = ServiceContext(actor=get_user_by_username("admin"), source="web")
            with unit_of_work(ctx):
                log = imports.start(ctx, "crm.customers", "客户.csv",
                                    "客户名称,联系电话\n导入客户,13800000099\n坏电话,123\n"
                                    .encode(), run=False)
            imports.execute(ctx, log)
            paths.append(f"/imports/{log.id}")
        from core.jobs.models import JobFailure  # a failed job's page, with a long traceback

        failure = JobFailure(name="crm.reminders", args=[1], kwargs={}, runner="rq",
                             error="Traceback (most recent call last):\n" + "  File "
                             "\"/opt/tandem/modules/crm/jobs.py\", line 42, in remind\n" * 30
                             + "RuntimeError: " + "x" * 300)
        db.session.add(failure)
        db.session.commit()
        paths.append(f"/admin/jobs/{failure.id}")
        db.session.remove()
    return paths


def test_every_page_fits_a_phone(demo_live: Any) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    live = demo_live
    app = live.dispatcher.current_app()
    plain, wanted = _pages(app)
    adapter = app.url_map.bind("127.0.0.1")
    seen: dict[str, str] = {}
    problems = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                      locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{live.url}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "tandem-demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live.url}/")
        queue = list(plain) + _unlinked_pages(app)
        while queue:
            path = queue.pop(0)
            try:
                endpoint, _args = adapter.match(urlsplit(path).path, method="GET")
            except HTTPException:
                continue
            if endpoint in seen or endpoint not in wanted:
                continue
            seen[endpoint] = path
            response = page.goto(live.url + path)
            page.wait_for_load_state("load")
            if response is None or response.status != 200:
                problems.append(f"{path}: HTTP {response.status if response else '?'}")
                continue
            if "text/html" not in (response.headers.get("content-type") or ""):
                continue
            found = page.evaluate(OVERFLOW)
            if found["wide"] or found["boxes"]:
                problems.append(f"{path}: {found['width']}px wide on a {found['inner']}px "
                                f"screen; sideways boxes {found['boxes']}")
            for href in page.eval_on_selector_all(
                    "main a[href^='/'], nav a[href^='/']", "els => els.map(e => e.getAttribute('href'))"):
                if href not in queue and not href.startswith("/static"):
                    queue.append(href.split("#")[0])
        context.close()
        browser.close()
    unreached = sorted(wanted - set(seen))
    assert not unreached, f"pages the test could not reach: {unreached}"
    print("\n".join(f"{e} {p}" for e, p in sorted(seen.items())))
    assert len(seen) >= 20
    assert not problems, "pages that do not fit a 390px phone:\n" + "\n".join(problems)
