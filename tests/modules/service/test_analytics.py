"""Service analytics: median / p90 and working-time durations (pure functions on fixed
dates), and the page's figures on hand-made tickets: times by type, satisfaction from
answers only, reopen rate, failures with the parts their tickets consumed (through the
service × stock bridge), engineer performance; the page with its exports."""

from __future__ import annotations

import statistics
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.extensions import db
from core.services import ServiceContext
from modules.service.analytics import percentile
from modules.service.analytics import summary
from modules.service.sla import WorkCalendar
from modules.service.sla import parse_intervals
from modules.service.sla import working_minutes
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import make_engineer


def calendar(holidays=()):
    return WorkCalendar(parse_intervals([["09:00", "12:00"], ["13:30", "18:00"]]),
                        lambda day: day.weekday() < 5 and day not in holidays)


def local(*args):
    """A Beijing wall-clock time as a UTC instant."""
    return datetime(*args, tzinfo=UTC) - timedelta(hours=8)


# --------------------------------------------------------------------------- percentiles
def test_percentile_interpolates_between_ranks_like_excel_percentile_inc():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.9) == 7
    assert percentile([4, 1, 3, 2], 0.5) == 2.5
    assert percentile([1, 2, 3, 4], 0.9) == pytest.approx(3.7)
    data = [12, 3, 45, 7, 19, 88, 5, 23, 61, 30, 2]
    assert percentile(data, 0.5) == statistics.median(data)
    assert percentile(data, 0.9) == pytest.approx(
        statistics.quantiles(data, n=10, method="inclusive")[8])
    assert summary([10, 20, 30]) == {"n": 3, "median": 20, "p90": 28}


def test_working_minutes_skip_nights_weekends_lunch_and_holidays():
    cal = calendar()
    # Friday 17:00 → Monday 09:30: one hour on Friday, half an hour on Monday.
    assert working_minutes(cal, local(2026, 3, 6, 17, 0), local(2026, 3, 9, 9, 30)) == 90
    # Across lunch: 11:00 → 14:00 is one hour in the morning and half an hour after.
    assert working_minutes(cal, local(2026, 3, 9, 11, 0), local(2026, 3, 9, 14, 0)) == 90
    # A Monday holiday takes the whole Monday away.
    holiday = calendar(holidays={date(2026, 3, 9)})
    assert working_minutes(holiday, local(2026, 3, 6, 17, 0), local(2026, 3, 10, 9, 30)) == 90
    # Entirely outside working hours: nothing.
    assert working_minutes(cal, local(2026, 3, 7, 10, 0), local(2026, 3, 8, 20, 0)) == 0


def test_pauses_count_only_their_working_time_once():
    cal = calendar()
    start, end = local(2026, 3, 9, 9, 0), local(2026, 3, 9, 15, 0)  # 270 working minutes
    assert working_minutes(cal, start, end) == 270
    # Paused 11:00–14:00 (90 working minutes) and, overlapping, 11:30–12:30.
    pauses = [(local(2026, 3, 9, 11, 0), local(2026, 3, 9, 14, 0)),
              (local(2026, 3, 9, 11, 30), local(2026, 3, 9, 12, 30))]
    assert working_minutes(cal, start, end, pauses) == 180
    # A pause overnight moves nothing; one reaching past the end is cut at the end.
    assert working_minutes(cal, start, end, [(local(2026, 3, 8, 20, 0),
                                              local(2026, 3, 9, 8, 0))]) == 270
    assert working_minutes(cal, start, end, [(local(2026, 3, 9, 14, 0),
                                              local(2026, 3, 10, 10, 0))]) == 210


# ------------------------------------------------------------------- figures on tickets
def _ticket(customer, no, *, kind="repair", created, responded=None, resolved=None,
            assignee=None, rating=None, rated=None, equipment=None, cause=None, pauses=()):
    from modules.service.models import Ticket
    from modules.service.services.sla import stamp_minutes

    ticket = Ticket(ticket_no=no, ticket_type=kind, subject="s", customer_id=customer.id,
                    status="resolved" if resolved else "accepted", created_at=created,
                    first_response_at=responded, resolved_at=resolved,
                    assignee_id=assignee.id if assignee else None, rating=rating,
                    rated_at=rated, equipment_id=equipment.id if equipment else None,
                    root_cause=cause,
                    sla_pauses=[[s.isoformat(), e.isoformat()] for s, e in pauses])
    stamp_minutes(ticket, calendar())  # as the services do when answered and resolved
    db.session.add(ticket)
    db.session.flush()
    return ticket


@pytest.fixture
def tickets(app_ctx, make_user):
    from modules.equipment.models import Equipment
    from modules.service.models import TicketActionLog
    from modules.service.models import Visit
    from modules.stock.models import Part
    from modules.stock.models import PartsUsage

    li = make_engineer(make_user, "ligong", "李工")
    zhang = make_engineer(make_user, "zhanggong", "张工")
    customer = make_customer(None)
    daikin = Equipment(equipment_no="EQ-1", customer_id=customer.id, brand="大金", model="VRV-X")
    york = Equipment(equipment_no="EQ-2", customer_id=customer.id, brand="约克", model="YK-1")
    db.session.add_all([daikin, york])
    db.session.flush()
    mon = (2026, 3, 9)
    t1 = _ticket(customer, "T1", created=local(*mon, 9, 0), responded=local(*mon, 9, 30),
                 resolved=local(*mon, 15, 0), assignee=li, rating=5, rated=local(*mon, 16, 0),
                 equipment=daikin, cause="压缩机过热\n更换后正常",
                 pauses=[(local(*mon, 11, 0), local(*mon, 14, 0))])
    t2 = _ticket(customer, "T2", created=local(*mon, 10, 0), responded=local(*mon, 11, 0),
                 resolved=local(2026, 3, 10, 10, 0), assignee=li, rating=2,
                 rated=local(2026, 3, 10, 12, 0), equipment=daikin, cause="压缩机过热")
    t3 = _ticket(customer, "T3", kind="maintenance", created=local(*mon, 9, 0),
                 responded=local(*mon, 9, 10), resolved=local(*mon, 10, 0), assignee=zhang,
                 equipment=york, cause="滤网堵塞")
    _ticket(customer, "T4", created=local(*mon, 13, 0), equipment=york, cause="排水管弯折")
    db.session.add(TicketActionLog(ticket_id=t2.id, action="reopen", to_status="reopened",
                                   created_at=local(2026, 3, 11, 9, 0)))
    for ticket, user, hours in ((t1, li, 1.5), (t2, li, 2.0), (t2, li, 1.0), (t3, zhang, 0.5)):
        start = ticket.created_at + timedelta(minutes=30)
        db.session.add(Visit(ticket_id=ticket.id, user_id=user.id, check_in_at=start,
                             check_out_at=start + timedelta(hours=hours)))
    part = Part(part_code="CP-01", part_name="压缩机")
    db.session.add(part)
    db.session.flush()
    for ticket, qty in ((t1, 1), (t2, 2)):
        db.session.add(PartsUsage(ticket_id=ticket.id, part_id=part.id, part_code="CP-01",
                                  quantity=qty, usage_date=date(2026, 3, 9)))
    db.session.commit()
    return {"li": li, "zhang": zhang, "manager": make_user("manager", username="boss")}


PERIOD = (local(2026, 3, 1, 0, 0), local(2026, 4, 1, 0, 0))


def test_times_by_type_in_working_minutes(tickets):
    from modules.service import analytics
    from modules.service.models import Ticket

    # T1: 270 − 90 paused = 180; T2: Monday 10:00 → Tuesday 10:00 = 450 working minutes.
    stamped = db.session.execute(select(Ticket.ticket_no, Ticket.response_minutes,
                                        Ticket.resolution_minutes).order_by(Ticket.ticket_no))
    assert [tuple(r) for r in stamped] == [("T1", 30, 180), ("T2", 60, 450), ("T3", 10, 60),
                                           ("T4", None, None)]
    ctx = ServiceContext(actor=tickets["manager"], source="web")
    groups = analytics.time_groups(ctx, *PERIOD)
    assert groups["all"]["tickets"] == 4
    assert groups["all"]["response"] == {"n": 3, "median": 30, "p90": pytest.approx(54)}
    by_type = {g["key"]: g for g in analytics.times_by(groups, "ticket_type")}
    repair = by_type["repair"]
    assert repair["tickets"] == 3
    # Responses 30 and 60 minutes (the third not answered): median 45.
    assert repair["response"] == {"n": 2, "median": 45, "p90": pytest.approx(57)}
    assert repair["resolution"] == {"n": 2, "median": 315, "p90": pytest.approx(423)}
    assert by_type["maintenance"]["resolution"]["median"] == 60
    by_engineer = {g["key"]: g["tickets"] for g in analytics.times_by(groups, "assignee_id")}
    assert by_engineer == {tickets["li"].id: 2, tickets["zhang"].id: 1, None: 1}
    assert [g["key"] for g in analytics.times_by(groups, "priority")] == ["normal"]
    periods = analytics.times_by(groups, "period")
    assert [g["key"] for g in periods] == ["2026-W11"]  # a month: by ISO week
    year = analytics.time_groups(ctx, local(2026, 1, 1, 0, 0), local(2027, 1, 1, 0, 0))
    assert [g["key"] for g in year["period"]] == ["2026-03"]  # a year: by month
    none = analytics.time_groups(ctx, local(2025, 1, 1, 0, 0), local(2025, 2, 1, 0, 0))
    assert none["all"] == {"tickets": 0, "response": {"n": 0, "median": None, "p90": None},
                           "resolution": {"n": 0, "median": None, "p90": None}}


def test_satisfaction_reopen_failures_and_engineers(tickets):
    from modules.service import analytics

    ctx = ServiceContext(actor=tickets["manager"], source="web")
    sat = analytics.satisfaction(ctx, *PERIOD)
    assert sat["answers"] == 2 and sat["average"] == 3.5 and sat["csat"] == 0.5
    assert sat["resolved"] == 3 and sat["reopened"] == 1
    assert sat["reopen_rate"] == pytest.approx(1 / 3)
    fail = analytics.failures(ctx, *PERIOD)
    assert fail["tickets"] == 3  # repairs on equipment (the maintenance visit is not one)
    assert fail["brands"] == [("大金", 2), ("约克", 1)]
    assert fail["causes"][0] == {"cause": "压缩机过热", "tickets": 2,
                                 "parts": [("CP-01 压缩机", 3)]}
    assert fail["parts"] == [("CP-01 压缩机", 3)]
    eng = {e["engineer"]: e for e in analytics.engineers(ctx, *PERIOD)}
    li, zhang = eng["李工"], eng["张工"]
    assert (li["closed"], li["hours"], li["first_time"], li["rating"]) == (2, 4.5, 1, 3.5)
    assert li["first_time_rate"] == 0.5  # T2 took two visits and was reopened
    assert (zhang["closed"], zhang["hours"], zhang["first_time_rate"], zhang["rating"]) == \
        (1, 0.5, 1.0, None)


def test_an_engineer_reads_only_his_tickets(tickets):
    from modules.service import analytics

    ctx = ServiceContext(actor=tickets["zhang"], source="web")
    groups = analytics.time_groups(ctx, *PERIOD)
    # His own ticket and the unassigned open one he could claim.
    assert sorted(g["key"] or 0 for g in groups["assignee_id"]) == [0, tickets["zhang"].id]
    assert groups["all"]["tickets"] == 2
    assert [e["engineer"] for e in analytics.engineers(ctx, *PERIOD)] == ["张工"]


def test_the_page_its_exports_and_who_may_open_it(tickets, client):
    from tests.conftest import login

    login(client, tickets["li"])
    assert client.get("/service/analytics/").status_code == 403
    manager_client = client.application.test_client()
    login(manager_client, tickets["manager"])
    page = manager_client.get("/service/analytics/?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for chart in ("period", "type", "priority", "engineer_times", "scores", "brands",
                  "models", "causes", "parts", "engineers"):
        assert f'id="chart-{chart}"' in body
    assert "压缩机过热" in body and "2026-01-29 ~ 2026-02-28" in body
    csv = manager_client.get("/service/analytics/?from=2026-03-01&to=2026-03-31"
                             "&export=csv&chart=causes")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "压缩机过热,2,CP-01 压缩机 × 3" in csv.get_data(as_text=True)
    xlsx = manager_client.get("/service/analytics/?range=month&export=xlsx&chart=engineers")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert manager_client.get("/service/analytics/?export=pdf&chart=causes").status_code == 400


def test_the_page_reads_the_engineers_names_once_and_the_resolved_counts_together(
        tickets, client):
    """The engineers of both periods and the time groups name the same users: one read of
    their ids and names (it was three reads of the users with their roles), and the
    resolved and reopened counts of a period come in one statement (they were two)."""
    from sqlalchemy import event

    from tests.conftest import login

    manager_client = client.application.test_client()
    login(manager_client, tickets["manager"])
    url = "/service/analytics/?from=2026-03-01&to=2026-03-31"
    assert manager_client.get(url).status_code == 200
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        body = manager_client.get(url).get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert "李工" in body and "张工" in body
    names = [s for s in seen if "core_user" in s and "service_ticket" not in s
             and "core_inbox" not in s]
    assert len(names) == 1, names
    assert "core_user_role" not in names[0]
    action_log = [s for s in seen if "service_ticket_action_log" in s
                  and "count(distinct" in s.lower()]
    assert len(action_log) == 2  # this period and the previous one
    assert all("count(*)" in s.lower() for s in action_log)
