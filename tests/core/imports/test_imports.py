"""Issue 19 #3: Excel import — templates, dry runs with row errors in the importer's language,
imports that skip bad rows, the import log and its error report, record rules; for each
kind (customers, contacts, equipment, parts, batch repair requests)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func
from sqlalchemy import select

from core.audit import AuditLog
from core.audit import jsonable
from core.extensions import db
from core.imports.models import ImportLog
from modules.crm.models.customer import Contact
from modules.crm.models.customer import Customer
from modules.equipment.models import Equipment
from modules.service.models import Ticket
from modules.service.models import TicketActionLog
from modules.stock.models import Part
from tests.conftest import login
from tests.core.imports.conftest import confirm
from tests.core.imports.conftest import report
from tests.core.imports.conftest import upload
from tests.core.imports.conftest import xlsx
from tests.modules.crm.factories import make_customer

KINDS = ("crm.customers", "crm.contacts", "equipment.units", "stock.parts",
         "service.repair_requests")


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_every_kind_has_a_template_with_dropdowns_a_sample_and_chinese_notes(client, people):
    login(client, people["admin"])
    page = client.get("/imports/").get_data(as_text=True)
    for kind in KINDS:
        assert f'data-template="{kind}"' in page
        response = client.get(f"/imports/?template={kind}")
        assert response.status_code == 200
        book = load_workbook(io.BytesIO(response.data))
        sheet = book.worksheets[0]
        header = [c.value for c in sheet[1]]
        assert all(header) and any(h.endswith("*") for h in header)  # required marked
        assert any(c.value is not None for c in sheet[2])  # the sample row
        assert any(c.comment and "\u4e00" <= c.comment.text[0] <= "\u9fff" for c in sheet[1])
        assert book["说明"].max_row == len(header) + 1
    sheet = load_workbook(io.BytesIO(client.get("/imports/?template=crm.customers").data))
    validations = sheet.worksheets[0].data_validations.dataValidation
    assert validations and all(v.type == "list" for v in validations)
    options = sheet["options"]
    assert options.sheet_state == "hidden"
    assert {options.cell(row=r, column=1).value for r in (1, 2)} == {"个人", "企业"}


def test_customers_dry_run_shows_row_errors_then_imports_the_good_rows(client, people):
    login(client, people["a"])
    rows = [["客户名称*", "客户类型", "联系电话", "客户分级"],
            ["导入客户甲", "个人", "13800000001", "重要"],
            ["导入客户乙", "个人", "12345", "普通"],  # bad phone
            ["", "", "", ""],  # blank: ignored
            ["导入客户丙", "神秘", "13800000003", ""],  # not a type
            [None, "个人", "13800000004", "普通"]]  # no name
    dry = upload(client, "crm.customers", xlsx(rows), "客户.xlsx")
    assert (dry.dry_run, dry.status, dry.total_rows, dry.created_rows, dry.error_rows) == \
        (True, "done", 4, 1, 3)
    assert _count(Customer) == 0  # a dry run writes nothing
    page = client.get(f"/imports/{dry.id}").get_data(as_text=True)
    assert "第 3 行" in page and "第 5 行" in page and "第 6 行" in page
    assert "“神秘”不是可选值" in page and "客户名称：必填" in page
    lines = report(client, dry)
    assert lines[0][:2] == ("行号", "错误") and [r[0] for r in lines[1:]] == [3, 5, 6]
    assert lines[1][2:4] == ("导入客户乙", "个人")  # the original cells, to fix and re-import
    done = confirm(client, dry)
    assert (done.dry_run, done.status, done.created_rows, done.error_rows) == (False, "done", 1, 3)
    assert done.dry_run_of_id == dry.id and done.actor_id == people["a"].id
    again = client.post(f"/imports/{dry.id}")  # a second confirmation imports nothing
    assert again.status_code == 400 and "这次试导入已确认过" in again.get_data(as_text=True)
    customer = db.session.scalar(select(Customer))
    assert (customer.customer_name, customer.customer_type, customer.customer_level,
            customer.owner_id) == ("导入客户甲", "individual", "important", people["a"].id)
    audit = db.session.scalar(select(AuditLog).where(AuditLog.model == "crm_customer"))
    assert (audit.action, audit.source, audit.actor_id) == ("create", "job", people["a"].id)
    listing = client.get("/imports/").get_data(as_text=True)
    assert f'data-import-log="{done.id}"' in listing and f'data-import-log="{dry.id}"' in listing
    status = client.get(f"/imports/{done.id}?format=json").json
    assert status == {"id": done.id, "status": "done", "percent": 100, "total": 4,
                      "processed": 4, "created": 1, "errors": 3}


def test_row_errors_are_in_english_for_an_english_importer(client, people):
    people["a"].locale = "en"
    db.session.commit()
    login(client, people["a"])
    rows = [["Customer name", "Customer type", "Phone"],
            ["Acme", "Mystery", "13800000001"], [None, "Individual", "13800000002"]]
    dry = upload(client, "crm.customers", xlsx(rows))
    page = client.get(f"/imports/{dry.id}").get_data(as_text=True)
    assert "Row 2" in page and "Row 3" in page
    assert "“Mystery” is not one of the choices" in page and "Customer name: Required" in page
    assert report(client, dry)[0][:2] == ("Row", "Error")


def test_a_missing_required_column_refuses_the_file(client, people):
    login(client, people["a"])
    dry = upload(client, "crm.customers", xlsx([["联系电话"], ["13800000001"]]))
    assert (dry.status, dry.created_rows, dry.error_rows) == ("done", 0, 1)
    assert "缺少必填列“客户名称”" in client.get(f"/imports/{dry.id}").get_data(as_text=True)
    assert b"data-import-confirm" not in client.get(f"/imports/{dry.id}").data


def test_contacts_resolve_customers_only_within_what_the_importer_sees(client, people):
    mine = make_customer(people["a"], customer_name="甲的客户")
    make_customer(people["c"], customer_name="丙的客户")
    login(client, people["a"])
    rows = [["客户名称", "联系人姓名", "联系电话", "主要联系人"],
            ["甲的客户", "王经理", "13900000001", "是"],
            ["丙的客户", "李经理", "13900000002", "否"],
            ["没有这个客户", "赵经理", "13900000003", "否"]]
    dry = upload(client, "crm.contacts", xlsx(rows), "c.xlsx")
    assert (dry.created_rows, dry.error_rows) == (1, 2)
    page = client.get(f"/imports/{dry.id}").get_data(as_text=True)
    assert "找不到客户“丙的客户”" in page  # another team's customer: not found, like a typo
    done = confirm(client, dry)
    assert done.created_rows == 1
    contact = db.session.scalar(select(Contact))
    assert (contact.customer_id, contact.name, contact.is_primary) == (mine.id, "王经理", True)


def test_csv_files_are_read_too(client, people):
    login(client, people["a"])
    data = "客户名称,联系电话\n一号客户,13800000011\n二号客户,13800000011\n".encode("utf-8-sig")
    dry = upload(client, "crm.customers", data, "customers.csv")
    # The second row repeats the first one's phone: caught in the dry run too (rolled back).
    assert (dry.created_rows, dry.error_rows) == (1, 1)
    assert confirm(client, dry).created_rows == 1


def test_parts_import_and_permission(client, people, make_user):
    login(client, people["a"])  # a salesperson may not maintain the parts catalogue
    response = client.post("/imports/", data={
        "kind": "stock.parts", "file": (io.BytesIO(xlsx([["配件编码", "配件名称"]])), "p.xlsx")},
        content_type="multipart/form-data")
    assert "无权限" in response.get_data(as_text=True)
    keeper = make_user("warehouse")
    client.post("/logout")
    login(client, keeper)
    rows = [["配件编码", "配件名称", "类别", "单价（元）", "最低库存"],
            ["AC-FILTER-009", "滤网", "滤网", 35.5, 10],
            ["bad code!", "坏编码", "", "", ""],
            ["AC-FAN-001", "风扇", "电机", "abc", ""]]
    dry = upload(client, "stock.parts", xlsx(rows))
    assert (dry.created_rows, dry.error_rows) == (1, 2)
    done = confirm(client, dry)
    part = db.session.scalar(select(Part))
    assert (done.created_rows, part.part_code, part.category, str(part.unit_price)) == \
        (1, "AC-FILTER-009", "filter", "35.50")


def _units(client: Any, people: dict) -> tuple[Any, Any]:
    """A's enterprise customer with two units (serial, and a place) and c's customer with one,
    imported through the equipment kind by the manager and by the admin."""
    own = make_customer(people["a"], customer_type="enterprise", customer_name="华东制冷")
    other = make_customer(people["c"], customer_type="enterprise", customer_name="华南制冷")
    login(client, people["admin"])
    rows = [["客户名称", "序列号", "品牌", "安装日期", "安装位置", "质保月数"],
            ["华东制冷", "SN-001", "格力", date(2025, 1, 1), "3 楼机房", 36],
            ["华东制冷", "SN-002", "格力", "2020-01-01", "1 楼大厅", 12],
            ["华南制冷", "SN-003", "格力", "2025-02-01", "仓库", 36],
            ["华东制冷", "SN-001", "格力", "", "", ""],  # serial taken
            ["华东制冷", "SN-004", "格力", "昨天", "", ""]]  # not a date
    dry = upload(client, "equipment.units", xlsx(rows))
    assert (dry.created_rows, dry.error_rows) == (3, 2)  # the repeat of SN-001 too
    done = confirm(client, dry)
    assert (done.created_rows, done.error_rows) == (3, 2)
    client.post("/logout")
    return own, other


def test_equipment_import(client, people):
    own, _other = _units(client, people)
    unit = db.session.scalar(select(Equipment).where(Equipment.serial_number == "SN-001"))
    assert (unit.customer_id, unit.install_location, unit.warranty_end_date) == \
        (own.id, "3 楼机房", date(2028, 1, 1))
    assert unit.equipment_no.startswith("EQ")


def test_batch_repair_requests_match_units_and_follow_the_ticket_rules(client, people):
    own, _other = _units(client, people)
    login(client, people["a"])
    rows = [["设备序列号", "客户名称", "安装位置", "服务类型", "问题主题", "问题描述"],
            ["SN-001", "", "", "维修", "不制冷", "3 楼机房空调不制冷"],
            ["", "华东制冷", "1 楼大厅", "投诉", "噪音大", ""],
            ["SN-003", "", "", "维修", "华南的设备", ""],  # c's customer: not visible to a
            ["SN-999", "", "", "维修", "没有这台", ""],
            ["", "华东制冷", "5 楼", "维修", "没有这个位置", ""],
            ["SN-002", "", "", "维修", "", ""]]  # no subject
    dry = upload(client, "service.repair_requests", xlsx(rows), "报修.xlsx")
    assert (dry.created_rows, dry.error_rows) == (2, 4)
    assert _count(Ticket) == 0
    page = client.get(f"/imports/{dry.id}").get_data(as_text=True)
    assert "找不到序列号为 SN-003 的设备" in page and "找不到序列号为 SN-999 的设备" in page
    assert "该客户在“5 楼”没有登记设备" in page and "问题主题：必填" in page
    done = confirm(client, dry)
    assert (done.created_rows, done.error_rows) == (2, 4)
    tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    repair, complaint = tickets
    assert (repair.ticket_type, repair.priority, repair.customer_id, repair.status) == \
        ("repair", "high", own.id, "pending")
    assert (complaint.priority, complaint.complaint_level) == ("urgent", "general")
    assert repair.equipment.serial_number == "SN-001"
    assert complaint.equipment.install_location == "1 楼大厅"
    assert repair.warranty_status == "in_warranty" and complaint.warranty_status == \
        "out_of_warranty"
    assert all(t.ticket_no.startswith("AS") and len(t.ticket_no) == 19 for t in tickets)
    assert repair.ticket_no != complaint.ticket_no
    assert repair.created_by_id == people["a"].id and repair.channel == "import"
    actions = db.session.scalars(select(TicketActionLog.action).where(
        TicketActionLog.ticket_id == repair.id)).all()
    assert "create" in actions
    audit = db.session.scalars(select(AuditLog).where(AuditLog.model == "service_ticket")).all()
    assert sorted(int(a.record_id) for a in audit) == sorted(t.id for t in tickets)
    assert {(a.action, a.source, a.actor_id) for a in audit} == {("create", "job", people["a"].id)}
    assert audit[0].changes["ticket_no"][1] in {t.ticket_no for t in tickets}


def test_cli_import_with_dry_run(app, people, tmp_path):
    from core.cli import cli

    path = tmp_path / "customers.xlsx"
    path.write_bytes(xlsx([["客户名称", "联系电话"], ["命令行客户", "13800000021"],
                           ["坏电话", "123"]]))
    runner = CliRunner()
    args = ["import", "crm.customers", str(path), "--user", people["a"].username]
    result = runner.invoke(cli, [*args, "--dry-run"], catch_exceptions=False)
    assert "错误 1 行" in result.output, result.output
    assert _count(Customer) == 0
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert "已导入 1 行" in result.output, result.output
    db.session.expire_all()
    log = db.session.scalar(select(ImportLog).order_by(ImportLog.id.desc()))
    assert (log.source, log.dry_run, log.created_rows, log.error_rows) == ("cli", False, 1, 1)
    audit = db.session.scalar(select(AuditLog).where(AuditLog.model == "crm_customer"))
    assert audit.source == "cli"


def test_logs_are_private_to_their_importer(client, people):
    login(client, people["a"])
    dry = upload(client, "crm.customers", xlsx([["客户名称"], ["某客户"]]))
    client.post("/logout")
    login(client, people["b"])
    assert client.get(f"/imports/{dry.id}").status_code == 404
    assert client.get(f"/imports/{dry.id}?download=errors").status_code == 404
    assert client.post(f"/imports/{dry.id}").status_code == 404


def test_bulk_imported_tickets_appear_in_the_changes_feed(client, people):
    """The repair requests go in by COPY / Core INSERT, which the flush listener never sees:
    the import notes them, so the changes feed (issue 19 #5) has one create per ticket."""
    from core.changes import encode_cursor
    from core.changes import read_changes
    from core.changes.models import ChangeEvent
    from core.services import ServiceContext

    _units(client, people)
    start = db.session.scalar(select(func.max(ChangeEvent.id))) or 0
    login(client, people["a"])
    rows = [["设备序列号", "问题主题"], ["SN-001", "不制冷"], ["SN-002", "漏水"]]
    confirm(client, upload(client, "service.repair_requests", xlsx(rows)))
    tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    page = read_changes(ServiceContext.system(), encode_cursor(start))
    created = [e for e in page["data"] if e["model"] == "service_ticket"]
    assert [(e["record_id"], e["action"]) for e in created] == \
        [(str(t.id), "create") for t in tickets]
    assert {e["data"]["ticket_no"] for e in created} == {t.ticket_no for t in tickets}
    # the values the import hands the feed are those a read-back of the rows gives
    table = Ticket.__table__
    stored = {str(r["id"]): {k: jsonable(v) for k, v in r.items()}
              for r in db.session.execute(select(table)).mappings()}
    assert len(stored) == 2
    assert {e["record_id"]: e["data"] for e in created} == stored
    assert stored[str(tickets[0].id)]["fee_visit"] == "0.00"  # at the column's scale
