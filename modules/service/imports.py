"""service's import kind: batch repair requests from business customers (B端批量报修, issue 19
#3): one row per unit, matched by serial number or by customer + install location; each
row becomes a ticket by the creation rules, in bulk (:mod:`modules.service.services.bulk`)."""

from __future__ import annotations

from flask_babel import gettext as _

from core.imports import BatchResult
from core.imports import ImportColumn
from core.imports import ImportKind
from core.imports import RowError
from core.services import ServiceContext
from modules.service.models import COMPLAINT_LEVELS
from modules.service.models import TICKET_TYPES
from modules.service.services.bulk import create_tickets

COLUMNS = (
    ImportColumn("serial_number", "设备序列号",
                 note="填写序列号即可匹配设备；不填时按客户名称 + 安装位置匹配",
                 sample="SN-2024-000123", width=20),
    ImportColumn("customer_name", "客户名称", note="企业客户全称（只能是你可以查看的客户）",
                 sample="华东制冷设备有限公司", width=28),
    ImportColumn("location", "安装位置", note="与设备档案中的安装位置一致，例如“3 楼机房”",
                 sample="3 楼机房", width=18),
    ImportColumn("ticket_type", "服务类型", choices=TICKET_TYPES, note="不填按维修",
                 sample="repair"),
    ImportColumn("subject", "问题主题", True, note="最多 200 字", sample="空调不制冷", width=24),
    ImportColumn("description", "问题描述", sample="开机后出风口温度与室温相同", width=36),
    ImportColumn("complaint_level", "投诉级别", choices=COMPLAINT_LEVELS,
                 note="仅投诉类工单填写，不填按一般"),
    ImportColumn("contact_name", "现场联系人", note="不填按客户名称", sample="王经理"),
    ImportColumn("contact_phone", "联系电话", note="不填按客户电话", sample="13900139000"),
)


def _import(ctx: ServiceContext, rows: list, dry_run: bool) -> BatchResult:
    labels = {c.key: _(c.label) for c in COLUMNS}
    outcome = create_tickets(ctx, rows, dry_run=dry_run,
                             message=_("批量报修导入（导入记录 #%(id)s）",
                                       id=ctx.extra.get("import_log_id", "")))
    return BatchResult(outcome.created, [RowError(n, labels.get(f, ""), m)
                                         for n, f, m in outcome.errors])


REPAIRS = ImportKind("service.repair_requests", "批量报修", "service.ticket.create", COLUMNS,
                     _import, sequence=50, batch_size=5000,
                     description="一行一台设备，每行生成一张维修工单")


def import_kinds() -> list[ImportKind]:
    return [REPAIRS]

