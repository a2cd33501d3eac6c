"""crm lists at scale: 100,000 customers and 300,000 opportunities on PostgreSQL.

Customer and opportunity list pages (filter + sort + page, as a manager whose team's record
rule applies), the opportunities API list, and the kanban column counts — each next to the
equivalent hand-written SQL in the same run."""

from __future__ import annotations

import random
from datetime import timedelta
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
from core.security.models import Team
from core.services import ServiceContext
from core.services import unit_of_work

LEVELS = ("important", "normal", "potential")
STATUSES = ("new", "contacted", "quoted", "negotiating", "won", "lost")
# The record rule's second half: unowned opportunities still open (waiting to be claimed).
UNOWNED = "(owner_id IS NULL AND status IN ('new', 'contacted', 'quoted', 'negotiating'))"
UNOWNED_O = UNOWNED.replace("owner_id", "o.owner_id").replace("status", "o.status")
# A list row's owner name (his display name, else his user name).
OWNER_NAME = "coalesce(nullif(u.display_name, ''), u.username) AS owner_name"
# The names a card shows (customer, owner) and the joins they come from.
NAMED_FROM = ("u.display_name, u.username FROM crm_opportunity o JOIN crm_customer c ON "
              "c.id = o.customer_id LEFT JOIN core_user u ON u.id = o.owner_id")


def main(url: str, *, scale: float, repeat: int, instance: str) -> str:
    n_customers, n_opps = int(100_000 * scale), int(300_000 * scale)
    app = installed_app(url, instance, ["crm"])
    token, team_ids = populate(app, n_customers, n_opps)
    client = served_client(app)
    timed = cases(client, token, team_ids)
    timed += limit_cases(app, url, n_customers)
    for case in timed:  # every page must answer 200 first
        assert getattr(case.run(), "status_code", 200) == 200, case.name
    results = [measure(c, repeat=repeat, app=app) for c in timed]
    return report(results, f"crm ({n_customers:,} customers, {n_opps:,} opportunities, "
                           "PostgreSQL)")


def populate(app: Any, n_customers: int, n_opps: int) -> tuple[str, list[int]]:
    """A manager "boss" with a team of five (of 50 salespeople) and the generated rows;
    returns the manager's API token and the team's user ids, the manager's last."""
    from core.security.services import create_user
    from core.security.services import issue_token

    with app.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            team = Team(name="一组")
            db.session.add(team)
            db.session.flush()
            manager = create_user(ctx, "boss", roles=["manager"], password="bench-password-1",
                                  team=team)
            team.manager_id = manager.id
            sales = [create_user(ctx, f"s{i}", roles=["sales"], team=team if i < 5 else None)
                     for i in range(50)]
            token = issue_token(ctx, manager)
        owner_ids = [u.id for u in sales]
        team_ids = [u.id for u in sales[:5]] + [manager.id]
        rnd = random.Random(7)
        now = utcnow()
        customers = db.metadata.tables["crm_customer"]
        insert_rows(customers, ({
            "customer_type": "individual", "customer_name": f"客户{i:06d}",
            "phone": f"139{i:08d}", "customer_level": LEVELS[i % 3], "status": "active",
            "owner_id": rnd.choice(owner_ids), "owner_since": now - timedelta(days=i % 300),
            "last_follow_up_at": now - timedelta(hours=i % 5000), "locked": False,
            "created_at": now - timedelta(minutes=i), "updated_at": now,
        } for i in range(n_customers)), n_customers, "customers")
        first = db.session.scalar(select(customers.c.id).order_by(customers.c.id).limit(1))
        opps = db.metadata.tables["crm_opportunity"]
        insert_rows(opps, ({
            "customer_id": first + (i % n_customers), "product_name": f"中央空调{i % 50}",
            "quantity": 1 + i % 9, "estimated_amount": 1000 + (i % 997) * 100,
            "status": STATUSES[i % 6], "owner_id": rnd.choice(owner_ids),
            "created_at": now - timedelta(minutes=i), "updated_at": now,
        } for i in range(n_opps)), n_opps, "opportunities")
        settle()
    return token, team_ids


def cases(client: Any, token: str, team_ids: list[int]) -> list[Case]:
    """The timed pages, logged in as the manager, each with its hand-written SQL: what the
    page reads to show (the rows with the names they carry and the capped count, in one
    statement as the pages read them; the unread badge of the header), not what it keeps
    while the auth epoch stays the same (the user and his grants, the owner filter's
    choices)."""
    client.post("/login", data={"username": "boss", "password": "bench-password-1"})
    headers = {"Authorization": f"Bearer {token}"}
    team = ",".join(str(i) for i in team_ids)
    badge = ("SELECT count(*) FROM core_inbox_message WHERE read_at IS NULL AND user_id = "
             f"{team_ids[-1]}")  # the manager's
    return [
        Case("customer list: level=important, sort -last_follow_up, page 1 (manager)",
             lambda: client.get("/crm/customers/?customer_level=important&sort=-last_follow_up"),
             ["SELECT c.id, c.customer_type, c.customer_name, c.phone, c.customer_level, "
              f"c.tags, c.status, c.last_follow_up_at, {OWNER_NAME}, (SELECT count(*) FROM "
              "(SELECT 1 FROM crm_customer WHERE customer_level = 'important' AND (owner_id IN "
              f"({team}) OR status = 'in_pool') LIMIT 10001) t) AS total FROM crm_customer c "
              "LEFT JOIN core_user u ON u.id = c.owner_id WHERE c.customer_level = 'important' AND "
              f"(c.owner_id IN ({team}) OR c.status = 'in_pool') "
              "ORDER BY c.last_follow_up_at DESC, c.id DESC LIMIT 50", badge]),
        Case("opportunity list: status=quoted, amount ≥ 50,000, sort -created_at",
             lambda: client.get("/crm/opportunities/?status=quoted&min=50000"),
             ["SELECT o.id, o.product_name, o.quantity, o.estimated_amount, o.status, "
              f"o.followed_up_at, o.created_at, c.customer_name, {OWNER_NAME}, (SELECT count(*) "
              "FROM (SELECT 1 FROM crm_opportunity WHERE status = 'quoted' AND "
              f"estimated_amount >= 50000 AND (owner_id IN ({team}) OR {UNOWNED}) LIMIT 10001) t"
              ") AS total FROM "
              "crm_opportunity o JOIN crm_customer c ON c.id = o.customer_id LEFT JOIN "
              "core_user u ON u.id = o.owner_id WHERE o.status = 'quoted' AND "
              "o.estimated_amount >= 50000 "
              f"AND (o.owner_id IN ({team}) OR {UNOWNED_O}) "
              "ORDER BY o.created_at DESC, o.id DESC LIMIT 50", badge]),
        Case("GET /api/v1/opportunities?status=negotiating (manager)",
             lambda: client.get("/api/v1/opportunities?status=negotiating", headers=headers),
             ["SELECT o.*, c.customer_name, q.id, q.amount, q.valid_until, q.created_at, "
              "(SELECT count(*) FROM (SELECT 1 FROM "
              f"crm_opportunity WHERE status = 'negotiating' AND (owner_id IN ({team}) OR "
              f"{UNOWNED}) LIMIT 10001) t) AS total FROM crm_opportunity o "
              "JOIN crm_customer c ON c.id = o.customer_id LEFT JOIN crm_quote q ON "
              "q.opportunity_id = o.id AND q.is_current WHERE o.status = 'negotiating' AND "
              f"(o.owner_id IN ({team}) OR {UNOWNED_O}) ORDER BY o.created_at DESC, o.id DESC "
              "LIMIT 51"]),
        Case("kanban page: 6 column counts + first cards (manager)",
             lambda: client.get("/crm/opportunities/board"),
             ["SELECT status, count(*) FROM crm_opportunity WHERE "
              f"owner_id IN ({team}) OR {UNOWNED} GROUP BY status"]
             + [f"SELECT o.*, c.customer_name, {NAMED_FROM} WHERE o.status = '{s}' AND "
                f"(o.owner_id IN ({team}) OR {UNOWNED_O}) ORDER BY o.id DESC LIMIT 30"
                for s in STATUSES] + [badge]),
    ]


def limit_cases(app: Any, url: str, n_customers: int) -> list[Case]:
    """The customer list against what a page can cost at best (its SQL's rows rendered by
    the same template with the bare driver and plain Jinja, ``bench.page_baseline``), and
    at depth: the row 100,000 (or the last page when there are fewer rows) reached by the
    page's next links (keyset) and by a typed page number (OFFSET). As an administrator:
    the whole list, no record rule."""
    from types import SimpleNamespace

    from bench.common import admin_token
    from bench.page_baseline import customer_list
    from core.security.models import User
    from modules.crm.models.customer import Customer
    from modules.crm.web.customers import CUSTOMERS

    admin_token(app, "root")
    client = served_client(app)
    client.post("/login", data={"username": "root", "password": "bench-password-1"})
    with app.app_context():
        admin_id = db.session.scalar(select(User.id).where(User.username == "root"))
        depth = max(1, min(100_000, n_customers - 50))
        value, row_id = db.session.execute(
            select(Customer.last_follow_up_at, Customer.id)
            .order_by(Customer.last_follow_up_at.desc(), Customer.id.desc())
            .offset(depth - 1).limit(1)).one()
        db.session.remove()
    sort = "-last_follow_up"
    after = CUSTOMERS._cursor(sort, SimpleNamespace(last_follow_up_at=value, id=row_id))
    page = depth // 50 + 1
    columns = ("SELECT c.id, c.customer_type, c.customer_name, c.phone, c.customer_level, "
               f"c.tags, c.status, c.last_follow_up_at, {OWNER_NAME}, (SELECT count(*) FROM "
               "(SELECT 1 FROM crm_customer LIMIT 10001) t) AS total FROM crm_customer c "
               "LEFT JOIN core_user u ON u.id = c.owner_id ")
    order = " ORDER BY c.last_follow_up_at DESC, c.id DESC LIMIT 50"
    badge = ("SELECT count(*) FROM core_inbox_message WHERE read_at IS NULL AND user_id = "
             f"{admin_id}")
    stamp = value.isoformat(sep=" ") if url.startswith("postgresql") else \
        value.replace(tzinfo=None).isoformat(sep=" ")
    keyset = (f"WHERE c.last_follow_up_at <= '{stamp}' AND (c.last_follow_up_at < "
              f"'{stamp}' OR c.id < {row_id})")
    baseline = customer_list(url, columns + order, badge, {"sort": sort}, "root")
    return [
        Case("customer list, sort -last_follow_up, page 1 (admin)",
             lambda: client.get(f"/crm/customers/?sort={sort}"), [columns + order, badge]),
        Case("  the same page: psycopg + the same template, no ORM/Flask (baseline)",
             baseline, [columns + order, badge]),
        Case(f"  the same list at row {depth:,}: next links (keyset, page {page:,})",
             lambda: client.get(f"/crm/customers/?sort={sort}&page={page}&after={after}"),
             [columns + keyset + order, badge]),
        Case(f"  the same list at row {depth:,}: typed page number (OFFSET)",
             lambda: client.get(f"/crm/customers/?sort={sort}&page={page}"),
             [columns + order + f" OFFSET {(page - 1) * 50}", badge]),
    ]
