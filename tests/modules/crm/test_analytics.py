"""Sales analytics on a known small dataset: funnel counts, won amount, win rate, average
cycle, months, the period in Asia/Shanghai, and who may see what."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm.models.opportunity import Opportunity
from modules.crm.models.opportunity import Quote
from modules.crm.queries import by_month
from modules.crm.queries import funnel
from modules.crm.queries import performance
from tests.conftest import login
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_people

SH = ZoneInfo("Asia/Shanghai")
START = datetime.combine(datetime(2026, 1, 1).date(), time.min, SH)
END = datetime.combine(datetime(2026, 4, 1).date(), time.min, SH)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def data(app_ctx, make_user):
    people = make_people(make_user)
    a, b, c = people["a"], people["b"], people["c"]
    customer = make_customer(a)
    rows = [  # owner, created, status, stage reached, closed (won_at for won), estimate
        (a, "2026-01-05T04:00", "won", "won", "2026-01-15T04:00", "100000"),  # quote 90000
        (a, "2026-02-01T04:00", "won", "won", "2026-02-21T04:00", "50000"),
        (a, "2026-02-10T04:00", "lost", "quoted", "2026-02-20T04:00", "70000"),
        (b, "2026-03-01T04:00", "negotiating", "negotiating", None, "80000"),
        (b, "2026-03-02T04:00", "lost", "new", "2026-03-05T04:00", "20000"),
        (c, "2026-01-10T04:00", "contacted", "contacted", None, "60000"),
        (a, "2025-12-01T04:00", "won", "won", "2026-01-10T04:00", "30000"),  # created before
        (None, "2026-03-10T04:00", "new", "new", None, "40000"),
        # won at 01:00 on 1 April in Shanghai: after the period although 31 March in UTC
        (a, "2026-03-20T04:00", "won", "won", "2026-03-31T17:00", "10000"),
    ]
    with unit_of_work(ServiceContext.system()):
        for owner, created, status, stage, closed, amount in rows:
            opp = Opportunity(customer_id=customer.id, owner_id=owner.id if owner else None,
                              product_name="中央空调", quantity=1,
                              estimated_amount=Decimal(amount), status=status,
                              stage_reached=stage, created_at=utc(created),
                              closed_at=utc(closed) if closed else None,
                              won_at=utc(closed) if status == "won" else None)
            db.session.add(opp)
            if amount == "100000":
                db.session.flush()
                db.session.add(Quote(opportunity_id=opp.id, amount=Decimal("80000"),
                                     is_current=False))
                db.session.add(Quote(opportunity_id=opp.id, amount=Decimal("90000"),
                                     is_current=True))
    return people


def test_funnel_counts_the_furthest_stage_reached(data):
    rows = funnel(ctx_for(data["admin"]), START, END)
    assert [(r["status"], r["count"]) for r in rows] == [
        ("new", 8), ("contacted", 6), ("quoted", 5), ("negotiating", 4), ("won", 3),
        ("lost", 2)]
    assert rows[0]["rate"] == 1.0 and rows[4]["rate"] == 3 / 8
    assert rows[2]["step"] == 5 / 6
    team = funnel(ctx_for(data["manager"]), START, END)  # without c's opportunity
    assert [r["count"] for r in team] == [7, 5, 5, 4, 3, 2]


def test_performance_by_owner(data):
    a, b, c = data["a"], data["b"], data["c"]
    rows = performance(ctx_for(data["admin"]), START, END)
    by_owner = {r["owner_id"]: r for r in rows}
    assert rows[0]["owner_id"] == a.id
    row = by_owner[a.id]
    assert (row["created"], row["won"], row["lost"]) == (4, 3, 1)
    assert row["won_amount"] == Decimal("170000.00")  # 90000 quoted + 50000 + 30000
    assert row["win_rate"] == 0.75
    assert row["avg_cycle_days"] == 23.3  # (10 + 20 + 40) / 3
    assert (by_owner[b.id]["won"], by_owner[b.id]["lost"], by_owner[b.id]["win_rate"]) == (
        0, 1, 0.0)
    assert by_owner[b.id]["avg_cycle_days"] is None
    assert by_owner[c.id]["win_rate"] is None and by_owner[c.id]["created"] == 1
    assert by_owner[None]["owner"] == "待认领"
    team = {r["owner_id"] for r in performance(ctx_for(data["manager"]), START, END)}
    assert team == {a.id, b.id, None}


def test_won_by_month(data):
    months = by_month(ctx_for(data["admin"]), START, END)
    assert [(m["month"], m["won"], m["won_amount"]) for m in months] == [
        ("2026-01", 2, Decimal("120000.00")), ("2026-02", 1, Decimal("50000.00")),
        ("2026-03", 0, Decimal("0.00"))]


def test_page_and_access(client, data):
    """Everyone who reads opportunities sees his own figures (record rules, not a 403): a
    salesperson his, a manager his team's."""
    a_rows = performance(ctx_for(data["a"]), START, END)
    assert {r["owner"] for r in a_rows} <= {data["a"].name, "待认领"}
    login(client, data["a"])
    page = client.get("/crm/analytics/?from=2026-01-01&to=2026-03-31").get_data(as_text=True)
    assert "我的商机" in page and data["b"].name not in page
    client = client.application.test_client()
    login(client, data["manager"])
    page = client.get("/crm/analytics/?from=2026-01-01&to=2026-03-31").get_data(as_text=True)
    assert 'id="funnel"' in page and '<li data-stage="won">成交：3 · 43%</li>' in page
    assert 'id="amounts"' in page and 'id="counts"' in page and 'id="owners"' in page
    assert "<td>2026-01</td><td>2</td><td>¥120,000.00</td>" in page  # the months' table
    assert "¥170,000.00" in page and "75%" in page and "23.3" in page
    assert client.get("/crm/analytics/?from=bad&to=2026-13-01").status_code == 200


def test_quick_ranges_and_exports(client, data):
    from datetime import date

    from modules.crm.web.analytics import quick_range

    today = date(2026, 5, 20)
    assert quick_range("month", today) == (date(2026, 5, 1), today)
    assert quick_range("quarter", today) == (date(2026, 4, 1), today)
    assert quick_range("year", today) == (date(2026, 1, 1), today)
    assert quick_range("nope", today) is None
    login(client, data["manager"])
    page = client.get("/crm/analytics/").get_data(as_text=True)  # this month by default
    assert 'data-range="month" aria-current="true"' in page
    assert 'data-range="quarter"' in page and 'data-range="year"' in page
    csv = client.get("/crm/analytics/?from=2026-01-01&to=2026-03-31&export=csv&chart=months")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert "月份,成交数量,成交金额" in text and "2026-01,2,"in text
    xlsx = client.get("/crm/analytics/?from=2026-01-01&to=2026-03-31&export=xlsx&chart=owners")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get("/crm/analytics/?export=csv&chart=nope").status_code == 400


def test_the_overviews_won_amount_joins_the_current_quote(data):
    """The overview's won amount counts the current quote (not the superseded one), as
    the sales analytics do, and reads it through a join: the correlated sub-select it
    was ran once per won opportunity (bench/README.md, analytics)."""
    from sqlalchemy import event

    from modules.crm.dashboard import won_amount

    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        count, amount = won_amount(ctx_for(data["admin"]), START, END)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    # 90000 quoted + 50000 + 30000 (won on 10 January); not the 1 April one.
    assert (count, amount) == (3, Decimal("170000.00"))
    (statement,) = [s for s in seen if "crm_quote" in s]
    assert "JOIN crm_quote" in statement
    assert "(SELECT crm_quote.amount" not in statement
