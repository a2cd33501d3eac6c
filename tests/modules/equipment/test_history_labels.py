"""Equipment and its maintenance records read in people's words in history (core.history
declarations): no field shows under its column name, and a unit's timeline names its
fields, statuses and references in Chinese."""

from __future__ import annotations

import re

import pytest

from core.history import readable_changes
from core.history import undeclared_fields
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceRecord
from tests.conftest import login
from tests.modules.equipment.factories import installed_equipment
from tests.modules.sales.factories import line


@pytest.mark.parametrize("model", [Equipment, MaintenanceRecord], ids=lambda c: c.__tablename__)
def test_every_audited_field_has_a_label(app_ctx, model):
    assert undeclared_fields(model) == []
    assert getattr(model, "__label__", None)


def test_a_maintenance_records_type_and_status_read_as_labels(app_ctx):
    changes = readable_changes(MaintenanceRecord, {
        "maintenance_type": [None, "repair"], "status": ["planned", "done"],
        "cost": [None, "260.00"]}, {})
    assert [(c.label, c.old, c.new) for c in changes] == [
        ("维护类型", "—", "维修"), ("状态", "待填写", "已完成"), ("费用", "—", "¥260.00")]


def test_a_units_timeline_reads_an_edit_in_words(client, people):
    unit = installed_equipment(people["a"], lines=[line(quantity=1)])[0]
    login(client, people["e"])
    edit = client.post(f"/equipment/{unit.id}/edit", data={
        "install_location": "5楼", "serial_number": unit.serial_number, "warranty_months": 36,
        "maintenance_cycle_days": 90, "maintenance_cycle_months": 0, "status": "under_repair",
        "status_reason": "压缩机异响"})
    assert edit.status_code == 302
    page = client.get(f"/equipment/{unit.id}").get_data(as_text=True)
    timeline = page.split('id="timeline"', 1)[1]
    assert '<span class="text-body">状态</span>：使用中 → 维修中' in timeline
    assert '<span class="text-body">安装位置</span>：3楼 → 5楼' in timeline
    assert f'<span class="text-body">销售订单</span>：{unit.order.order_no}' in timeline
    labels = re.findall(r'<span class="text-body">([^<]*)</span>', timeline)
    assert labels and not [x for x in labels if re.fullmatch(r"[a-z_]+", x)], labels
    assert "in_use → under_repair" not in timeline


def test_a_ticket_reference_reads_as_its_number_without_service(bare_client, bare_people):
    """A reference without a FK to a module that is not installed is not looked up (its
    table is not in this database): the audit log shows the number."""
    from core.extensions import db
    from core.services import ServiceContext
    from core.services import unit_of_work
    from modules.service.models import Ticket  # its model is loaded, as in a shared process

    assert Ticket.__tablename__ == "service_ticket"
    unit = installed_equipment(bare_people["a"], lines=[line(quantity=1)])[0]
    with unit_of_work(ServiceContext.system("cli")):
        record = MaintenanceRecord(equipment_id=unit.id, maintenance_type="repair",
                                   status="done", ticket_id=987)
        db.session.add(record)
    login(bare_client, bare_people["admin"])
    page = bare_client.get(f"/admin/audit?model=equipment_maintenance_record"
                           f"&record_id={record.id}")
    assert page.status_code == 200
    changes = re.findall(r"<li>([^<]*)</li>", page.get_data(as_text=True))
    assert "工单：987" in changes and "维护类型：维修" in changes, changes
