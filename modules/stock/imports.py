"""stock's import kind (issue 19 #3): the parts catalogue from Excel/CSV, each row through
:func:`create_part` (code format and uniqueness, category, price and stock levels)."""

from __future__ import annotations

from typing import Any

from core.imports import ImportColumn
from core.imports import ImportKind
from core.imports import per_row
from core.services import ServiceContext
from modules.stock.models import PART_CATEGORIES
from modules.stock.services.catalogue import create_part

COLUMNS = (
    ImportColumn("part_code", "配件编码", True,
                 note="大写字母、数字、点、横线和下划线，不能与已有配件重复",
                 sample="AC-FILTER-001", width=20),
    ImportColumn("part_name", "配件名称", True, sample="空调滤网", width=20),
    ImportColumn("category", "类别", choices=PART_CATEGORIES, note="不填按其他",
                 sample="filter"),
    ImportColumn("specification", "规格", sample="600×600"),
    ImportColumn("applicable_models", "适用型号", sample="KFR-72LW", width=20),
    ImportColumn("unit", "单位", note="不填按“个”", sample="片"),
    ImportColumn("unit_price", "单价（元）", sample=35.5),
    ImportColumn("min_stock_alert", "最低库存", note="低于此数量时预警", sample=10),
    ImportColumn("reorder_quantity", "补货数量", sample=50),
)

TEXTS = ("part_name", "specification", "applicable_models", "unit")


def _create(ctx: ServiceContext, data: dict[str, Any]) -> Any:
    values = {k: v for k, v in data.items() if v is not None}
    for key in TEXTS:
        if key in values:
            values[key] = str(values[key])
    values["part_code"] = str(data.get("part_code") or "")
    return create_part(ctx, values)


def _import(ctx: ServiceContext, rows: list, dry_run: bool) -> Any:
    return per_row(ctx, rows, dry_run, PARTS, _create)


PARTS = ImportKind("stock.parts", "配件", "stock.part.write", COLUMNS, _import, sequence=40,
                   batch_size=500)


def import_kinds() -> list[ImportKind]:
    return [PARTS]
