"""Registrations of the service module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from core import hookimpl
from core.db import in_select
from core.registration import JobSpec
from core.registration import MenuItem
from core.registration import Permission
from core.registration import RecordRule
from core.registration import Role
from core.registration import Setting
from modules.service.models import OPEN_STATUSES
from modules.service.models import Engineer
from modules.service.models import ServiceReport
from modules.service.models import SlaPolicy
from modules.service.models import Survey
from modules.service.models import Ticket
from modules.service.models import TicketActionLog
from modules.service.models import TicketCollaborator
from modules.service.models import Visit
from modules.service.queries import mine_clause

SERVICE = ("engineer", "manager")
EVERYONE = ("engineer", "manager", "sales")


@hookimpl
def register_models() -> list:
    return [Ticket, TicketCollaborator, TicketActionLog, Engineer, SlaPolicy, Survey, Visit,
            ServiceReport]


@hookimpl
def register_permissions() -> list:
    return [
        Permission("service.ticket.read", "查看售后工单", EVERYONE),
        Permission("service.ticket.create", "新建售后工单", EVERYONE),
        Permission("service.ticket.write", "处理售后工单", SERVICE),
        Permission("service.ticket.claim", "认领售后工单", SERVICE),
        Permission("service.ticket.assign", "派单与管理售后工单", ("manager",)),
        Permission("service.policy.manage", "管理 SLA 策略与工程师", ("manager",)),
        Permission("service.analytics.read", "查看售后服务分析", ("manager",)),
    ]


@hookimpl
def register_roles() -> list:
    return [Role("service_manager", "售后主管")]


def _claimable() -> Any:
    return (Ticket.assignee_id.is_(None)) & Ticket.status.in_(OPEN_STATUSES)


def _sales_domain(user: Any) -> Any:
    from modules.crm.models.customer import Customer

    # ``in_select``: an index scan of each side (a BitmapOr) on PostgreSQL, not a row-by-row
    # test of every ticket (1,000,000 tickets: 2 s → see bench/README.md's analytics).
    return or_(Ticket.created_by_id == user.id,
               in_select(Ticket.customer_id,
                         select(Customer.id).where(Customer.owner_id == user.id)))


@hookimpl
def register_record_rules() -> list:
    """Engineers: their tickets, those they help on and the unassigned open ones (to claim);
    sales: the tickets of their customers and those they reported; managers: all."""
    return [
        RecordRule("service_ticket: assigned, collaborating and claimable", Ticket,
                   ("engineer",),
                   lambda user: or_(mine_clause(user.id), _claimable())),
        RecordRule("service_ticket: customers' tickets", Ticket, ("sales",), _sales_domain),
    ]


@hookimpl
def register_bot_commands() -> list:
    from modules.service.bot import commands

    return commands()


@hookimpl
def register_card_actions() -> list:
    from modules.service.bot import card_actions

    return card_actions()


@hookimpl
def register_jobs() -> list:
    return [
        JobSpec("service.refresh_sla", "modules.service.jobs:refresh_sla", schedule="* * * * *",
                description="刷新工单 SLA：标记超时并升级一次"),
        JobSpec("service.dispatch_timeouts", "modules.service.jobs:dispatch_timeouts",
                schedule="* * * * *", description="派单超时转下一位、抢单过期按规则派单"),
        JobSpec("service.expire_surveys", "modules.service.jobs:expire_surveys",
                schedule="17 * * * *", description="满意度调查过期记为未评价"),
    ]


@hookimpl
def register_settings() -> list:
    return [
        Setting("service.dispatch_mode", "派单方式", default="grab",
                help="grab（抢单，超时按规则派）、auto（按规则自动派）、manual（经理派单）"),
        Setting("service.dispatch_strategy", "自动派单规则", default="load",
                help="load（按当前工单量）或 round_robin（轮流）"),
        Setting("service.assign_project_owner", "优先派给项目负责人", type="bool", default=True),
        Setting("service.grab_minutes", "抢单时限（分钟）", type="int", default=15),
        Setting("service.offer_minutes", "派单接单时限（分钟）", type="int", default=30),
        Setting("service.working_hours", "SLA 工作时间段", type="json",
                default=[["09:00", "12:00"], ["13:30", "18:00"]],
                help='例如 [["09:00", "12:00"], ["13:30", "18:00"]]；节假日与调休按国家日历'),
        Setting("service.group_webhook", "售后群机器人名称", default="service",
                help="WECOM_WEBHOOK_KEYS 中的名称"),
        Setting("service.group_chat_id", "售后群会话 ID", default="",
                help="智能机器人所在售后群的 chatid：群里 #认领 默认指工单"),
        Setting("service.checkin_radius_m", "签到半径（米）", type="int", default=500),
        Setting("service.pdf_font", "服务报告 PDF 字体", default="",
                help="含中文的 TTF/TTC 字体路径；留空使用系统文泉驿微米黑"),
        Setting("service.survey_days", "满意度调查有效天数", type="int", default=3),
        Setting("service.low_score_reopen", "低分（≤2）时重开工单", type="bool", default=False,
                help="关闭时低分生成回访任务"),
    ]


@hookimpl(optionalhook=True)
def handover_checklist_items(customer_ids: list[int], ctx: Any) -> list[dict]:
    """crm's handover checklist: the customers' open service tickets."""
    from modules.service.queries import open_tickets_of

    rows = open_tickets_of(customer_ids)
    detail = "、".join(f"{t.ticket_no} {t.subject}" for t in rows[:10])
    return [{"category": "service.open_tickets", "title": "未结售后工单", "count": len(rows),
             "detail": detail}]


@hookimpl
def maintenance_order_requested(equipment: Any, due_date: Any, ctx: Any) -> Any:
    """Equipment's preventive scan asks for a maintenance order: a maintenance ticket."""
    from modules.service.services.tickets import create_maintenance_ticket

    return create_maintenance_ticket(ctx, equipment, due_date)


@hookimpl
def equipment_repairs(units: Any) -> Any:
    """Equipment's MTBF and MTTR: the units' repair tickets (cancelled and rejected ones are
    no failure), reported when created, repaired when resolved (or closed)."""
    return (select(Ticket.equipment_id, Ticket.created_at,
                   func.coalesce(Ticket.resolved_at, Ticket.closed_at))
            .where(Ticket.ticket_type == "repair", Ticket.equipment_id.in_(units),
                   Ticket.status.not_in(("cancelled", "rejected"))))


@hookimpl
def order_tickets(order: Any) -> list[dict]:
    """sales' read-only order link: the order's tickets, in one query, without anything
    internal (see the hook's specification)."""
    from modules.service.links import shared_tickets

    return shared_tickets(order.id)


@hookimpl
def register_blueprints() -> list:
    from modules.service.api import bp as api_bp
    from modules.service.web.analytics import bp as analytics_bp
    from modules.service.web.views import bp
    from modules.service.web.views import public_bp

    return [bp, public_bp, api_bp, analytics_bp]


@hookimpl
def register_customer_sections() -> list:
    from core.registration import CustomerSection
    from modules.service.web.sections import customer_section

    return [CustomerSection("service", "售后工单", customer_section, sequence=40,
                            permission="service.ticket.read")]


@hookimpl
def register_workspace_cards() -> list:
    from modules.service.web.workspace import cards

    return cards()


@hookimpl
def register_searchers() -> list:
    from modules.service.web.workspace import searchers

    return searchers()


@hookimpl
def register_menus() -> list:
    return [
        MenuItem("service", "售后", sequence=40, icon="tools"),
        MenuItem("service.today", "我的今日工单", "service.today", "service", 5,
                 "service.ticket.write"),
        MenuItem("service.tickets", "工单列表", "service.index", "service", 10,
                 "service.ticket.read"),
        MenuItem("service.board", "工单看板", "service.board", "service", 20,
                 "service.ticket.read"),
        MenuItem("service.new", "新建工单", "service.create", "service", 30,
                 "service.ticket.create"),
        MenuItem("service.analytics", "服务分析", "service_analytics.index", "service", 70,
                 "service.analytics.read"),
        MenuItem("service.policies", "SLA 策略", "service.policies", "service", 80,
                 "service.policy.manage"),
    ]


@hookimpl
def register_equipment_sections() -> list:
    from modules.equipment.hookspecs import EquipmentSection
    from modules.service.web.sections import equipment_section

    return [EquipmentSection("service", "维修与保养工单", equipment_section, sequence=30,
                             permission="service.ticket.read")]
@hookimpl
def load_demo_data(ctx: Any) -> None:
    from modules.service.demo import load

    load(ctx)




@hookimpl
def equipment_fault_reported(equipment: Any, description: str, contact_phone: str | None,
                             ctx: Any, photos: list[bytes]) -> Any:
    """A customer reported a fault on the unit's QR page: a repair ticket for that unit,
    with his photos (an unacceptable picture is left out, the report still counts)."""
    from core.errors import ValidationError
    from core.services import unit_of_work
    from modules.service.services.photos import add_photo
    from modules.service.services.tickets import create_ticket

    data = {"customer_id": equipment.customer_id, "ticket_type": "repair",
            "equipment_id": equipment.id, "channel": "equipment",
            "subject": description.splitlines()[0][:60], "description": description}
    if contact_phone:
        data["contact_phone"] = contact_phone
    ticket = create_ticket(ctx, data)
    for raw in photos or []:
        try:
            with unit_of_work(ctx):  # a savepoint: a refused photo leaves nothing behind
                add_photo(ctx, ticket.id, raw, "intake", "")
        except ValidationError:
            continue
    return ticket


@hookimpl
def register_import_kinds() -> list:
    from modules.service.imports import import_kinds

    return import_kinds()


@hookimpl
def register_dashboard_figures() -> list:
    from modules.service.dashboard import figures

    return figures()
