"""The back-office in a real Chromium: login, the Apps page installing and uninstalling a
module at run time, a list/form round trip, and a list refreshing itself after a change made
through the WeCom robot."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_login_shows_the_menus_of_the_user(page, live):
    live.user("root", "admin")
    page.goto(f"{live.url}/")
    assert "/login" in page.url
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.inner_text(".alert")
    log_in(page, live, "root")
    assert page.locator("[data-menu=settings]").is_visible()


def test_apps_page_installs_and_uninstalls_without_restart(page, live):
    live.user("root", "admin")
    log_in(page, live, "root")
    page.goto(f"{live.url}/admin/apps")
    card = page.locator("[data-module=demo_a]")
    assert card.get_attribute("data-state") == "uninstalled"
    assert page.goto(f"{live.url}/demo-a/").status == 404
    page.goto(f"{live.url}/admin/apps")
    page.click("[data-module=demo_a] [data-action=install]")
    assert "已安装" in page.inner_text(".alert")
    assert page.locator("[data-menu=demo_a]").count() == 1
    assert page.goto(f"{live.url}/demo-a/").status == 200
    page.goto(f"{live.url}/admin/apps")
    page.click("[data-module=demo_a] [data-action=uninstall]")
    assert "demo_a_widget" in page.inner_text(".alert")
    page.click("[data-action=confirm-uninstall]")
    assert "已卸载" in page.inner_text(".alert")
    assert page.locator("[data-menu=demo_a]").count() == 0
    assert page.goto(f"{live.url}/demo-a/").status == 404


def test_user_list_and_form_round_trip(page, live):
    live.user("root", "admin")
    log_in(page, live, "root")
    page.goto(f"{live.url}/admin/users")
    page.click("text=新建用户")
    page.fill("#username", "root")  # a duplicate: refused, input kept
    page.fill("#display_name", "第二个管理员")
    page.select_option("#roles", ["sales"])
    page.click("[data-action=save]")
    assert "已存在" in page.content()
    assert page.input_value("#display_name") == "第二个管理员"
    page.fill("#username", "wang.sales")
    page.fill("#password", "long-enough-1")
    page.click("[data-action=save]")
    page.wait_for_url(f"{live.url}/admin/users")
    assert "wang.sales" in page.inner_text("#list-core_user")
    page.fill("main input[name=q]", "wang")  # not the navbar's global search
    page.locator(".list-filters button[type=submit]:visible").click()  # 筛选
    assert page.locator("#list-core_user tbody tr").count() == 1


def test_list_updates_itself_when_a_bot_command_changes_a_record(page, live_widgets):
    """Issue 4: an open list refreshes by itself when a robot command changed the data."""
    from modules.wecom.fake import CallbackDriver
    from tests.modules.wecom.conftest import callback_driver

    live = live_widgets
    live.user("root", "admin")
    live.user("li.sales", "sales", wecom_userid="li.sales")
    log_in(page, live, "root")
    page.goto(f"{live.url}/demo-a/widgets")
    assert "齿轮" not in page.inner_text("#list-demo_a_widget")
    page.wait_for_timeout(500)  # the page's event stream is open
    driver = callback_driver(CallbackDriver.over_http(live.url))
    status, text = driver.bot_message({
        "msgid": "live-1", "chatid": "g1", "chattype": "group", "from": {"userid": "li.sales"},
        "msgtype": "text", "text": {"content": "@Tandem #小部件 齿轮"}})[0]
    assert status == 200
    assert driver.decrypt_bot_reply(text)["msgtype"] == "template_card"
    # No reload by the test: the page's event stream triggers the refresh.
    page.locator("#list-demo_a_widget").get_by_text("齿轮").wait_for(timeout=10000)


def test_kanban_drag_and_drop_moves_a_card_and_a_refusal_puts_it_back(page, live_widgets):
    from core.extensions import db

    live = live_widgets
    user = live.user("s1", "sales")
    with live.app_context():
        table = db.metadata.tables["demo_a_widget"]
        db.session.execute(table.insert(), [{"name": "水泵", "owner_id": user.id, "status": "new"},
                                            {"name": "已交付", "owner_id": user.id,
                                             "status": "done"}])
        db.session.commit()
        db.session.remove()
    log_in(page, live, "s1")
    page.goto(f"{live.url}/demo-a/board")
    page.drag_and_drop(".kanban-card:has-text('水泵')", ".kanban-column[data-status=doing]")
    page.locator(".kanban-column[data-status=doing]").get_by_text("水泵").wait_for()
    page.reload()
    assert "水泵" in page.inner_text(".kanban-column[data-status=doing]")
    page.drag_and_drop(".kanban-card:has-text('已交付')", ".kanban-column[data-status=new]")
    page.locator("#kanban-error").get_by_text("已完成的小部件不能再移动").wait_for()
    assert "已交付" in page.inner_text(".kanban-column[data-status=done]")
