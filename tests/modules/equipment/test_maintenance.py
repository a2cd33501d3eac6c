"""Maintenance records move the dates; the maintenance order (fallback record, or a ticket
from a module answering the hook); the daily scan: once per (unit, due date), overdue
escalation once, warranty alerts to the sales owner."""

from __future__ import annotations

from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlalchemy import select

from core.errors import ValidationError
from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceRecord
from modules.equipment.models import MaintenanceReminder
from modules.equipment.services import maintenance
from modules.sales.services.numbering import SHANGHAI
from tests.modules.crm.factories import act
from tests.modules.equipment.factories import installed_equipment
from tests.modules.sales.factories import line


def _scan_on(day):
    ctx = ServiceContext(actor=None, source="job",
                         now=datetime.combine(day, time(9), SHANGHAI))
    with unit_of_work(ctx):
        return maintenance.scan(ctx, day)


def test_a_record_moves_last_and_next_dates_by_the_cycle(people, api):
    e = installed_equipment(people["a"], lines=[line(quantity=1, maintenance_cycle_days=90)])[0]
    day = e.install_date
    created = api("e").post(f"/api/v1/equipment/{e.id}/maintenance-records", json={
        "maintenance_type": "routine", "maintenance_date": day.isoformat(),
        "work_description": "清洗滤网，检查冷媒压力", "parts_replaced": "滤网×2",
        "cost": "350.00"})
    assert created.status_code == 201, created.json
    assert created.json["cost"] == "350.00"
    db.session.expire_all()
    e = db.session.get(Equipment, e.id)
    assert e.last_maintenance_date == day
    assert e.next_maintenance_date >= day + timedelta(days=90)
    assert e.next_maintenance_date <= day + timedelta(days=90 + 12)  # holiday policy: next
    bad = api("e").post(f"/api/v1/equipment/{e.id}/maintenance-records",
                        json={"work_description": "x", "cost": "-1"})
    assert bad.status_code == 422
    future = api("e").post(f"/api/v1/equipment/{e.id}/maintenance-records", json={
        "work_description": "x", "maintenance_date": (day + timedelta(days=400)).isoformat()})
    assert future.status_code == 422
    assert api("a").post(f"/api/v1/equipment/{e.id}/maintenance-records",
                         json={"work_description": "x"}).status_code == 403


def test_maintenance_order_falls_back_to_a_record_once_per_due_date(bare_people):
    """Without ``service`` nobody answers ``maintenance_order_requested``."""
    people = bare_people
    e = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    kind, ref, created = act(people["e"], maintenance.request_maintenance_order, e.id)
    assert (kind, created) == ("record", True)
    again = act(people["e"], maintenance.request_maintenance_order, e.id)
    assert again == ("record", ref, False)
    record = db.session.get(MaintenanceRecord, int(ref))
    assert (record.status, record.due_date) == ("planned", e.next_maintenance_date)
    with pytest.raises(ValidationError):
        act(people["e"], maintenance.complete_record, record.id, {"work_description": ""})
    act(people["e"], maintenance.complete_record, record.id,
        {"work_description": "季度保养完成", "cost": Decimal("0")})
    db.session.expire_all()
    assert db.session.get(MaintenanceRecord, record.id).status == "done"
    assert db.session.get(Equipment, e.id).last_maintenance_date is not None


def test_with_service_installed_the_maintenance_order_is_a_ticket_once_per_due_date(people):
    from modules.service.models import Ticket

    e = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    kind, ref, created = act(people["e"], maintenance.request_maintenance_order, e.id)
    assert (kind, created) == ("ticket", True)
    assert act(people["e"], maintenance.request_maintenance_order, e.id) == ("ticket", ref, False)
    ticket = db.session.scalar(select(Ticket).where(Ticket.ticket_no == ref))
    assert (ticket.ticket_type, ticket.equipment_id) == ("maintenance", e.id)
    assert db.session.scalar(select(MaintenanceRecord.id)) is None


def test_scan_reminds_once_per_unit_and_due_date_and_escalates_overdue_once(people):
    units = installed_equipment(people["a"], lines=[line(quantity=2)])
    due = min(u.next_maintenance_date for u in units)
    assert _scan_on(due - timedelta(days=30)) == {"due": 0, "overdue": 0, "warranty": 0}
    first = _scan_on(due - timedelta(days=3))
    assert first["due"] == 2 and first["overdue"] == 0
    assert _scan_on(due - timedelta(days=2)) == {"due": 0, "overdue": 0, "warranty": 0}
    late = _scan_on(due + timedelta(days=3))
    assert late == {"due": 0, "overdue": 2, "warranty": 0}
    assert _scan_on(due + timedelta(days=4))["overdue"] == 0
    to_engineer = db.session.scalars(select(Notification).where(
        Notification.subject.like("【维护提醒】%"))).all()
    assert len(to_engineer) == 2 and {n.recipient_id for n in to_engineer} == {people["a"].id}
    escalated = db.session.scalars(select(Notification).where(
        Notification.subject.like("【维护逾期】%"))).all()
    assert {n.recipient_id for n in escalated} == {people["manager"].id}


def test_scan_warns_the_sales_owner_before_the_warranty_ends(people):
    e = installed_equipment(people["a"], lines=[line(quantity=1, warranty_months=12,
                                                     maintenance_cycle_days=0)])[0]
    assert e.next_maintenance_date is None
    counts = _scan_on(e.warranty_end_date - timedelta(days=10))
    assert counts == {"due": 0, "overdue": 0, "warranty": 1}
    note = db.session.scalar(select(Notification).where(
        Notification.subject.like("【保修到期】%")))
    assert note.recipient_id == people["a"].id and e.equipment_no in note.body
    assert _scan_on(e.warranty_end_date - timedelta(days=9))["warranty"] == 0
    assert db.session.scalar(select(func.count()).select_from(MaintenanceReminder)) == 1


def test_retired_units_are_not_reminded(people, api):
    e = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    due = e.next_maintenance_date
    api("e").patch(f"/api/v1/equipment/{e.id}", json={"status": "retired",
                                                      "status_reason": "拆除"})
    assert _scan_on(due)["due"] == 0


def test_scan_writes_each_users_notifications_in_his_language(people):
    """The engineer chose English: his reminder, card included, is in English; the
    manager's escalation (no choice: the installation's language) stays in Chinese."""
    from core.security.models import User

    db.session.get(User, people["a"].id).locale = "en"
    db.session.commit()
    unit = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    due = unit.next_maintenance_date
    assert _scan_on(due - timedelta(days=3))["due"] == 1
    notes = db.session.scalars(select(Notification).where(
        Notification.recipient_id == people["a"].id)).all()
    reminder = next(n for n in notes if n.record_id == str(unit.id))
    assert reminder.subject.startswith("[Maintenance reminder]"), reminder.subject
    assert reminder.body == f"{unit.equipment_no} planned maintenance on {due.isoformat()}"
    wecom = [n for n in notes if n.channel == "wecom" and n.record_id == str(unit.id)]
    for note in wecom:
        assert "Planned maintenance date" in str(note.payload)
    assert _scan_on(due + timedelta(days=3))["overdue"] == 1
    escalated = db.session.scalar(select(Notification).where(
        Notification.recipient_id == people["manager"].id,
        Notification.record_id == str(unit.id)))
    assert escalated.subject.startswith("【维护逾期】")
