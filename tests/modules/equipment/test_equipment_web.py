"""Equipment pages: the list and its filters (customer, type, brand, warranty, due), the
360° view (sections from modules; the same number of queries with 2 or 200 records), edit,
maintenance forms, ``#查询设备`` scoped, searcher and workspace card."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy import select

from core.bot import IncomingMessage
from core.bot import dispatch
from core.extensions import db
from core.hooks import registry
from core.services import ServiceContext
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceRecord
from tests.conftest import login
from tests.modules.equipment.factories import installed_equipment
from tests.modules.sales.factories import line


@contextmanager
def counted():
    seen: list[str] = []

    def note(conn, cursor, statement, *args):  # noqa: ANN001
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_list_filters(client, people):
    gree = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    midea = installed_equipment(people["a"], lines=[line(quantity=1, brand="美的",
                                                         equipment_type="冰箱",
                                                         warranty_months=0)])[0]
    installed_equipment(people["c"], lines=[line(quantity=1)])
    login(client, people["a"])
    page = client.get("/equipment/").get_data(as_text=True)
    assert gree.equipment_no in page and midea.equipment_no in page and "共 2 条" in page
    by_brand = client.get("/equipment/?brand=美的").get_data(as_text=True)
    assert midea.equipment_no in by_brand and gree.equipment_no not in by_brand
    by_type = client.get("/equipment/?equipment_type=冰箱").get_data(as_text=True)
    assert "共 1 条" in by_type
    out = client.get("/equipment/?warranty=out").get_data(as_text=True)
    assert "共 0 条" in out or gree.equipment_no not in out
    expiring = client.get("/equipment/?warranty=expiring").get_data(as_text=True)
    assert midea.equipment_no in expiring and gree.equipment_no not in expiring
    assert client.get("/equipment/?warranty=nope").status_code == 400
    customer = client.get(f"/equipment/?customer_id={gree.customer_id}").get_data(as_text=True)
    assert gree.equipment_no in customer and midea.equipment_no not in customer
    exported = client.get("/equipment/?export=csv&brand=美的")
    assert exported.status_code == 200 and midea.equipment_no in exported.get_data(as_text=True)
    assert client.get("/equipment/?q=" + midea.customer.customer_name).status_code == 200
    assert client.get("/equipment/due").status_code == 302
    due = client.get("/equipment/?due_days=0").get_data(as_text=True)
    assert "共 0 条" in due


def _records(unit, n):
    for i in range(n):
        db.session.add(MaintenanceRecord(
            equipment_id=unit.id, maintenance_type="routine", status="done",
            maintenance_date=unit.install_date + timedelta(days=i), work_description=f"保养{i}",
            engineer_id=unit.engineer_id))
    db.session.commit()


def test_360_view_costs_the_same_queries_with_2_or_200_records(client, people):
    small, big = installed_equipment(people["a"], lines=[line(quantity=2)])
    _records(small, 2)
    _records(big, 200)
    login(client, people["e"])
    client.get(f"/equipment/{small.id}")
    with counted() as few:
        page = client.get(f"/equipment/{small.id}").get_data(as_text=True)
    with counted() as many:
        big_page = client.get(f"/equipment/{big.id}").get_data(as_text=True)
    assert 'id="section-order"' in page and 'id="section-maintenance"' in page
    assert big_page.count("data-record=") == 200
    assert len(many) == len(few), (len(few), len(many))


def test_360_view_sections_come_from_modules_and_records_move_dates(bare_client, bare_people):
    """Without ``service`` (nobody answers the hook) the maintenance order is a record."""
    client, people = bare_client, bare_people
    unit = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    login(client, people["e"])
    page = client.get(f"/equipment/{unit.id}").get_data(as_text=True)
    assert unit.serial_number in page and "订单与安装" in page
    response = client.post(f"/equipment/{unit.id}/maintenance-records", data={
        "maintenance_type": "repair", "maintenance_date": unit.install_date.isoformat(),
        "work_description": "更换排水泵", "parts_replaced": "排水泵×1", "cost": "260"})
    assert response.status_code == 302
    record = db.session.scalar(select(MaintenanceRecord))
    assert (record.maintenance_type, str(record.cost)) == ("repair", "260.00")
    page = client.get(f"/equipment/{unit.id}").get_data(as_text=True)
    assert "更换排水泵" in page
    edit = client.post(f"/equipment/{unit.id}/edit", data={
        "install_location": "5楼", "serial_number": unit.serial_number, "warranty_months": 36,
        "maintenance_cycle_days": 90, "maintenance_cycle_months": 0, "status": "under_repair",
        "status_reason": ""})
    assert edit.status_code == 200 and "请填写原因" in edit.get_data(as_text=True)
    edit = client.post(f"/equipment/{unit.id}/edit", data={
        "install_location": "5楼", "serial_number": unit.serial_number, "warranty_months": 36,
        "maintenance_cycle_days": 90, "maintenance_cycle_months": 0, "status": "under_repair",
        "status_reason": "压缩机异响"})
    assert edit.status_code == 302
    db.session.expire_all()
    unit = db.session.get(Equipment, unit.id)
    assert (unit.install_location, unit.status, unit.status_reason) == (
        "5楼", "under_repair", "压缩机异响")
    assert client.post(f"/equipment/{unit.id}/maintenance-order").status_code == 302
    planned = db.session.scalar(select(MaintenanceRecord).where(
        MaintenanceRecord.status == "planned"))
    assert planned is not None
    assert client.get(f"/equipment/maintenance-records/{planned.id}").status_code == 200


def test_with_service_the_360_view_shows_tickets_and_the_maintenance_order_is_one(client,
                                                                                people):
    from modules.service.models import Ticket

    unit = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    login(client, people["e"])
    assert client.post(f"/equipment/{unit.id}/maintenance-order").status_code == 302
    ticket = db.session.scalar(select(Ticket).where(Ticket.equipment_id == unit.id))
    assert (ticket.ticket_type, ticket.customer_id) == ("maintenance", unit.customer_id)
    assert db.session.scalar(select(MaintenanceRecord.id)) is None
    page = client.get(f"/equipment/{unit.id}").get_data(as_text=True)
    assert 'id="section-service"' in page and ticket.ticket_no in page


def test_sales_cannot_open_other_customers_equipment(client, people):
    theirs = installed_equipment(people["c"], lines=[line(quantity=1)])[0]
    login(client, people["a"])
    assert client.get(f"/equipment/{theirs.id}").status_code == 404


def test_find_equipment_in_chat_is_scoped(people):
    from tests.modules.crm.factories import make_customer
    from tests.modules.equipment.factories import delivered_order

    mine = make_customer(people["a"], customer_name="ABC公司")
    theirs = make_customer(people["c"], customer_name="ABC物流")
    for owner, customer in ((people["a"], mine), (people["c"], theirs)):
        order = delivered_order(owner, customer=customer, lines=[line(quantity=1)])
        from modules.sales.services.orders import install_order
        from tests.modules.crm.factories import act

        act(owner, install_order, order.id, [{"line_id": order.lines[0].id,
                                              "serial_number": f"Q-{customer.id}",
                                              "install_location": "3楼"}])
    people["a"].wecom_userid = "a.sales"
    db.session.commit()
    reply = dispatch(IncomingMessage("#查询设备 ABC", "a.sales", "g1")).to_text()
    assert f"Q-{mine.id}" in reply and f"Q-{theirs.id}" not in reply
    assert "保修：在保" in reply
    none = dispatch(IncomingMessage("#查询设备 不存在的客户", "a.sales", "g1")).to_text()
    assert "没有找到" in none


def test_searcher_card_and_customer_section(client, people, app_ctx):
    unit = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    ctx = ServiceContext(actor=people["a"], source="web")
    with app_ctx.test_request_context():
        searcher = next(s for s in registry().searchers if s.id == "equipment")
        assert [h.url for h in searcher.search(ctx, unit.serial_number, 5)] == [
            f"/equipment/{unit.id}"]
        assert searcher.search(ServiceContext(actor=people["c"], source="web"),
                               unit.serial_number, 5) == []
        card = next(c for c in registry().workspace_cards
                    if c.id == "equipment.maintenance_due")
        assert card.compute(ctx).total == 0
    login(client, people["a"])
    page = client.get(f"/crm/customers/{unit.customer_id}").get_data(as_text=True)
    assert 'id="section-equipment"' in page and unit.equipment_no in page


def test_the_history_written_in_python_escapes_and_links(client, people):
    unit = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    db.session.add_all([
        MaintenanceRecord(equipment_id=unit.id, maintenance_type="repair", status="done",
                          maintenance_date=unit.install_date, cost=260,
                          work_description="<script>x</script>", parts_replaced="<b>泵</b>",
                          engineer_id=people["e"].id),
        MaintenanceRecord(equipment_id=unit.id, maintenance_type="routine", status="planned",
                          due_date=unit.install_date, work_description="计划保养")])
    db.session.commit()
    login(client, people["e"])
    page = client.get(f"/equipment/{unit.id}").get_data(as_text=True)
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "&lt;b&gt;泵&lt;/b&gt;" in page and "¥260.00" in page and "维修" in page
    planned = db.session.scalar(select(MaintenanceRecord.id).where(
        MaintenanceRecord.status == "planned"))
    assert f'href="/equipment/maintenance-records/{planned}"' in page
    sales = client.application.test_client()
    login(sales, people["a"])  # may read, may not write: no 填写 link
    assert f"/equipment/maintenance-records/{planned}" not in sales.get(
        f"/equipment/{unit.id}").get_data(as_text=True)


def test_home_cards_fit_each_role(make_user, app_ctx):
    """Orders waiting for payment go to who records payments, maintenance due to who
    maintains: not to every reader of orders or units (an engineer, the warehouse)."""
    from core.web.home import visible_cards

    def cards(role: str) -> set[str]:
        ctx = ServiceContext(actor=make_user(role), source="web")
        return {c.id for c in visible_cards(ctx)}

    sales, engineer, warehouse = cards("sales"), cards("engineer"), cards("warehouse")
    assert {"sales.waiting_payment", "sales.this_week"} <= sales
    assert "sales.waiting_payment" not in engineer | warehouse
    assert "sales.this_week" in engineer and "sales.this_week" in warehouse
    assert "equipment.maintenance_due" in engineer
    assert "equipment.maintenance_due" not in warehouse
