"""The delivery and installation calendar: week and month, per engineer, conflicts (two
installations of one engineer on a day), record rules, and the engineer's .ics feed."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

from icalendar import Calendar

from core.services import ServiceContext
from modules.sales import queries
from modules.sales.services.numbering import local_date
from modules.sales.web.calendar import feed_token
from tests.conftest import login
from tests.modules.sales.factories import advance
from tests.modules.sales.factories import make_order


def _plan(people, day):
    e = people["e"]
    first = make_order(people["a"], engineer_id=e.id, delivery_date=day.isoformat(),
                       install_date=(day + timedelta(days=1)).isoformat())
    second = make_order(people["a"], engineer_id=e.id, delivery_date=day.isoformat(),
                        install_date=(day + timedelta(days=1)).isoformat())
    lone = make_order(people["c"], delivery_date=(day + timedelta(days=2)).isoformat())
    return first, second, lone


def test_plan_marks_conflicts_and_follows_record_rules(people):
    day = local_date(ServiceContext.system().now) + timedelta(days=3)
    first, second, lone = _plan(people, day)
    ctx = ServiceContext(actor=people["manager"], source="web")
    events = queries.plan(ctx, day, day + timedelta(days=6))
    assert [(e.kind, e.order.id, e.conflict) for e in events] == [
        ("delivery", first.id, False), ("delivery", second.id, False),
        ("install", first.id, True), ("install", second.id, True)]  # c's order: other team
    admin = ServiceContext(actor=people["admin"], source="web")
    assert lone.id in {e.order.id for e in queries.plan(admin, day, day + timedelta(days=6))}
    advance(people["a"], second, "confirmed", "paid", "delivered")
    events = queries.plan(ctx, day, day + timedelta(days=6))
    assert [(e.kind, e.order.id, e.conflict) for e in events] == [
        ("delivery", first.id, False), ("install", first.id, True),
        ("install", second.id, True)]


def test_calendar_page_week_month_and_engineer_filter(client, people):
    today = local_date(ServiceContext.system().now)
    first, _second, _lone = _plan(people, today)
    login(client, people["manager"])
    week = client.get("/sales/calendar/").get_data(as_text=True)
    assert first.order_no in week and 'id="conflicts"' in week
    month = client.get(f"/sales/calendar/?view=month&date={today}").get_data(as_text=True)
    assert first.order_no in month
    other = client.get(f"/sales/calendar/?engineer_id={people['b'].id}").get_data(as_text=True)
    assert first.order_no not in other
    assert client.get("/sales/calendar/?view=year").status_code == 400
    assert client.get("/sales/calendar/?date=2026-13-01").status_code == 400


def test_ics_feed_is_signed_and_scoped(client, people):
    today = local_date(ServiceContext.system().now)
    first, _second, lone = _plan(people, today)
    response = client.get(f"/sales/calendar/feed/{feed_token(people['e'].id)}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal = Calendar.from_ical(response.data)
    summaries = sorted(str(c["summary"]) for c in cal.walk("VEVENT"))
    assert len(summaries) == 4 and all(lone.order_no not in s for s in summaries)
    assert any("冲突" in s and first.order_no in s for s in summaries)
    starts = {c.decoded("dtstart") for c in cal.walk("VEVENT")}
    assert starts == {today, today + timedelta(days=1)}
    assert client.get("/sales/calendar/feed/forged.ics").status_code == 404
    token = feed_token(people["e"].id)
    assert client.get(f"/sales/calendar/feed/{token[:-2]}xx.ics").status_code == 404
    assert isinstance(today, date)
