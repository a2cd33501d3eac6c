"""The business overview (驾驶舱) and the service analytics at full scale (scale 1):
100,000 customers, 300,000 opportunities, 100,000 orders, 200,000 equipment and 1,000,000
tickets over two years, on PostgreSQL.

Timed: ``GET /overview`` for a manager (no record rule on tickets, his team's
opportunities and orders) and a salesperson (his own) for 本月 and for 本年 (the widest
quick range: half the tickets fall in it), and the service analytics page for 本周, each
next to the same aggregates written by hand as GROUP BY / COUNT statements over the same
period (with the reads the page needs for them: the pool's rules, the parts consumed, the
engineers' names), from a connection checkout to its ROLLBACK. And each overview figure
as the page computes it: its permission check and ``compute`` inside a request already
open with its user loaded (``Case.within``: the page does that once for all its figures),
next to its statements on a connection whose transaction is open. The data generators follow
``bench_crm``, ``bench_equipment`` and ``bench_service`` (same shapes, same ``insert_rows``
COPY path)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from bench.common import installed_app
from bench.common import served_client
from bench.harness import Case
from bench.harness import insert_rows
from bench.harness import measure
from bench.harness import report
from bench.harness import settle
from core.db import utcnow
from core.extensions import db
from core.periods import local_today
from core.periods import quick_period
from core.security.models import Team
from core.security.models import User
from core.services import ServiceContext
from core.services import unit_of_work
from modules.service.services.sla import calendar
from modules.service.sla import WorkCalendar
from modules.service.sla import ticket_minutes

LEVELS = ("important", "normal", "normal")
OPP_STATUSES = ("new", "contacted", "quoted", "negotiating", "won", "lost")
TYPES = ("repair", "repair", "repair", "maintenance", "complaint", "installation", "inquiry")
CLOSED = ("closed", "closed", "closed", "resolved", "cancelled")
OPEN = ("pending", "accepted", "in_service")
STAGE = {"pending": "todo", "accepted": "doing", "in_service": "doing", "resolved": "resolved",
         "closed": "closed", "cancelled": "closed"}
BRANDS = ("大金", "格力", "美的", "约克", "开利")
CAUSES = ("滤网堵塞导致风量不足", "压缩机过热", "排水管弯折", "控制板受潮", "冷媒泄漏",
          "风机轴承磨损", "传感器故障", "电源接触不良")
OPEN_SQL = "('pending','accepted','in_service','reopened')"
LOW_SQL = ("SELECT count(*) FROM stock_part WHERE active AND min_stock_alert > 0 AND "
           "on_hand_total < min_stock_alert")


class _Ok:
    status_code = 200


def main(url: str, *, scale: float, repeat: int, instance: str) -> str:
    n_customers = max(int(100_000 * scale), 50)
    n_opps = max(int(300_000 * scale), 50)
    n_orders = max(int(100_000 * scale), 50)
    n_units = max(int(200_000 * scale), 50)
    n_tickets = max(int(1_000_000 * scale), 200)
    app = installed_app(url, instance, ["service", "pool", "stock", "service_stock"])
    info = populate(app, n_customers, n_opps, n_orders, n_units, n_tickets)
    timed = cases(app, info)
    results = [measure(c, repeat=repeat, app=app) for c in timed]
    return report(results, f"analytics ({n_customers:,} customers, {n_opps:,} opportunities, "
                           f"{n_orders:,} orders, {n_units:,} equipment, {n_tickets:,} "
                           "tickets, PostgreSQL)")


def populate(app: Any, n_customers: int, n_opps: int, n_orders: int, n_units: int,
             n_tickets: int) -> dict[str, Any]:
    """A manager "boss" with a team of five (of 50 salespeople), 20 engineers and the rows."""
    from core.security.services import create_user

    with app.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            team = Team(name="一组")
            db.session.add(team)
            db.session.flush()
            manager = create_user(ctx, "boss", roles=["manager"], password="bench-password-1",
                                  team=team)
            team.manager_id = manager.id
            sales = [create_user(ctx, f"s{i}", roles=["sales"], team=team if i < 5 else None,
                                 password="bench-password-1") for i in range(50)]
            engineers = [create_user(ctx, f"eng{i}", roles=["engineer"]) for i in range(20)]
        owner_ids = [u.id for u in sales]
        engineer_ids = [u.id for u in engineers]
        info = {"manager": manager.id, "team": [u.id for u in sales[:5]] + [manager.id],
                "sales": owner_ids[0]}
        rnd = random.Random(19)
        now = utcnow()
        today = now.date()
        customers = db.metadata.tables["crm_customer"]
        insert_rows(customers, ({
            "customer_type": "enterprise", "customer_name": f"客户{i:06d}有限公司",
            "phone": f"139{i:08d}", "customer_level": LEVELS[i % 3], "status": "active",
            "owner_id": owner_ids[i % len(owner_ids)],
            "owner_since": now - timedelta(days=i % 400),
            "last_follow_up_at": now - timedelta(hours=i % 800), "locked": False,
            "created_at": now - timedelta(days=400), "updated_at": now,
        } for i in range(n_customers)), n_customers, "customers")
        first = db.session.scalar(select(customers.c.id).order_by(customers.c.id).limit(1))
        owner_of = {first + i: owner_ids[i % len(owner_ids)] for i in range(n_customers)}
        span = timedelta(days=730)

        def when(i: int, n: int) -> Any:
            return now - span * (n - i) / n

        opps = db.metadata.tables["crm_opportunity"]

        def opp(i: int) -> dict[str, Any]:
            status = OPP_STATUSES[i % 6]
            created = when(i, n_opps)
            customer = first + (i * 7) % n_customers
            return {"customer_id": customer, "product_name": f"中央空调{i % 50}",
                    "quantity": 1 + i % 9, "estimated_amount": 1000 + (i % 997) * 100,
                    "status": status, "owner_id": owner_of[customer],
                    "won_at": created + timedelta(days=3) if status == "won" else None,
                    "closed_at": created + timedelta(days=3) if status in ("won", "lost")
                    else None, "created_at": created, "updated_at": now}

        insert_rows(opps, (opp(i) for i in range(n_opps)), n_opps, "opportunities")
        orders = db.metadata.tables["sales_order"]

        def order(i: int) -> dict[str, Any]:
            customer = first + (i * 3) % n_customers
            created = when(i, n_orders)
            return {"order_no": f"SO{i:012d}", "customer_id": customer,
                    "total_amount": 5000 + (i % 300) * 100,
                    "status": ("completed", "installed", "delivered", "paid")[i % 4],
                    "sales_user_id": owner_of[customer], "created_at": created,
                    "install_date": (created + timedelta(days=10)).date(), "updated_at": now}

        insert_rows(orders, (order(i) for i in range(n_orders)), n_orders, "orders")
        units = db.metadata.tables["equipment_equipment"]
        insert_rows(units, ({
            "equipment_no": f"EQ2026{i:07d}", "customer_id": first + (i % n_customers),
            "equipment_type": "空调", "brand": BRANDS[(i // 5) % 5], "model": f"M-{i % 40}",
            "serial_number": f"SN{i:09d}", "warranty_months": 36, "status": "in_use",
            "maintenance_cycle_days": 90, "maintenance_cycle_months": 0,
            "created_at": now, "updated_at": now} for i in range(n_units)), n_units,
            "equipment")
        first_unit = db.session.scalar(select(units.c.id).order_by(units.c.id).limit(1))
        tickets = db.metadata.tables["service_ticket"]
        cal = calendar()
        cal = WorkCalendar(cal.intervals, lru_cache(maxsize=None)(cal.is_workday))

        def ticket(i: int) -> dict[str, Any]:
            created = when(i, n_tickets)
            recent = (n_tickets - i) < n_tickets // 50  # the last two weeks: some still open
            status = rnd.choice(OPEN) if recent and i % 3 == 0 else rnd.choice(CLOSED)
            done = status in ("resolved", "closed")
            resolved = created + timedelta(hours=2 + i % 70) if done else None
            rated = done and i % 3 == 0
            kind = TYPES[i % len(TYPES)]
            responded = created + timedelta(minutes=5 + i % 300)
            # As the services stamp them when a ticket is answered and resolved.
            response, resolution = ticket_minutes(cal, created, responded, resolved, [])
            return {
                "ticket_no": f"AS{i:010d}", "ticket_type": kind, "subject": f"故障 {i}",
                "description": "", "priority": ("normal", "high", "urgent", "low")[i % 4],
                "channel": "web", "customer_id": first + (i % n_customers),
                "equipment_id": first_unit + (i % n_units) if kind == "repair" else None,
                "warranty_status": "unknown", "status": status, "stage": STAGE[status],
                "progress": 100 if done else 0,
                "assignee_id": engineer_ids[i % len(engineer_ids)],
                "sla_state": ("met" if i % 7 else "breached") if done else "resolution_due",
                "first_response_at": responded, "response_minutes": response,
                "resolution_minutes": resolution, "sla_pauses": [],
                "resolved_at": resolved, "root_cause": CAUSES[i % len(CAUSES)] if done else None,
                "rating": 1 + (i * 7) % 5 if rated else None,
                "rated_at": resolved + timedelta(hours=5) if rated else None,
                "survey_state": "rated" if rated else "none",
                "resolution_due_at": created + timedelta(hours=24),
                "created_at": created, "updated_at": created}

        insert_rows(tickets, (ticket(i) for i in range(n_tickets)), n_tickets, "tickets")
        parts = db.metadata.tables["stock_part"]
        n_parts = max(n_tickets // 500, 20)
        insert_rows(parts, ({
            "part_code": f"P{i:06d}", "part_name": f"配件{i}", "category": "other",
            "unit": "个", "min_stock_alert": 10, "on_hand_total": i % 40, "active": True,
            "average_cost": 10, "reorder_quantity": 0, "created_at": now, "updated_at": now,
        } for i in range(n_parts)), n_parts, "parts")
        db.session.commit()
        settle()
        info["today"] = today
    return info


def _bounds(period: Any) -> dict[str, Any]:
    return {"lo": period.start.astimezone(UTC), "hi": period.end.astimezone(UTC),
            "plo": period.prev_start.astimezone(UTC), "phi": period.prev_end.astimezone(UTC)}


def overview_sql(owners: str | None, tickets: str, pg: bool = True) -> list[str]:
    """Every figure's aggregate by hand: ``owners`` restricts opportunities and orders (None:
    all; opportunities as crm's rule has it: those owners' and the unowned open ones waiting
    to be claimed), ``tickets`` is the tickets' record rule as SQL."""
    opp = (f"AND (o.owner_id IN {owners} OR (o.owner_id IS NULL AND o.status IN ('new', "
           "'contacted', 'quoted', 'negotiating')))") if owners else ""
    order = f"AND sales_user_id IN {owners}" if owners else ""
    won = ("SELECT count(*), coalesce(sum(coalesce(q.amount, o.estimated_amount)), 0) "
           "FROM crm_opportunity o LEFT JOIN crm_quote q ON q.opportunity_id = o.id AND "
           f"q.is_current WHERE o.status = 'won' {opp} AND o.won_at >= :{{lo}} "
           "AND o.won_at < :{hi}")
    orders = (f"SELECT count(*) FROM sales_order WHERE true {order} AND created_at >= :{{lo}} "
              "AND created_at < :{hi}")
    sla = ("SELECT count(*), sum(CASE WHEN sla_state = 'met' THEN 1 ELSE 0 END) FROM "
           f"service_ticket t WHERE {tickets} AND resolved_at >= :{{lo}} AND resolved_at < "
           ":{hi} AND sla_state IN ('met', 'breached')")
    epoch = ("extract(epoch FROM created_at)" if pg
             else "(julianday(created_at) - 2440587.5) * 86400")
    rating = (f"SELECT avg(rating), count(rating) FROM service_ticket t WHERE {tickets} AND "
              "rating IS NOT NULL AND rated_at >= :{lo} AND rated_at < :{hi}")
    return [
        won.format(lo="lo", hi="hi"), won.format(lo="plo", hi="phi"),
        orders.format(lo="lo", hi="hi"), orders.format(lo="plo", hi="phi"),
        f"SELECT count(*) FROM sales_order WHERE true {order} AND install_date = :today "
        "AND status <> 'cancelled'",
        f"SELECT status, count(*) FROM service_ticket t WHERE {tickets} AND status IN "
        f"{OPEN_SQL} GROUP BY status",
        sla.format(lo="lo", hi="hi"), sla.format(lo="plo", hi="phi"),
        rating.format(lo="lo", hi="hi"), rating.format(lo="plo", hi="phi"),
        f"SELECT count(*), avg({epoch}) FROM service_ticket t WHERE {tickets} AND status IN "
        f"{OPEN_SQL}",
    ]


class _Request:
    """A figure's surroundings on the overview page: a request open, its first statement
    (the registry version and the auth epoch, ``core.web.request_state``) read, the user
    with his roles loaded as the server loads him (``core.security.principal``), as the
    page has them before each figure; the session ended afterwards. ``run`` (timed inside
    it) is what ``core.dashboard.compute_figures`` does for one figure: the permission
    check and the figure's ``compute``."""

    def __init__(self, app: Any, user_id: int) -> None:
        self.app, self.user_id = app, user_id
        self.ctx: ServiceContext | None = None

    @contextmanager
    def __call__(self) -> Iterator[None]:
        from core.security.principal import load_user
        from core.web.request_state import read_request_state

        with self.app.test_request_context("/overview"):
            read_request_state()
            self.ctx = ServiceContext(actor=load_user(self.user_id), source="web")
            try:
                yield
            finally:
                self.ctx = None
                db.session.remove()

    def figure(self, spec: Any, period: Any) -> Any:
        def run() -> Any:
            ctx = self.ctx
            if ctx is None or not (spec.permission is None or ctx.can(spec.permission)):
                raise RuntimeError(f"{spec.id}: not shown to this user")
            if spec.compute(ctx, period) is None:
                raise RuntimeError(f"{spec.id}: no figure")
            return _Ok()

        return run


def cases(app: Any, info: dict[str, Any]) -> list[Case]:
    manager = served_client(app)
    manager.post("/login", data={"username": "boss", "password": "bench-password-1"})
    seller = served_client(app)
    seller.post("/login", data={"username": "s0", "password": "bench-password-1"})
    today = local_today(utcnow())
    month, year, week = (quick_period(n, today) for n in ("month", "year", "week"))
    team = "(" + ",".join(str(i) for i in sorted(info["team"])) + ")"
    me = info["sales"]
    with app.app_context():
        pg = db.engine.dialect.name == "postgresql"
        engineers = "(" + ",".join(str(i) for i in db.session.scalars(
            select(User.id).where(User.username.like("eng%")).order_by(User.id))) + ")"
        db.session.remove()
    # The rule as the app writes it (core.db.in_select).
    mine = f"(SELECT id FROM crm_customer WHERE owner_id = {me})"
    seller_tickets = (f"(t.created_by_id = {me} OR "
                      + (f"(t.customer_id IN {mine} AND t.customer_id = ANY (ARRAY{mine})))"
                         if pg else f"t.customer_id IN {mine})"))
    pool_sql, pool_params = _pool_sql(f"IN {team}")
    from modules.crm.dashboard import figures as crm_figures
    from modules.pool.dashboard import figures as pool_figures
    from modules.sales.dashboard import figures as sales_figures
    from modules.service.dashboard import figures as service_figures
    from modules.stock.dashboard import figures as stock_figures

    spec = {f.id: f for f in (*crm_figures(), *sales_figures(), *service_figures(),
                                      *stock_figures(), *pool_figures())}
    m_params = {**_bounds(month), "today": today}
    y_params = {**_bounds(year), "today": today}
    all_tickets = "true"
    full = overview_sql(team, all_tickets, pg)

    request = _Request(app, info["manager"])

    def one(name: str, key: str, period: Any, sql: list[str], params: Any = None) -> Case:
        return Case(name, request.figure(spec[key], period), sql, params, within=request)

    return [
        Case("GET /overview 本月 (manager)", lambda: manager.get("/overview?range=month"),
             [*full, LOW_SQL, *pool_sql],
             {**m_params, **pool_params}),
        Case("GET /overview 本年 (manager)", lambda: manager.get("/overview?range=year"),
             [*full, LOW_SQL, *pool_sql],
             {**y_params, **pool_params}),
        Case("GET /overview 本年 (salesperson)", lambda: seller.get("/overview?range=year"),
             overview_sql(f"({me})", seller_tickets, pg)
             + _pool_sql(f"= {me}")[0], {**y_params, **pool_params}),
        one("figure: won amount 本年 + previous (manager)", "crm.won_amount", year,
            full[0:2], y_params),
        one("figure: new orders 本年 + previous (manager)", "sales.orders", year, full[2:4],
            y_params),
        one("figure: open tickets by status", "service.open", year, full[5:6], y_params),
        one("figure: within SLA 本年 + previous", "service.within_sla", year, full[6:8],
            y_params),
        one("figure: average rating 本年 + previous", "service.rating", year, full[8:10],
            y_params),
        one("figure: backlog age", "service.backlog_age", year, full[10:11], y_params),
        one("figure: parts below minimum", "stock.below_minimum", year, [LOW_SQL]),
        one("figure: customers about to be recycled (manager)", "pool.due_soon", year,
            pool_sql, pool_params),
        Case("GET /service/analytics 本周 (manager)",
             lambda: manager.get("/service/analytics/?range=week"),
             analytics_sql(engineers, pg), _bounds(week)),
    ]


def _pool_sql(owner: str) -> tuple[list[str], dict[str, Any]]:
    """pool.due_soon by hand: the levels' rules read (as the app must: an admin sets them;
    none saved here, so the defaults apply), then the held customers of ``owner`` (under
    crm's rule, which also shows the pool's) whose rule would recycle them within its
    reminder days, less those with an open order or in an open handover."""
    from modules.pool.queries import DEFAULT_RULES

    now = utcnow()
    params: dict[str, Any] = {}
    levels = []
    for level, rule in DEFAULT_RULES.items():
        ahead = max(rule["remind_days"], 1)
        params[f"{level}_inactive"] = now - timedelta(days=rule["inactive_days"] - ahead)
        params[f"{level}_nodeal"] = now - timedelta(days=rule["no_deal_days"] - ahead)
        start = "coalesce(c.owner_since, c.created_at)"
        levels.append(
            f"(c.customer_level = '{level}' AND (({start} <= :{level}_inactive AND "
            f"(c.last_follow_up_at IS NULL OR c.last_follow_up_at <= :{level}_inactive)) OR "
            f"({start} <= :{level}_nodeal AND NOT EXISTS (SELECT 1 FROM crm_opportunity o "
            f"WHERE o.customer_id = c.id AND o.status = 'won' AND o.won_at >= {start}))))")
    sql = ("SELECT count(*) FROM crm_customer c WHERE (c.owner_id " + owner + " OR c.status = "
           "'in_pool') AND c.status "
           "<> 'in_pool' AND c.owner_id IS NOT NULL AND NOT c.locked AND (" + " OR ".join(levels)
           + ") AND NOT EXISTS (SELECT 1 FROM sales_order so WHERE so.customer_id = c.id AND "
           "so.status IN ('pending','confirmed','paid','delivered','installed')) AND NOT EXISTS "
           "(SELECT 1 FROM crm_handover_customer hc JOIN crm_handover h ON h.id = hc.handover_id "
           "WHERE hc.customer_id = c.id AND h.stage NOT IN ('completed', 'cancelled'))")
    return ["SELECT * FROM pool_rule", sql], params


def analytics_sql(engineers: str, pg: bool = True) -> list[str]:
    """The service analytics page's aggregates, by hand: per period (this week and the
    last) the response and resolution medians and p90 over the working minutes stamped on
    each ticket, by ISO week, type, priority and engineer and over all (grouping sets),
    ratings by score, resolved and reopened, per engineer the tickets closed, hours on
    site, first-time fixes and rating (one GROUP BY, as the app's);
    failures by brand / model / cause and the parts their tickets consumed; the engineers'
    names (``engineers``: their ids as an SQL list), which the page shows and reads once.
    (SQLite, for the tests' tiny run: the minutes read, as the app summarises them
    there.)"""
    pc = ("count({c}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {c}), "
          "percentile_cont(0.9) WITHIN GROUP (ORDER BY {c})")
    week = "to_char(timezone('Asia/Shanghai', created_at), 'IYYY-\"W\"IW')"
    times = (f"SELECT {week}, ticket_type, priority, assignee_id, count(*), "
             + pc.format(c="response_minutes") + ", " + pc.format(c="resolution_minutes")
             + " FROM service_ticket WHERE created_at >= :{lo} AND created_at < :{hi} "
             f"GROUP BY GROUPING SETS (({week}), (ticket_type), (priority), (assignee_id), ())")
    scores = ("SELECT rating, count(*) FROM service_ticket WHERE rating IS NOT NULL AND "
              "rated_at >= :{lo} AND rated_at < :{hi} GROUP BY rating")
    reopened = ("SELECT (SELECT count(*) FROM service_ticket WHERE resolved_at >= :{lo} AND "
                "resolved_at < :{hi}), (SELECT count(DISTINCT l.ticket_id) FROM "
                "service_ticket_action_log l WHERE l.to_status = 'reopened' AND l.ticket_id IN "
                "(SELECT id FROM service_ticket WHERE resolved_at >= :{lo} AND resolved_at < "
                ":{hi}))")
    done = ("(SELECT id, assignee_id, rating FROM service_ticket WHERE resolved_at >= :{lo} "
            "AND resolved_at < :{hi} AND assignee_id IS NOT NULL)")
    # Per engineer: closed, hours on site, first-time fixes (one visit at most, never
    # reopened), rating; the visits of the period's tickets only.
    engineers_sql = (
        "SELECT d.assignee_id, count(*), sum(coalesce(o.hours, 0)), sum(CASE WHEN "
        "coalesce(v.n, 0) <= 1 AND d.id NOT IN (SELECT ticket_id FROM "
        "service_ticket_action_log WHERE to_status = 'reopened') THEN 1 ELSE 0 END), "
        f"avg(d.rating), count(d.rating) FROM {done} d "
        "LEFT JOIN (SELECT ticket_id, count(*) AS n FROM service_visit WHERE ticket_id IN "
        f"(SELECT id FROM {done} x) GROUP BY ticket_id) v ON v.ticket_id = d.id "
        "LEFT JOIN (SELECT ticket_id, user_id, sum({hours}) / 3600.0 AS hours FROM "
        f"service_visit WHERE ticket_id IN (SELECT id FROM {done} y) AND check_out_at IS "
        "NOT NULL GROUP BY ticket_id, user_id) o ON o.ticket_id = d.id AND o.user_id = "
        "d.assignee_id GROUP BY d.assignee_id")
    if not pg:
        times = ("SELECT created_at, ticket_type, priority, assignee_id, response_minutes, "
                 "resolution_minutes FROM service_ticket WHERE created_at >= :{lo} AND "
                 "created_at < :{hi}")
    hours = ("extract(epoch FROM check_out_at - check_in_at)" if pg
             else "(julianday(check_out_at) - julianday(check_in_at)) * 86400")
    out = []
    for lo, hi in (("lo", "hi"), ("plo", "phi")):
        out += [times.format(lo=lo, hi=hi), scores.format(lo=lo, hi=hi),
                reopened.format(lo=lo, hi=hi),
                engineers_sql.format(lo=lo, hi=hi, hours=hours)]
    failing = ("FROM service_ticket t JOIN equipment_equipment e ON e.id = t.equipment_id "
               "WHERE t.created_at >= :lo AND t.created_at < :hi AND t.ticket_type IN "
               "('repair', 'complaint', 'return')")
    out.append(f"SELECT e.brand, e.model, t.root_cause, count(*) {failing} "
               "GROUP BY e.brand, e.model, t.root_cause")
    out.append("SELECT t.root_cause, p.part_code, p.part_name, sum(u.quantity) FROM "
               f"(SELECT t.id, t.root_cause {failing}) t JOIN stock_parts_usage u ON "
               "u.ticket_id = t.id JOIN stock_part p ON p.id = u.part_id "
               "GROUP BY t.root_cause, p.part_code, p.part_name")
    out.append("SELECT id, coalesce(nullif(display_name, ''), username) FROM core_user "
               f"WHERE id IN {engineers}")
    return out
