"""crm's import kinds (issue 19 #3): customers and contacts from Excel/CSV, each row through
crm's own create service (its checks: phone and tax id, duplicates, owner rules), so a
salesperson's imported customers are his own, and contacts attach only to customers he may
see."""

from __future__ import annotations

from typing import Any

from core.imports import ImportColumn
from core.imports import ImportKind
from core.imports import per_row
from core.services import ServiceContext
from modules.crm.models.customer import CUSTOMER_LEVELS
from modules.crm.models.customer import CUSTOMER_SOURCES
from modules.crm.models.customer import CUSTOMER_TYPES
from modules.crm.queries import customers_by_name
from modules.crm.services.contacts import add_contact
from modules.crm.services.customers import create_customer

YES_NO = {"1": "是", "0": "否"}

CUSTOMER_COLUMNS = (
    ImportColumn("customer_name", "客户名称", True, note="个人客户填姓名，企业客户填公司全称",
                 sample="华东制冷设备有限公司", width=28),
    ImportColumn("customer_type", "客户类型", choices=CUSTOMER_TYPES,
                 note="不填按个人客户", sample="enterprise"),
    ImportColumn("phone", "联系电话", note="手机号，不能与已有客户重复", sample="13800138000"),
    ImportColumn("tax_id", "统一社会信用代码", note="企业客户填写，18 位",
                 sample="91310000MA1FL8KQ3N", width=22),
    ImportColumn("customer_level", "客户分级", choices=CUSTOMER_LEVELS, note="不填按普通",
                 sample="important"),
    ImportColumn("industry", "行业", sample="制造业"),
    ImportColumn("source", "来源", choices=CUSTOMER_SOURCES, sample="exhibition"),
    ImportColumn("address", "地址", sample="上海市浦东新区张江路 100 号", width=30),
    ImportColumn("tags", "标签", note="多个标签用逗号分隔", sample="VIP,华东"),
    ImportColumn("remark", "备注", sample=""),
)

CONTACT_COLUMNS = (
    ImportColumn("customer_name", "客户名称", True,
                 note="已有客户的名称（只能是你可以查看的客户）", sample="华东制冷设备有限公司",
                 width=28),
    ImportColumn("name", "联系人姓名", True, sample="王经理"),
    ImportColumn("title", "职务", sample="设备主管"),
    ImportColumn("phone", "联系电话", sample="13900139000"),
    ImportColumn("email", "邮箱", sample="wang@example.com", width=24),
    ImportColumn("wechat", "微信号", sample="wang_mgr"),
    ImportColumn("is_primary", "主要联系人", choices=YES_NO, note="每个客户只有一位主要联系人",
                 sample="1"),
    ImportColumn("remark", "备注", sample=""),
)


def _text(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if v is not None and not isinstance(v, bool) else v)
            for k, v in data.items()}


def _customer(ctx: ServiceContext, data: dict[str, Any]) -> Any:
    values = _text(data)
    values.pop("status", None)  # imported customers are active, owned by the importer
    return create_customer(ctx, values)


def _import_customers(ctx: ServiceContext, rows: list, dry_run: bool) -> Any:
    return per_row(ctx, rows, dry_run, CUSTOMERS, _customer)


def _import_contacts(ctx: ServiceContext, rows: list, dry_run: bool) -> Any:
    ctx.require("crm.contact.create")
    customers = customers_by_name(ctx, (d["customer_name"] for _n, d in rows))

    def create(ctx: ServiceContext, data: dict[str, Any]) -> Any:
        customer_id = customers.only(data["customer_name"])
        values = _text({k: v for k, v in data.items() if k != "customer_name"})
        values["is_primary"] = data.get("is_primary") == "1"
        return add_contact(ctx, customer_id, values)

    return per_row(ctx, rows, dry_run, CONTACTS, create)


CUSTOMERS = ImportKind("crm.customers", "客户", "crm.customer.create", CUSTOMER_COLUMNS,
                       _import_customers, sequence=10, batch_size=500,
                       description="导入的客户归导入人负责")
CONTACTS = ImportKind("crm.contacts", "联系人", "crm.contact.create", CONTACT_COLUMNS,
                      _import_contacts, sequence=20, batch_size=500)


def import_kinds() -> list[ImportKind]:
    return [CUSTOMERS, CONTACTS]
