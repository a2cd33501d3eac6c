"""The business overview (驾驶舱) on the demo data, for every demo login: each figure equals
what plain SQL counts (written here by hand from the record rules, not through the
modules' queries), and each count equals the total of the list it links to; a
salesperson's figures never count another's records."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy import update

from core.extensions import db
from core.periods import local_today
from core.periods import quick_period
from core.registry.models import CoreModule

USERS = ("manager", "sales1", "sales2", "sales3", "engineer1", "warehouse1", "admin")
OPEN = "('pending', 'accepted', 'in_service', 'reopened')"


@pytest.fixture
def demo(app_ctx):
    from core.demo import load_all

    load_all()
    yield app_ctx
    db.session.execute(update(CoreModule).values(demo=False))
    db.session.commit()


def _login(app, username):
    from core.demo import DEMO_PASSWORD

    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def _one(sql, **params):
    return db.session.execute(text(sql), params).one()


def _ids(sql, **params):
    return set(db.session.scalars(text(sql), params))


def _user(username):
    uid = db.session.scalar(text("SELECT id FROM core_user WHERE username = :u"), {"u": username})
    roles = _ids("SELECT role_code FROM core_user_role WHERE user_id = :i", i=uid)
    team = _ids("SELECT u.id FROM core_user u JOIN core_team t ON u.team_id = t.id "
                "WHERE t.manager_id = :i", i=uid) | {uid}
    return uid, roles, team


def _in(ids):
    return "(" + ",".join(str(int(i)) for i in sorted(ids)) + ")" if ids else "(NULL)"


def _bounds(period):
    as_utc = [m.astimezone(UTC).replace(tzinfo=None) for m in
              (period.start, period.end, period.prev_start, period.prev_end)]
    return dict(zip(("lo", "hi", "plo", "phi"), as_utc, strict=True))


def _expected(username, period):
    """Hand-written SQL of every figure the user should see, from the record rules."""
    uid, roles, team = _user(username)
    b = _bounds(period)
    out = {}
    # Opportunities: sales own, managers their team's; others without a rule see all.
    opp = ("1=1" if "admin" in roles else f"o.owner_id = {uid}" if "sales" in roles
           else f"o.owner_id IN {_in(team)}" if "manager" in roles else None)
    if opp is not None and {"sales", "manager", "admin"} & roles:
        won = ("SELECT COUNT(*), COALESCE(SUM(COALESCE(q.amount, o.estimated_amount)), 0) "
               "FROM crm_opportunity o LEFT JOIN crm_quote q ON q.opportunity_id = o.id "
               f"AND q.is_current WHERE o.status = 'won' AND {opp} "
               "AND o.won_at >= :lo AND o.won_at < :hi")
        out["crm.won_amount"] = Decimal(str(_one(won, lo=b["lo"], hi=b["hi"])[1])).quantize(
            Decimal("0.01"))
    # Orders: sales their own, managers their team's, engineers those they install.
    if "admin" in roles or "warehouse" in roles:
        order = "1=1"
    elif "sales" in roles:
        order = f"sales_user_id = {uid}"
    elif "manager" in roles:
        order = f"sales_user_id IN {_in(team)}"
    else:
        order = f"engineer_id = {uid}"
    out["sales.orders"] = _one(f"SELECT COUNT(*) FROM sales_order WHERE {order} "
                               "AND created_at >= :lo AND created_at < :hi",
                               lo=b["lo"], hi=b["hi"])[0]
    today = local_today(datetime.now(UTC))
    out["sales.installs_today"] = _one(
        f"SELECT COUNT(*) FROM sales_order WHERE {order} AND install_date = :d "
        "AND status <> 'cancelled'", d=today)[0]
    # Tickets: engineers theirs, those they help on and the claimable; sales their
    # customers' and those they reported; managers and administrators all.
    if "warehouse" not in roles:
        if "engineer" in roles:
            ticket = (f"(t.assignee_id = {uid} OR t.id IN (SELECT ticket_id FROM "
                      f"service_ticket_collaborator WHERE user_id = {uid}) OR "
                      f"(t.assignee_id IS NULL AND t.status IN {OPEN}))")
        elif "sales" in roles:
            ticket = (f"(t.created_by_id = {uid} OR t.customer_id IN (SELECT id FROM "
                      f"crm_customer WHERE owner_id = {uid}))")
        else:
            ticket = "1=1"
        counts = dict(db.session.execute(text(
            f"SELECT t.status, COUNT(*) FROM service_ticket t WHERE {ticket} "
            f"AND t.status IN {OPEN} GROUP BY t.status")).all())
        out["service.open"] = sum(counts.values())
        out["service.open.parts"] = {s: counts.get(s, 0) for s in
                                     ("pending", "accepted", "in_service", "reopened")}
        met, total = _one(
            "SELECT SUM(CASE WHEN sla_state = 'met' THEN 1 ELSE 0 END), COUNT(*) "
            f"FROM service_ticket t WHERE {ticket} AND sla_state IN ('met', 'breached') "
            "AND resolved_at >= :lo AND resolved_at < :hi", lo=b["lo"], hi=b["hi"])
        out["service.within_sla"] = (met or 0) / total if total else None
        ratings = [r for (r,) in db.session.execute(text(
            f"SELECT rating FROM service_ticket t WHERE {ticket} AND rating IS NOT NULL "
            "AND rated_at >= :lo AND rated_at < :hi"), {"lo": b["lo"], "hi": b["hi"]})]
        out["service.rating"] = sum(ratings) / len(ratings) if ratings else None
        created = [c for (c,) in db.session.execute(text(
            f"SELECT created_at FROM service_ticket t WHERE {ticket} AND status IN {OPEN}"))]
        now = datetime.now(UTC)
        ages = [(now - (c if isinstance(c, datetime) else datetime.fromisoformat(c))
                 .replace(tzinfo=UTC)).total_seconds() / 86400 for c in created]
        out["service.backlog_age"] = sum(ages) / len(ages) if ages else None
    if {"warehouse", "engineer", "manager", "admin"} & roles:
        out["stock.below_minimum"] = _one(
            "SELECT COUNT(*) FROM stock_part WHERE active AND min_stock_alert > 0 "
            "AND on_hand_total < min_stock_alert")[0]
    return out


def _total(client, url):
    page = client.get(url)
    assert page.status_code == 200, url
    found = re.search(r"共 ([\d,]+) 条", page.get_data(as_text=True))
    if found:
        return int(found.group(1).replace(",", ""))
    rows = re.findall(r'<a href="/crm/customers/\d+">', page.get_data(as_text=True))
    return len(rows)


def test_every_demo_login_sees_figures_equal_to_hand_counted_sql(demo):
    from core.dashboard import compute_figures
    from core.security.models import User
    from core.services import ServiceContext

    period = quick_period("year", local_today(datetime.now(UTC)))
    seen_sales = {}
    for username in USERS:
        client = _login(demo, username)
        user = db.session.scalar(db.select(User).where(User.username == username))
        with demo.test_request_context("/overview"):
            shown = {s.spec.id: s for s in compute_figures(ServiceContext(actor=user,
                                                                          source="web"),
                                                           period)}
        assert not any(s.failed for s in shown.values()), username
        expected = _expected(username, period)
        for key, value in expected.items():
            if key == "service.open.parts":
                parts = {p.url.rsplit("=", 1)[1]: int(p.value)
                         for p in shown["service.open"].figure.parts}
                assert parts == value, username
                for part in shown["service.open"].figure.parts:
                    assert _total(client, part.url) == int(part.value), (username, part.url)
                continue
            if key == "stock.below_minimum" and "stock.below_minimum" not in shown:
                continue  # the role does not read parts
            assert key in shown, (username, key)
            got = shown[key].figure.value
            if isinstance(value, float):
                assert got == pytest.approx(value, abs=0.01), (username, key)
            else:
                assert got == value, (username, key, got, value)
        if "sales.orders" in shown:
            assert shown["sales.orders"].figure.previous is not None
        # Every count links to the list that makes it (its total is the figure).
        for key in ("sales.orders", "sales.installs_today", "service.open",
                    "stock.below_minimum", "pool.due_soon"):
            if key in shown:
                assert _total(client, shown[key].figure.url) == shown[key].figure.value, \
                    (username, key)
        # The page answers with the same figures.
        page = client.get("/overview?range=year").get_data(as_text=True)
        for key, item in shown.items():
            assert f'data-figure="{key}"' in page
            assert item.figure.text.replace("&", "&amp;") in page, (username, key)
        if username.startswith("sales"):
            seen_sales[username] = shown
    assert "stock.below_minimum" not in seen_sales["sales1"]
    # Salespeople's own figures add up to no more than the whole (no one counts another's).
    everyone = _expected("admin", period)
    assert sum(s["sales.orders"].figure.value for s in seen_sales.values()) <= \
        everyone["sales.orders"]


def test_a_salespersons_overview_never_counts_another_salespersons_records(demo):
    from core.dashboard import compute_figures
    from core.security.models import User
    from core.services import ServiceContext

    period = quick_period("year", local_today(datetime.now(UTC)))

    def figures(username):
        user = db.session.scalar(db.select(User).where(User.username == username))
        with demo.test_request_context("/overview"):
            return {s.spec.id: s.figure.value for s in
                    compute_figures(ServiceContext(actor=user, source="web"), period)}

    before = figures("sales1")
    other = db.session.scalar(text("SELECT id FROM core_user WHERE username = 'sales2'"))
    # Give sales2 an order, a won opportunity and an open ticket of his customer, now.
    customer = db.session.scalar(text(
        "SELECT id FROM crm_customer WHERE owner_id = :o LIMIT 1"), {"o": other})
    assert customer is not None
    from modules.crm.models.opportunity import Opportunity
    from modules.sales.models import Order
    from modules.service.models import Ticket

    now = datetime.now(UTC)
    db.session.add(Opportunity(customer_id=customer, owner_id=other, status="won",
                               product_name="x", quantity=1, won_at=now,
                               estimated_amount=Decimal("99999")))
    db.session.add(Order(order_no="SO209912310001", customer_id=customer, sales_user_id=other,
                         status="pending"))
    db.session.add(Ticket(ticket_no="AS209912310001", ticket_type="repair", subject="x",
                          customer_id=customer, status="pending", created_by_id=other))
    db.session.commit()
    after = figures("sales1")
    assert after.keys() == before.keys()
    for key, value in before.items():
        assert after[key] == (pytest.approx(value, abs=0.01) if isinstance(value, float)
                              else value), key
    assert figures("sales2")["sales.orders"] >= 1
