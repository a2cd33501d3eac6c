"""equipment's import kind (issue 19 #3): units installed before Tandem, one row each, for
customers the importer may see, through :func:`register_unit` (serial unique per brand,
number, warranty end and next maintenance as for an installation)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from core.errors import ValidationError
from core.imports import ImportColumn
from core.imports import ImportKind
from core.imports import per_row
from core.services import ServiceContext
from modules.crm.queries import customers_by_name
from modules.equipment.services.equipment import register_unit

COLUMNS = (
    ImportColumn("customer_name", "客户名称", True, note="已有客户的名称（只能是你可以查看的客户）",
                 sample="华东制冷设备有限公司", width=28),
    ImportColumn("serial_number", "序列号", True, note="同一品牌下不能重复",
                 sample="SN-2024-000123", width=20),
    ImportColumn("brand", "品牌", sample="格力"),
    ImportColumn("model", "型号", sample="KFR-72LW"),
    ImportColumn("equipment_type", "设备类型", sample="柜式空调"),
    ImportColumn("install_date", "安装日期", note="格式 2024-05-01", sample=date(2024, 5, 1)),
    ImportColumn("install_location", "安装位置", note="批量报修时可按客户 + 安装位置匹配设备",
                 sample="3 楼机房", width=22),
    ImportColumn("warranty_months", "质保月数", note="不填按 36 个月", sample=36),
    ImportColumn("maintenance_cycle_days", "保养周期（天）", note="不填按 90 天", sample=90),
)


def parse_date(value: Any, field: str) -> date | None:
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        return date.fromisoformat(str(value).strip().replace("/", "-"))
    except ValueError as exc:
        message = _("日期格式不正确（例如 2024-05-01）")
        raise ValidationError(message, fields={field: message}) from exc


def _import(ctx: ServiceContext, rows: list, dry_run: bool) -> Any:
    ctx.require("equipment.equipment.write")
    customers = customers_by_name(ctx, (d["customer_name"] for _n, d in rows))

    def create(ctx: ServiceContext, data: dict[str, Any]) -> Any:
        customer_id = customers.only(data["customer_name"])
        values = {k: v for k, v in data.items() if k != "customer_name"}
        values["customer_id"] = customer_id
        values["install_date"] = parse_date(data.get("install_date"), "install_date")
        values["serial_number"] = str(data["serial_number"])
        return register_unit(ctx, values)

    return per_row(ctx, rows, dry_run, EQUIPMENT, create, {"customer_id": "customer_name"})


EQUIPMENT = ImportKind("equipment.units", "设备", "equipment.equipment.write", COLUMNS, _import,
                       sequence=30, batch_size=500)


def import_kinds() -> list[ImportKind]:
    return [EQUIPMENT]
