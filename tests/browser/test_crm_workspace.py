"""crm in Chromium, second edition: the kanban's lost-reason dialog and 移动到… menu, every
demo login's home with its cards and counts checked against SQL on the demo data, and the
global search by a partial phone that never finds another salesperson's customer."""

from __future__ import annotations

from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _opportunity(live, owner, status="contacted"):
    from modules.crm.models.opportunity import Opportunity

    with live.app_context():
        from modules.crm.services.customers import create_customer

        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            customer = create_customer(ctx, {"customer_name": "看板客户", "phone": "13911112222",
                                             "owner_id": owner.id})
            opp = Opportunity(customer_id=customer.id, owner_id=owner.id, status=status,
                              product_name="冷水机组", quantity=2,
                              estimated_amount=Decimal("720000"))
            db.session.add(opp)
            db.session.flush()
            opp_id = opp.id
        db.session.remove()
    return opp_id


def _reload(live, opp_id):
    from modules.crm.models.opportunity import Opportunity

    with live.app_context():
        opp = db.session.get(Opportunity, opp_id)
        out = (opp.status, opp.lost_reason)
        db.session.remove()
    return out


def test_kanban_lost_drop_asks_for_the_reason_in_a_dialog(page, live):
    sales = live.user("li", "sales")
    opp_id = _opportunity(live, sales)
    log_in(page, live, "li")
    page.goto(f"{live.url}/crm/opportunities/board")
    assert page.inner_text("[data-sum=contacted]") == "¥720,000.00"
    page.drag_and_drop(".kanban-card:has-text('冷水机组')", ".kanban-column[data-status=lost]")
    dialog = page.locator("#kanban-reason")
    dialog.wait_for(state="visible")
    assert "丢单原因" in dialog.inner_text()
    page.fill("#kanban-reason-text", "价格高于竞品")
    dialog.locator("button[type=submit]").click()
    page.locator(".kanban-column[data-status=lost]").get_by_text("冷水机组").wait_for()
    page.wait_for_function("document.querySelector('[data-count=lost]').textContent === '1'")
    assert page.inner_text("[data-sum=lost]") == "¥720,000.00"
    assert page.inner_text("[data-sum=contacted]") == "¥0.00"
    for _ in range(50):
        if _reload(live, opp_id) == ("lost", "价格高于竞品"):
            break
        page.wait_for_timeout(100)
    assert _reload(live, opp_id) == ("lost", "价格高于竞品")
    assert page.locator("#kanban-error").is_hidden()


def test_kanban_cancelled_dialog_moves_nothing_and_the_menu_moves_by_tap(page, live):
    sales = live.user("li", "sales")
    opp_id = _opportunity(live, sales)
    log_in(page, live, "li")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live.url}/crm/opportunities/board")
    card = page.locator(".kanban-card:has-text('冷水机组')")
    card.locator(".kanban-move-menu").click()
    card.locator("[data-move-to=lost]").click()
    page.locator("#kanban-reason").wait_for(state="visible")
    page.locator("#kanban-reason [data-bs-dismiss=modal]").last.click()
    page.locator("#kanban-reason").wait_for(state="hidden")
    assert page.locator(".kanban-column[data-status=contacted] .kanban-card").count() == 1
    assert _reload(live, opp_id) == ("contacted", None)
    card.locator(".kanban-move-menu").click()
    card.locator("[data-move-to=quoted]").click()
    page.locator(".kanban-column[data-status=quoted]").get_by_text("冷水机组").wait_for()
    for _ in range(50):
        if _reload(live, opp_id)[0] == "quoted":
            break
        page.wait_for_timeout(100)
    assert _reload(live, opp_id)[0] == "quoted"


# ----------------------------------------------------------------- homes on the demo data
def _demo(live):
    from core.demo import load_all

    with live.app_context():
        load_all()
        db.session.remove()


def _log_in_demo(page, live, username):
    from core.demo import DEMO_PASSWORD

    page.context.clear_cookies()
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/")


def _expected(live, username):
    """What the cards must say for ``username``, read with plain SQL (not the cards' code)."""
    from core.security.models import Team
    from core.security.models import User
    from modules.crm.models.customer import Customer
    from modules.crm.models.customer import FollowUp
    from modules.crm.models.handover import Handover
    from modules.crm.models.handover import HandoverCustomer
    from modules.crm.models.opportunity import Opportunity
    from modules.pool.queries import rules

    with live.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        now = datetime.now(SHANGHAI)
        today = now.date()
        month = datetime.combine(today.replace(day=1), time.min, SHANGHAI)
        if "manager" in user.role_codes:
            team = db.session.scalar(select(Team).where(Team.manager_id == user.id))
            owners = set(db.session.scalars(select(User.id).where(User.team_id == team.id)))
            owners.add(user.id)
        else:
            owners = {user.id}
        open_statuses = ("new", "contacted", "quoted", "negotiating")
        open_count, open_sum = db.session.execute(
            select(func.count(), func.coalesce(func.sum(Opportunity.estimated_amount), 0))
            .where(Opportunity.owner_id.in_(owners), Opportunity.status.in_(open_statuses))
        ).one()
        won = db.session.scalar(select(func.count()).select_from(Opportunity).where(
            Opportunity.owner_id.in_(owners), Opportunity.status == "won",
            Opportunity.won_at >= month))
        due = 0
        soon = 0
        level_rules = rules()
        in_handover = set(db.session.scalars(
            select(HandoverCustomer.customer_id).join(Handover)
            .where(Handover.stage.not_in(("completed", "cancelled")))))
        for customer in db.session.scalars(select(Customer).where(
                Customer.owner_id == user.id, Customer.status != "in_pool")):
            follows = db.session.scalars(select(FollowUp).where(
                FollowUp.customer_id == customer.id)).all()
            if follows:
                latest = max(follows, key=lambda f: f.follow_up_at)
                if latest.next_follow_up_date and latest.next_follow_up_date <= today:
                    due += 1
            rule = level_rules[customer.customer_level]
            start = customer.owner_since or customer.created_at
            last = max([start, *(f.follow_up_at for f in follows)])
            deadline = last + timedelta(days=rule.inactive_days)
            won_since = db.session.scalar(select(func.count()).select_from(Opportunity).where(
                Opportunity.customer_id == customer.id, Opportunity.status == "won",
                Opportunity.won_at >= start))
            if not won_since:
                deadline = min(deadline, start + timedelta(days=rule.no_deal_days))
            if customer.id not in in_handover and not customer.locked and deadline <= now + timedelta(
                    days=max(rule.remind_days, 1)):
                soon += 1
        review = db.session.scalar(select(func.count()).select_from(Handover).where(
            Handover.stage == "review", Handover.initiator_id != user.id))
        db.session.remove()
    return {"open": open_count, "open_sum": Decimal(open_sum), "won": won, "due": due,
            "soon": soon, "review": review}


def _expected_outside_sales(live, username):
    """The engineer's ticket cards and the warehouse keeper's stock cards, counted with
    plain SQL on the demo data (not through the cards' queries)."""
    from sqlalchemy import text

    with live.app_context():
        uid = db.session.execute(text("SELECT id FROM core_user WHERE username = :u"),
                                 {"u": username}).scalar()
        if username == "engineer1":
            mine = db.session.execute(text(
                "SELECT count(*) FROM service_ticket t WHERE t.status IN"
                " ('pending', 'accepted', 'in_service', 'reopened') AND (t.assignee_id = :u"
                " OR t.id IN (SELECT ticket_id FROM service_ticket_collaborator"
                " WHERE user_id = :u))"), {"u": uid}).scalar()
            waiting = db.session.execute(text(
                "SELECT count(*) FROM service_ticket t WHERE t.status IN ('pending', 'reopened')"
                " AND (t.assignee_id = :u OR t.assignee_id IS NULL)"), {"u": uid}).scalar()
            out = {"service.my_tickets": mine, "service.waiting": waiting}
        else:
            pending = db.session.execute(text(
                "SELECT count(*) FROM stock_part_request WHERE status = 'pending'")).scalar()
            low = db.session.execute(text(
                "SELECT count(*) FROM stock_part p WHERE p.active AND p.min_stock_alert > 0"
                " AND (SELECT coalesce(sum(o.on_hand), 0) FROM stock_on_hand o"
                " WHERE o.part_id = p.id) < p.min_stock_alert")).scalar()
            out = {"stock.pending_requests": pending, "stock.low_stock": low}
        db.session.remove()
    assert any(out.values())  # a demo in which these cards have something to show
    return out


def _expected_for_admin(live):
    from sqlalchemy import text

    with live.app_context():
        one = lambda sql: db.session.execute(text(sql)).scalar()  # noqa: E731
        out = {
            "users": one("SELECT count(*) FROM core_user WHERE active"),
            "apps": one("SELECT count(*) FROM core_module WHERE state = 'installed'"),
            "failed": one("SELECT count(*) FROM core_job_failure WHERE final"
                          " AND retried_at IS NULL"),
            "unread": one("SELECT count(*) FROM core_inbox_message m JOIN core_user u"
                          " ON u.id = m.user_id WHERE u.username = 'admin'"
                          " AND m.read_at IS NULL"),
        }
        db.session.remove()
    return out


def _wan(amount):
    """How a KPI writes an amount: in 万 from 10万 on."""
    return f"¥{amount / 10000:,.2f}万" if amount >= 100000 else f"¥{amount:,.2f}"


def _kpi(page, card, label):
    return page.inner_text(f"[data-card='{card}'] [data-kpi='{label}'] .kpi-value")


def _total(page, card):
    return int(page.get_attribute(f"[data-card='{card}'] [data-total]", "data-total"))


def test_every_demo_login_has_a_home_with_the_right_counts(page, live):
    _demo(live)
    for username in ("sales1", "sales2", "sales3"):
        want = _expected(live, username)
        _log_in_demo(page, live, username)
        assert _kpi(page, "crm.my_opportunities", "进行中的商机") == str(want["open"])
        assert _kpi(page, "crm.my_opportunities", "进行中金额") == _wan(want["open_sum"])
        assert _kpi(page, "crm.my_opportunities", "本月成交") == str(want["won"])
        assert _total(page, "crm.follow_ups_due") == want["due"]
        assert _total(page, "pool.due_soon") == want["soon"]
        assert page.locator("[data-card='crm.team']").count() == 0
        assert page.locator("[data-card='crm.handovers_to_review']").count() == 0
    sales1 = _expected(live, "sales1")
    assert sales1["due"] > 0 and sales1["soon"] > 0 and sales1["open"] > 0  # a useful demo
    want = _expected(live, "manager")
    _log_in_demo(page, live, "manager")
    assert _kpi(page, "crm.team", "进行中的商机") == str(want["open"])
    assert _kpi(page, "crm.team", "进行中金额") == _wan(want["open_sum"])
    assert _total(page, "crm.handovers_to_review") == want["review"]
    page.click("[data-card='crm.team'] [data-kpi='进行中的商机']")
    assert "/crm/opportunities/board" in page.url
    # An engineer and a warehouse keeper get no sales cards, but their own apps' cards,
    # with the counts that plain SQL finds in the demo data.
    for username, theirs in (("engineer1", "service."), ("warehouse1", "stock.")):
        want = _expected_outside_sales(live, username)
        _log_in_demo(page, live, username)
        assert page.locator("[data-card^='crm.'], [data-card^='pool.']").count() == 0
        assert page.locator(f"[data-card^='{theirs}']").count() > 0
        assert page.locator("#workspace-hint").count() == 0
        for card, count in want.items():
            assert _total(page, card) == count, card
    # The administrator's system overview and unread notifications, against plain SQL.
    want = _expected_for_admin(live)
    _log_in_demo(page, live, "admin")
    assert _kpi(page, "core.admin", "启用的用户") == f"{want['users']:,}"
    assert _kpi(page, "core.admin", "已安装应用") == str(want["apps"])
    assert _kpi(page, "core.admin", "失败的后台任务") == str(want["failed"])
    assert _total(page, "core.notifications") == want["unread"]
    _log_in_demo(page, live, "sales1")
    page.click("[data-card='crm.follow_ups_due'] a:has-text('查看全部'), "
               "[data-card='crm.follow_ups_due'] .workspace-items a >> nth=0")
    assert "/crm/customers" in page.url


# ------------------------------------------------------------------------- global search
def test_global_search_by_partial_phone_never_finds_another_salespersons_customer(page, live):
    from modules.crm.services.customers import create_customer

    li = live.user("li", "sales")
    sun = live.user("sun", "sales")
    with live.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            create_customer(ctx, {"customer_name": "上海恒通机电设备有限公司",
                                  "customer_type": "enterprise", "phone": "13912345678",
                                  "tax_id": "91310000MA1FL0000N", "owner_id": li.id})
            create_customer(ctx, {"customer_name": "孙的客户", "phone": "13912349999",
                                  "owner_id": sun.id})
        db.session.remove()
    log_in(page, live, "li")
    page.keyboard.press("/")  # the shortcut focuses the navbar's search
    page.keyboard.type("1234")
    dropdown = page.locator("#global-search-results")
    dropdown.get_by_text("上海恒通机电设备有限公司").wait_for()
    assert "孙的客户" not in dropdown.inner_text()
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=1234")
    results = page.locator("[data-searcher='crm.customers']")
    assert "上海恒通机电设备有限公司" in results.inner_text()
    assert "孙的客户" not in page.content()
    page.goto(f"{live.url}/search?q=9999")
    assert "孙的客户" not in page.content()
    assert page.locator("#search-empty").count() == 1 or page.locator(
        "[data-searcher='crm.customers'] .list-group-item").count() == 0


# ------------------------------------------------------------------------------ analytics
def test_a_salesperson_sees_his_own_figures_drawn_with_quick_ranges(page, live):
    from modules.crm.models.opportunity import Opportunity
    from modules.crm.models.opportunity import Quote

    li = live.user("li", "sales")
    sun = live.user("sun", "sales")
    opp_id = _opportunity(live, li, status="negotiating")
    with live.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            opp = db.session.get(Opportunity, opp_id)
            opp.status, opp.won_at, opp.closed_at = "won", ctx.now, ctx.now
            db.session.add(Quote(opportunity_id=opp.id, amount=Decimal("650000"),
                                 is_current=True))
            db.session.add(Opportunity(customer_id=opp.customer_id, owner_id=sun.id,
                                       status="won", won_at=ctx.now, closed_at=ctx.now,
                                       product_name="孙的单子", quantity=1,
                                       estimated_amount=Decimal("999000")))
        db.session.remove()
    log_in(page, live, "li")
    page.goto(f"{live.url}/crm/analytics/")  # not a 403: his own figures
    assert page.get_attribute("[data-range=month]", "aria-current") == "true"
    page.locator("#amounts .chart-canvas svg").first.wait_for()  # ECharts drew it
    assert "¥650,000.00" in page.inner_text("#performance")
    assert "sun" not in page.inner_text("#performance")
    assert "999,000" not in page.content() and "孙的单子" not in page.content()
    page.click("[data-range=year]")
    page.wait_for_url("**range=year")
    page.locator("#owners .chart-canvas svg").first.wait_for()
    assert "¥650,000.00" in page.inner_text("#performance")
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
