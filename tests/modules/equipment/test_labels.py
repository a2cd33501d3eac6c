"""QR labels and the public fault page: signed links (no walking ids), no customer data,
a report becomes a repair record (or a ticket from a module answering the hook) and tells
the engineer; rate-limited; retired units and forged tokens answer 404."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select

from core import hookimpl
from core.extensions import db
from core.hooks import registry
from core.notify.models import Notification
from modules.equipment.models import MaintenanceRecord
from modules.equipment.web.public import label_url
from tests.conftest import login
from tests.modules.equipment.factories import installed_equipment
from tests.modules.sales.factories import line


def _path(url: str) -> str:
    return url[url.index("/e/"):]


def test_label_sheet_has_a_qr_code_per_unit(client, people):
    units = installed_equipment(people["a"], lines=[line(quantity=2)])
    login(client, people["a"])
    page = client.get(f"/equipment/labels?customer_id={units[0].customer_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count('class="segno"') == 2
    assert units[0].equipment_no in html
    nothing_chosen = client.get("/equipment/labels", follow_redirects=True)
    assert nothing_chosen.status_code == 200 and "二维码标签" in nothing_chosen.get_data(
        as_text=True)  # told how to choose units, on the equipment list
    other = installed_equipment(people["c"], lines=[line(quantity=1)])[0]
    hidden = client.get(f"/equipment/labels?ids={other.id}").get_data(as_text=True)
    assert 'class="segno"' not in hidden


def test_public_page_shows_no_customer_data_and_takes_a_report(bare_client, bare_people):
    """Without ``service`` (nobody answers the hook) the report is a repair record."""
    client, people = bare_client, bare_people
    unit = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    with client.application.test_request_context():
        path = _path(label_url(unit.id))
    page = client.get(path).get_data(as_text=True)
    assert unit.model in page and unit.customer.customer_name not in page
    assert unit.customer.phone not in page and unit.serial_number not in page
    empty = client.post(path, data={"description": " "}).get_data(as_text=True)
    assert "请描述故障现象" in empty
    done = client.post(path, data={"description": "空调不制冷，有异响",
                                   "contact_phone": "139 0000 1111"}).get_data(as_text=True)
    assert "已收到您的报修" in done
    record = db.session.scalar(select(MaintenanceRecord))
    assert (record.maintenance_type, record.status) == ("repair", "planned")
    assert "空调不制冷" in record.work_description and "13900001111" in record.work_description
    told = db.session.scalars(select(Notification.recipient_id).where(
        Notification.subject.like("【客户报修】%"))).all()
    assert unit.engineer_id in told
    assert client.get("/e/forged-token").status_code == 404
    assert client.get(f"/e/{unit.id}").status_code == 404


class _Service:
    @hookimpl
    def equipment_fault_reported(self, equipment, description, contact_phone, ctx, photos):  # noqa: ANN001, ANN201
        return SimpleNamespace(id=5, ticket_no="AS202612040005")


def test_a_service_module_turns_the_report_into_a_ticket(client, people):
    unit = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    with client.application.test_request_context():
        path = _path(label_url(unit.id))
    registry().pm.register(_Service(), name="fake_service_faults")
    try:
        done = client.post(path, data={"description": "漏水"}).get_data(as_text=True)
    finally:
        registry().pm.unregister(name="fake_service_faults")
    assert "AS202612040005" in done
    assert db.session.scalar(select(MaintenanceRecord.id)) is None


def test_with_service_installed_a_report_becomes_a_repair_ticket(client, people):
    from modules.service.models import Ticket

    unit = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    with client.application.test_request_context():
        path = _path(label_url(unit.id))
    done = client.post(path, data={"description": "空调不制冷，有异响",
                                   "contact_phone": "139 0000 1111"}).get_data(as_text=True)
    ticket = db.session.scalar(select(Ticket).where(Ticket.equipment_id == unit.id))
    assert (ticket.ticket_type, ticket.channel) == ("repair", "equipment")
    assert "已收到您的报修" in done and ticket.ticket_no in done
    assert db.session.scalar(select(MaintenanceRecord.id)) is None
    told = db.session.scalars(select(Notification.recipient_id).where(
        Notification.subject.like("【客户报修】%"))).all()
    assert unit.engineer_id in told


def test_reports_are_rate_limited(make_app):
    from core.services import ServiceContext
    from core.services import unit_of_work
    from tests.modules.crm.factories import ctx_for

    app = make_app(["equipment"], RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        from core.security.services import create_user
        from modules.sales.services.orders import change_status
        from modules.sales.services.orders import create_order
        from modules.sales.services.orders import install_order
        from tests.modules.crm.factories import make_customer

        with unit_of_work(ServiceContext.system("cli")):
            owner = create_user(ServiceContext.system("cli"), "ratelimited", roles=["sales"],
                                password="secret-pass-1")
        customer = make_customer(owner)
        with unit_of_work(ctx := ctx_for(owner)):
            order = create_order(ctx, {"customer_id": customer.id, "lines": [line(quantity=1)]})
            for status in ("confirmed", "paid", "delivered"):
                change_status(ctx, order.id, status)
            install_order(ctx, order.id, [{"line_id": order.lines[0].id,
                                           "serial_number": "RL-1"}])
        from modules.equipment.models import Equipment

        unit_id = db.session.scalar(select(Equipment.id))
        with app.test_request_context():
            path = _path(label_url(unit_id))
        db.session.remove()
    client = app.test_client()
    codes = [client.post(path, data={"description": f"故障{i}"}).status_code for i in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429
