"""Registrations of the equipment module.

equipment depends on sales (and through it on crm): units are created by an order's
installation (sales' ``order_installed``), in the order's transaction, from its delivered
lines. A unit without an order (entered by hand or imported) is allowed by the model
(``order_id`` nullable), but the module is installed with sales."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core import hookimpl
from core.registration import JobSpec
from core.registration import MenuItem
from core.registration import Permission
from core.registration import RecordRule
from core.registration import Setting
from core.security.rules import own_records
from core.security.rules import team_records
from modules.crm.models.customer import Customer
from modules.equipment.models import Equipment
from modules.equipment.models import EquipmentSequence
from modules.equipment.models import MaintenanceRecord
from modules.equipment.models import MaintenanceReminder

SALES = ("sales", "manager")
SERVICE = ("engineer", "manager")


@hookimpl
def register_models() -> list:
    return [Equipment, MaintenanceRecord, MaintenanceReminder, EquipmentSequence]


@hookimpl
def register_blueprints() -> list:
    from modules.equipment.api import bp as api_bp
    from modules.equipment.web.public import bp as public_bp
    from modules.equipment.web.views import bp

    return [bp, api_bp, public_bp]


@hookimpl
def register_permissions() -> list:
    return [
        Permission("equipment.equipment.read", "查看设备档案", (*SALES, "engineer", "warehouse")),
        Permission("equipment.equipment.write", "修改设备档案（位置、计划、状态）", SERVICE),
        Permission("equipment.maintenance.write", "登记维护、生成维护工单", SERVICE),
    ]


def _customers_of(domain: Any) -> Any:
    """Equipment of the customers the salesperson (or his team) owns: a sub-select, so the
    database evaluates it on every query."""
    return lambda user: Equipment.customer_id.in_(
        select(Customer.id).where(domain(Customer.owner_id)(user)))


@hookimpl
def register_record_rules() -> list:
    """Sales see the equipment of their own customers, managers their team's; engineers and
    warehouse staff see all (they service every site)."""
    return [
        RecordRule("equipment_equipment: own customers", Equipment, ("sales",),
                   _customers_of(own_records)),
        RecordRule("equipment_equipment: team customers", Equipment, ("manager",),
                   _customers_of(team_records)),
    ]


@hookimpl
def register_menus() -> list:
    return [
        MenuItem("equipment", "设备", sequence=27, icon="hdd-stack"),
        MenuItem("equipment.list", "设备档案", "equipment.index", "equipment", 10,
                 "equipment.equipment.read"),
        MenuItem("equipment.due", "待维护设备", "equipment.due", "equipment", 20,
                 "equipment.equipment.read"),
        MenuItem("equipment.reliability", "型号可靠性", "equipment.reliability", "equipment",
                 30, "equipment.equipment.read"),
    ]


@hookimpl
def register_jobs() -> list:
    return [JobSpec("equipment.preventive_scan", "modules.equipment.jobs:preventive_scan",
                    schedule="0 0 * * *",
                    description="每日预防性维护扫描：维护提醒、逾期升级、保修到期"
                                "（北京时间 08:00）")]


@hookimpl
def register_settings() -> list:
    return [
        Setting("equipment.remind_days", "维护提醒提前天数", type="int", default=7),
        Setting("equipment.warranty_remind_days", "保修到期提醒提前天数", type="int", default=30),
        Setting("equipment.warranty_expiring_days", "“即将过保”的天数", type="int", default=30,
                help="修改后一分钟内生效"),
        Setting("equipment.holiday_policy", "维护日期遇节假日",
                default="next", help="none 不调整 / previous 提前 / next 顺延（含调休）"),
        Setting("equipment.service_webhook", "维护提醒推送的群机器人名称", default="service",
                help="WECOM_WEBHOOK_KEYS 中的名称"),
        Setting("equipment.group_card_limit", "每次扫描推送到售后群的维护提醒卡片上限",
                type="int", default=10, help="超出的合并为一条汇总（群机器人每分钟最多 20 条）"),
        Setting("equipment.service_chat_id", "售后群的会话 ID（chatid）",
                help="#生成维护工单 不写编号时，找到该群最近推送的维护提醒"),
    ]


@hookimpl
def register_bot_commands() -> list:
    from modules.equipment.bot import commands

    return commands()


@hookimpl
def register_card_actions() -> list:
    from modules.equipment.bot import card_actions

    return card_actions()


@hookimpl
def order_installed(order: Any, installations: list[dict], ctx: Any) -> list:
    from modules.equipment.services.equipment import create_from_installation

    return create_from_installation(ctx, order, installations)


@hookimpl
def order_units(order: Any, ctx: Any) -> list[dict]:
    from modules.equipment.workspace import order_units as units

    return units(order)


@hookimpl
def register_customer_sections() -> list:
    from modules.equipment.workspace import customer_sections

    return customer_sections()


@hookimpl
def register_equipment_sections() -> list:
    from modules.equipment.workspace import equipment_sections

    return equipment_sections()


@hookimpl
def register_workspace_cards() -> list:
    from modules.equipment.workspace import workspace_cards

    return workspace_cards()


@hookimpl
def register_searchers() -> list:
    from modules.equipment.workspace import searchers

    return searchers()


@hookimpl(optionalhook=True)
def handover_checklist_items(customer_ids: list[int], ctx: Any) -> list[dict]:
    from modules.equipment.workspace import handover_items

    return handover_items(customer_ids)


@hookimpl
def load_demo_data(ctx: Any) -> None:
    from modules.equipment.demo import load

    load(ctx)


@hookimpl
def register_import_kinds() -> list:
    from modules.equipment.imports import import_kinds

    return import_kinds()
