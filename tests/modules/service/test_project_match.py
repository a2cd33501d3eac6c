"""Intake matches the customer's project (seed 001): the most recent in-progress order, or
the equipment by serial; the project owner gets the ticket first; warranty on the date."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest

from core.errors import ValidationError
from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from modules.equipment.models import Equipment
from tests.modules.sales.factories import advance
from tests.modules.sales.factories import make_order
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import make_ticket
from tests.modules.service.factories import service_people
from tests.modules.service.factories import set_settings


@pytest.fixture
def people(app_ctx, make_user):
    set_settings(dispatch_mode="grab")
    return service_people(make_user)


def _equipment(customer, order=None, **kw):
    with unit_of_work(ServiceContext.system("cli")):
        unit = Equipment(equipment_no=kw.pop("equipment_no", "EQ-0001"), customer_id=customer.id,
                         order_id=order.id if order else None, **kw)
        db.session.add(unit)
    return unit


def test_latest_in_progress_order_and_its_owner(people):
    sales, li = people["sales"], people["li"]
    customer = make_customer(sales)
    old = make_order(sales, customer, engineer_id=li.id)
    advance(sales, old, "confirmed")
    newer = make_order(sales, customer, engineer_id=li.id)
    ticket = make_ticket(customer)  # the customer himself (system intake)
    assert ticket.order_id == newer.id
    # the project owner (the order's engineer) has it first, and sales + owner are told
    assert ticket.assignee_id == li.id and ticket.offered_at is not None
    told = {n.recipient_id for n in db.session.query(Notification).filter(
        Notification.record_id == str(ticket.id))}
    assert {li.id, sales.id} <= told
    body = db.session.query(Notification).filter(Notification.recipient_id == sales.id).first()
    assert f"项目详情：/sales/orders/{newer.id}" in body.body


def test_without_order_the_ticket_is_open_for_grabs(people):
    ticket = make_ticket(make_customer(people["sales"]))
    assert ticket.order_id is None and ticket.assignee_id is None
    assert ticket.grab_until is not None


def test_equipment_by_serial_and_warranty(people):
    customer = make_customer(people["sales"])
    order = make_order(people["sales"], customer)
    today = date.today()
    _equipment(customer, order, serial_number="GREE-88", install_location="3楼会议室",
               warranty_end_date=today + timedelta(days=30))
    _equipment(customer, equipment_no="EQ-0002", serial_number="OLD-1",
               warranty_end_date=today - timedelta(days=400))
    ticket = make_ticket(customer, equipment_serial="GREE-88")
    assert ticket.equipment_id is not None and ticket.order_id == order.id
    assert ticket.warranty_status == "in_warranty" and ticket.address == "3楼会议室"
    old = make_ticket(customer, equipment_serial="OLD-1")
    assert old.warranty_status == "out_of_warranty"
    with pytest.raises(ValidationError) as err:
        make_ticket(customer, equipment_serial="NOPE")
    assert "equipment_serial" in err.value.fields
    other = make_customer(people["sales"])
    with pytest.raises(ValidationError):
        make_ticket(other, order_id=order.id)


def test_resolution_updates_the_units_maintenance_record(people):
    from modules.equipment.models import MaintenanceRecord
    from modules.service.services import tickets as svc
    from tests.modules.service.factories import act

    customer = make_customer(people["sales"])
    unit = _equipment(customer, serial_number="GREE-99", maintenance_cycle_days=90,
                      warranty_end_date=date.today() + timedelta(days=300))
    ticket = make_ticket(customer, equipment_serial="GREE-99")
    act(people["li"], svc.claim_ticket, ticket.id)
    act(people["li"], svc.resolve_ticket, ticket.id, {"root_cause": "滤网堵塞",
                                                      "solution": "更换滤网",
                                                      "parts_used": "AC-FILTER-001 × 1"})
    record = db.session.query(MaintenanceRecord).filter_by(ticket_id=ticket.id).one()
    assert record.maintenance_type == "repair" and "更换滤网" in record.work_description
    assert record.parts_replaced == "AC-FILTER-001 × 1" and record.engineer_id == people["li"].id
    db.session.expire_all()
    refreshed = db.session.get(Equipment, unit.id)
    assert refreshed.last_maintenance_date is not None
    assert refreshed.next_maintenance_date > refreshed.last_maintenance_date


def test_a_fault_reported_on_the_qr_page_becomes_a_repair_ticket(people):
    from modules.equipment.services.faults import report_fault

    customer = make_customer(people["sales"])
    unit = _equipment(customer, serial_number="QR-1", install_location="5楼")
    ctx = ServiceContext.system("web")
    with unit_of_work(ctx):
        kind, ref = report_fault(ctx, unit.id, "室内机漏水\n地板已经湿了", "138 0013 8000",
                                 [_png(), b"not a picture"])
    from modules.service.models import Ticket
    from modules.service.services.photos import photos

    ticket = db.session.query(Ticket).filter_by(ticket_no=ref).one()
    assert kind == "ticket" and ticket.equipment_id == unit.id
    assert (ticket.subject, ticket.channel, ticket.contact_phone, ticket.address) == \
        ("室内机漏水", "equipment", "13800138000", "5楼")
    shots = photos(ticket.id)  # the picture kept, the junk left out, the report counted
    assert [(p.phase, p.source, p.uploaded_by_id) for p in shots] == [("intake", "web", None)]


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "gray").save(buf, "PNG")
    return buf.getvalue()
