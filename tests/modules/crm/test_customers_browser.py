"""The customer pages in a real Chromium: list → create (bad input, then fixed) → detail →
follow-up through the collapsible form."""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.modules.crm.factories import make_customer

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def live_url(app_ctx):
    server = make_server("127.0.0.1", 0, app_ctx, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        except Exception as exc:  # no usable Chromium here
            pytest.skip(f"Chromium unavailable: {exc}")
        context = browser.new_context(locale="zh-CN")
        yield context.new_page()
        browser.close()


def test_customer_round_trip(live_url, page, make_user):
    user = make_user("sales", username="browser_sales")
    make_customer(user, customer_name="已有客户甲")
    page.goto(f"{live_url}/login")
    page.fill("input[name=username]", "browser_sales")
    page.fill("input[name=password]", "secret-pass-1")
    page.click("button[type=submit]")
    page.goto(f"{live_url}/crm/customers/")
    assert "已有客户甲" in page.inner_text("#customer-table")
    page.click("[data-action=new]")
    page.fill("#customer_name", "浏览器客户")
    page.fill("#phone", "12345")
    page.click("[data-action=save]")
    assert "手机号格式不正确" in page.inner_text("#customer-form")
    assert page.input_value("#customer_name") == "浏览器客户"
    page.fill("#phone", "+86 138 0000 4321")
    page.click("[data-action=save]")
    page.wait_for_selector("#customer-name")
    assert page.inner_text("#customer-name") == "浏览器客户"
    assert "13800004321" in page.inner_text("#customer-info")
    page.click("#section-follow-ups button[data-bs-toggle=collapse]")
    page.wait_for_selector("#add-follow-up.show")
    page.fill("#content", "浏览器里写的跟进")
    page.click("#follow-up-form button[type=submit]")
    page.wait_for_selector("[data-follow-up-id]")
    assert "浏览器里写的跟进" in page.inner_text("#section-follow-ups")
