"""crm and pool pages in Chromium: an announced opportunity claimed from its page, moved on
the kanban, and a pool customer claimed."""

from __future__ import annotations

import pytest

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def _customer_and_opportunity(live, owner):
    from modules.crm.services.customers import create_customer
    from modules.crm.services.opportunities import create_opportunity

    with live.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            customer = create_customer(ctx, {"customer_name": "浏览器客户", "phone": "13977778888",
                                             "owner_id": owner.id})
            opp = create_opportunity(ctx, {"customer_id": customer.id, "product_name": "冷水机组",
                                           "quantity": 2, "estimated_amount": "720000",
                                           "unowned": True})
            pool = create_customer(ctx, {"customer_name": "公海客户乙", "phone": "13966667777",
                                         "owner_id": owner.id})
            pool.status, pool.owner_id = "in_pool", None
            ids = customer.id, opp.id, pool.id
        db.session.remove()
    return ids


def test_claim_an_opportunity_move_it_on_the_kanban_and_claim_from_the_pool(page, live):
    sales = live.user("li", "sales")
    _customer_id, opp_id, pool_id = _customer_and_opportunity(live, sales)
    log_in(page, live, "li")
    page.goto(f"{live.url}/crm/opportunities/{opp_id}")
    assert "待认领" in page.content()
    page.click("[data-action=claim]")
    assert "已认领" in page.inner_text(".alert")
    page.goto(f"{live.url}/crm/opportunities/board")
    page.drag_and_drop(".kanban-card:has-text('冷水机组')", ".kanban-column[data-status=contacted]")
    page.locator(".kanban-column[data-status=contacted]").get_by_text("冷水机组").wait_for()
    page.drag_and_drop(".kanban-card:has-text('冷水机组')", ".kanban-column[data-status=won]")
    page.locator("#kanban-error").get_by_text("不能从").wait_for()
    page.goto(f"{live.url}/pool/")
    assert "公海客户乙" in page.inner_text("#list-crm_customer")
    page.click("#list-crm_customer a:has-text('公海客户乙')")  # the row links to its page
    assert page.url.endswith(f"/pool/customers/{pool_id}")
    page.click("[data-action=claim]")
    assert "已领取客户" in page.inner_text(".alert")
    assert "公海客户乙" in page.inner_text("#customer-name")


def test_handover_stages_and_analytics_in_the_browser(page, live):
    from core.security.models import Team

    with live.app_context():
        team = Team(name="一组")
        db.session.add(team)
        db.session.commit()
        team_id = team.id
        db.session.remove()
    boss = live.user("boss", "manager", team=None)
    leaving = live.user("leaving", "sales")
    live.user("taker", "sales")
    live.user("root", "admin")
    with live.app_context():
        from core.security.models import User

        db.session.execute(db.update(User).where(User.id.in_([boss.id, leaving.id]))
                           .values(team_id=team_id))
        db.session.execute(db.update(Team).where(Team.id == team_id).values(manager_id=boss.id))
        db.session.commit()
        db.session.remove()
    _customer_and_opportunity(live, leaving)
    log_in(page, live, "boss")
    page.goto(f"{live.url}/crm/handovers/new")
    page.select_option("#from_user_id", label="leaving")
    page.select_option("#to_user_id", label="taker")
    page.click("#handover-form button[type=submit]")
    assert "客户基本信息" in page.inner_text("#checklist")
    page.click("[data-action=submit]")
    assert "审核" in page.inner_text("#handover-stage")
    page.goto(f"{live.url}/crm/analytics/")
    assert page.locator("#funnel").is_visible()
    page = page.context.browser.new_context(locale="zh-CN").new_page()
    log_in(page, live, "root")
    page.goto(f"{live.url}/crm/handovers/")
    page.click("#handovers a")
    page.click("[data-action=approve]")
    page = page.context.browser.new_context(locale="zh-CN").new_page()
    log_in(page, live, "taker")
    page.goto(f"{live.url}/crm/handovers/")
    page.click("#handovers a")
    page.click("[data-action=confirm]")
    assert "已完成" in page.inner_text("#handover-stage")
    page.goto(f"{live.url}/crm/customers/")
    assert "浏览器客户" in page.inner_text("#customer-table")
