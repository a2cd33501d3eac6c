"""MTBF and MTTR per unit and per model (``modules.equipment.reliability``), checked against
values computed by hand: with service (repair tickets, through the ``equipment_repairs``
hook) and without it (maintenance records of type repair)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import update

from core.extensions import db
from core.services import ServiceContext
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceRecord
from modules.equipment.reliability import compute
from modules.equipment.reliability import model_reliability
from modules.equipment.reliability import repair_hours
from modules.equipment.reliability import unit_reliability
from tests.conftest import login
from tests.modules.crm.factories import ctx_for
from tests.modules.equipment.factories import installed_equipment
from tests.modules.sales.factories import line


def test_compute_by_hand():
    # 100 days in use; three failures, two resolved in 6 h and 24 h, one still open.
    result = compute(
        [(date(2026, 1, 1), None, 1)],
        [(datetime(2026, 2, 1, 8), datetime(2026, 2, 1, 14)),
         (datetime(2026, 3, 1, 9), datetime(2026, 3, 2, 9)),
         (datetime(2026, 4, 1, 10), None)],
        date(2026, 4, 11))
    assert (result.operating_days, result.failures, result.resolved) == (100, 3, 2)
    assert result.mtbf_days == pytest.approx(100 / 3)
    assert result.mttr_hours == pytest.approx(15.0)


def test_compute_models_retired_units_and_no_failure():
    # Two units of 10 days, one retired after 30 days (not counted up to today): 50 days.
    result = compute([(date(2026, 1, 1), None, 2), (date(2025, 12, 22), date(2026, 1, 21), 1),
                      (None, None, 1)], [(date(2026, 1, 5), date(2026, 1, 7))],
                     date(2026, 1, 11))
    assert (result.units, result.operating_days, result.failures) == (4, 50, 1)
    assert (result.mtbf_days, result.mttr_hours) == (50.0, 48.0)
    nothing = compute([(date(2026, 1, 1), None, 1)], [], date(2026, 1, 11))
    assert (nothing.mtbf_days, nothing.mttr_hours) == (None, None)


def test_repair_hours_dates_and_datetimes():
    assert repair_hours(datetime(2026, 3, 1, 10), date(2026, 3, 3)) == 48.0
    assert repair_hours(datetime(2026, 3, 5, 10), date(2026, 3, 3)) == 0.0  # entered after
    assert repair_hours(datetime(2026, 3, 1, 10), datetime(2026, 3, 1, 11, 30)) == 1.5
    assert repair_hours(datetime(2026, 3, 1, 10), None) is None


def _installed_days_ago(unit, days):
    on = date.today()
    db.session.execute(update(Equipment).where(Equipment.id == unit.id)
                       .values(install_date=on - timedelta(days=days)))
    db.session.commit()
    return on


def test_with_service_repair_tickets_are_the_failures(client, people):
    from modules.service.models import Ticket
    from tests.modules.service.factories import make_ticket

    unit, other = installed_equipment(people["a"], lines=[line(quantity=2, model="KFR-72")])
    on = _installed_days_ago(unit, 120)
    _installed_days_ago(other, 80)
    start = datetime(2026, 5, 1, 8)
    made = []
    for n, hours in enumerate((4, 10, None)):
        ticket = make_ticket(unit.customer, people["a"], equipment_id=unit.id,
                             subject=f"故障{n}")
        made.append(ticket.id)
        db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(
            created_at=start, resolved_at=start + timedelta(hours=hours) if hours else None))
    # Neither a maintenance ticket nor a cancelled repair is a failure.
    make_ticket(unit.customer, people["a"], equipment_id=unit.id, ticket_type="maintenance")
    cancelled = make_ticket(unit.customer, people["a"], equipment_id=other.id)
    db.session.execute(update(Ticket).where(Ticket.id == cancelled.id)
                       .values(status="cancelled"))
    # A repair record is no failure once service answers: its tickets are.
    db.session.add(MaintenanceRecord(equipment_id=unit.id, maintenance_type="repair",
                                     status="done", maintenance_date=on,
                                     work_description="x"))
    db.session.commit()

    stats = unit_reliability(db.session.get(Equipment, unit.id), on)
    assert (stats.operating_days, stats.failures, stats.resolved) == (120, 3, 2)
    assert (stats.mtbf_days, stats.mttr_hours) == (40.0, 7.0)

    models = model_reliability(ctx_for(people["e"]), on)
    kfr = next(m for m in models if m.model == "KFR-72")
    # 120 + 80 days over the two units, three failures; MTTR (4 + 10) / 2.
    assert (kfr.stats.units, kfr.stats.operating_days, kfr.stats.failures) == (2, 200, 3)
    assert kfr.stats.mtbf_days == pytest.approx(200 / 3) and kfr.stats.mttr_hours == 7.0

    login(client, people["e"])
    page = client.get(f"/equipment/{unit.id}").get_data(as_text=True)
    assert 'id="unit-mtbf">40.0' in page and 'id="unit-mttr">7.0' in page
    table = client.get("/equipment/reliability").get_data(as_text=True)
    assert "KFR-72" in table and "66.7" in table and "型号可靠性" in table
    # Scoped: salesperson c sees none of a's customers' units.
    other_client = client.application.test_client()
    login(other_client, people["c"])
    assert "KFR-72" not in other_client.get("/equipment/reliability").get_data(as_text=True)


def test_without_service_repair_records_are_the_failures(bare_client, bare_people):
    client, people = bare_client, bare_people
    unit = installed_equipment(people["a"], lines=[line(quantity=1, model="RF-9")])[0]
    on = _installed_days_ago(unit, 90)
    # Reported (created) 3 days before the repair's date, and one still to be filled in.
    db.session.add_all([
        MaintenanceRecord(equipment_id=unit.id, maintenance_type="repair", status="done",
                          maintenance_date=on - timedelta(days=10),
                          created_at=datetime.combine(on - timedelta(days=13),
                                                      datetime.min.time()),
                          work_description="更换电容"),
        MaintenanceRecord(equipment_id=unit.id, maintenance_type="repair", status="planned",
                          created_at=datetime.combine(on, datetime.min.time()),
                          work_description="客户报修"),
        MaintenanceRecord(equipment_id=unit.id, maintenance_type="routine", status="done",
                          maintenance_date=on, work_description="保养")])
    db.session.commit()
    stats = unit_reliability(db.session.get(Equipment, unit.id), on)
    assert (stats.failures, stats.resolved, stats.mtbf_days, stats.mttr_hours) == (
        2, 1, 45.0, 72.0)
    ctx = ServiceContext.system("web")
    assert next(m for m in model_reliability(ctx, on) if m.model == "RF-9").stats.failures == 2
    login(client, people["e"])
    page = client.get(f"/equipment/{unit.id}").get_data(as_text=True)
    assert 'id="unit-mtbf">45.0' in page and 'id="unit-mttr">72.0' in page
    assert "RF-9" in client.get("/equipment/reliability").get_data(as_text=True)


def test_brand_choices_name_only_brands_of_units_the_reader_may_see(client, people):
    hidden = installed_equipment(people["a"],
                                 lines=[line(quantity=1, model="SEC-1", brand="机密品牌甲")])
    own = installed_equipment(people["c"],
                              lines=[line(quantity=1, model="OWN-1", brand="公开品牌乙")])
    assert [u.brand for u in hidden + own] == ["机密品牌甲", "公开品牌乙"]

    login(client, people["c"])  # salesperson c: a's customers are not his
    for path in ("/equipment/reliability", "/equipment/"):
        page = client.get(path).get_data(as_text=True)
        assert "公开品牌乙" in page and "机密品牌甲" not in page, path
    admin_client = client.application.test_client()
    login(admin_client, people["admin"])  # who sees every unit sees both
    page = admin_client.get("/equipment/reliability").get_data(as_text=True)
    assert "公开品牌乙" in page and "机密品牌甲" in page


def test_units_without_install_dates_give_no_mtbf_and_do_not_skew_their_models():
    on = date(2026, 4, 11)
    # A unit without an install date: failures known, operating time not.
    alone = compute([(None, None, 1)], [(date(2026, 1, 5), date(2026, 1, 7))], on)
    assert (alone.failures, alone.operating_days, alone.mtbf_days) == (1, 0, None)
    assert alone.mttr_hours == 48.0
    assert compute([(None, None, 1)], [], on).mtbf_days is None  # no division by zero
    # A model: one unit 100 days in use with 1 failure, one undated with 3 failures. Its
    # MTBF is 100 days (not 100 / 4 = 25, the undated unit's failures over the other's days).
    model = compute([(date(2026, 1, 1), None, 1), (None, None, 1)],
                    [(date(2026, 2, 1), None)] + [(date(2026, 3, d), None) for d in (1, 2, 3)],
                    on, undated_failures=3)
    assert (model.failures, model.operating_days, model.mtbf_days) == (4, 100, 100.0)
    every = compute([(None, None, 2)], [(date(2026, 3, 1), None)], on, undated_failures=1)
    assert every.mtbf_days is None


def test_a_models_mtbf_leaves_out_units_without_install_dates(bare_people):
    people = bare_people
    dated, undated = installed_equipment(people["a"], lines=[line(quantity=2, model="UX-1")])
    on = _installed_days_ago(dated, 100)
    db.session.execute(update(Equipment).where(Equipment.id == undated.id)
                       .values(install_date=None))
    for unit, count in ((dated, 1), (undated, 3)):
        db.session.add_all([
            MaintenanceRecord(equipment_id=unit.id, maintenance_type="repair", status="planned",
                              created_at=datetime.combine(on, datetime.min.time()),
                              work_description="报修") for _ in range(count)])
    db.session.commit()
    ctx = ServiceContext.system("web")
    stats = next(m for m in model_reliability(ctx, on) if m.model == "UX-1").stats
    assert (stats.units, stats.failures, stats.operating_days) == (2, 4, 100)
    assert stats.mtbf_days == 100.0
    assert unit_reliability(db.session.get(Equipment, undated.id), on).mtbf_days is None
