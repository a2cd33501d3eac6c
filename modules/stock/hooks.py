"""Registrations of the stock module."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from core import hookimpl
from core.registration import CardContent
from core.registration import JobSpec
from core.registration import Kpi
from core.registration import MenuItem
from core.registration import Permission
from core.registration import RecordRule
from core.registration import Searcher
from core.registration import SearchHit
from core.registration import Setting
from core.registration import TodoItem
from core.registration import WorkspaceCard
from core.security.rules import own_records
from modules.stock.models import MODELS
from modules.stock.models import PartRequest
from modules.stock.services.requests import serve_waiting

FIELD = ("engineer", "warehouse", "manager")
KEEPERS = ("warehouse", "manager")


@hookimpl
def register_models() -> list:
    return list(MODELS)


@hookimpl
def register_blueprints() -> list:
    from modules.stock.api import bp as api_bp
    from modules.stock.web.views import bp

    return [bp, api_bp]


@hookimpl
def register_permissions() -> list:
    return [
        Permission("stock.part.read", "查看配件与库存", FIELD),
        Permission("stock.part.write", "维护配件目录、仓库与供应商", KEEPERS),
        Permission("stock.request.read", "查看配件申请", FIELD),
        Permission("stock.request.create", "申请配件", FIELD),
        Permission("stock.request.approve", "审批配件申请", KEEPERS),
        Permission("stock.move.issue", "直接领用出库", KEEPERS),
        Permission("stock.move.write", "入库、退料、调拨", KEEPERS),
        Permission("stock.count.write", "库存盘点", KEEPERS),
        Permission("stock.purchase.read", "查看采购", KEEPERS),
        Permission("stock.purchase.write", "采购申请与采购单", KEEPERS),
        Permission("stock.purchase.approve", "审批采购申请", ("manager",)),
    ]


@hookimpl
def register_record_rules() -> list:
    """Engineers see their own part requests; keepers and managers see all."""
    return [RecordRule("stock_part_request: own", PartRequest, ("engineer",),
                       own_records(PartRequest.requester_id))]


@hookimpl
def register_menus() -> list:
    return [
        MenuItem("stock", "配件库存", sequence=40, icon="box-seam"),
        MenuItem("stock.parts", "配件", "stock.parts", "stock", 10, "stock.part.read"),
        MenuItem("stock.requests", "配件申请", "stock.requests", "stock", 20,
                 "stock.request.read"),
        MenuItem("stock.receipt", "入库", "stock.receipt", "stock", 30, "stock.move.write"),
        MenuItem("stock.transfer", "调拨", "stock.transfer", "stock", 40, "stock.move.write"),
        MenuItem("stock.count", "盘点", "stock.count", "stock", 50, "stock.count.write"),
        MenuItem("stock.purchase_requests", "采购申请", "stock.purchase_requests", "stock", 60,
                 "stock.purchase.read"),
        MenuItem("stock.purchase_orders", "采购单", "stock.purchase_orders", "stock", 70,
                 "stock.purchase.read"),
        MenuItem("stock.warehouses", "仓库", "stock.warehouses", "stock", 80,
                 "stock.part.read"),
        MenuItem("stock.suppliers", "供应商", "stock.suppliers", "stock", 85,
                 "stock.purchase.read"),
        MenuItem("stock.usage", "配件使用统计", "stock.usage", "stock", 90,
                 "stock.purchase.read"),
    ]


@hookimpl
def register_bot_commands() -> list:
    from modules.stock.bot import commands

    return commands()


@hookimpl
def register_card_actions() -> list:
    from modules.stock.bot import card_actions

    return card_actions()


@hookimpl
def register_jobs() -> list:
    return [JobSpec("stock.low_stock_daily", "modules.stock.jobs:low_stock_daily",
                    schedule="0 23 * * *",
                    description="每日低库存检查，按预计库存生成采购申请（北京时间 07:00）")]


@hookimpl
def register_settings() -> list:
    return [
        Setting("stock.warehouse_webhook", "仓库群机器人名称", default="warehouse",
                help="WECOM_WEBHOOK_KEYS 中的名称：配件申请与低库存预警推送到此群"),
        Setting("stock.warehouse_chat_id", "仓库群会话 ID", default="",
                help="机器人在此群发出的卡片可作为后续命令的上下文"),
    ]


def _pending_card(ctx: Any) -> CardContent:
    from modules.stock.queries import pending_requests

    rows, total = pending_requests(ctx)
    items = tuple(TodoItem(f"{r.number} " + _("、").join(
        f"{ln.part.part_code}×{ln.quantity}" for ln in r.lines),
        f"/stock/requests/{r.id}", r.requester.name if r.requester else "",
        _("紧急") if r.urgency == "urgent" else "") for r in rows)
    return CardContent(items=items, total=total, more_url="/stock/requests?status=pending",
                       empty_text=_("没有待审批的配件申请"))


def _low_stock_card(ctx: Any) -> CardContent:
    from modules.stock.queries import parts_below_minimum

    rows, total = parts_below_minimum()
    items = tuple(TodoItem(f"{p.part_code} {p.part_name}", f"/stock/parts/{p.id}",
                           _("现有 %(have)s / 最低 %(min)s", have=q, min=p.min_stock_alert))
                  for p, q in rows)
    return CardContent(kpis=(Kpi(_("低于最低库存"), str(total), "/stock/parts?low_stock=1"),),
                       items=items, total=total, more_url="/stock/parts?low_stock=1",
                       empty_text=_("所有配件均高于最低库存"))


def _receipts_card(ctx: Any) -> CardContent:
    from zoneinfo import ZoneInfo

    from modules.stock.queries import receipts_expected

    today = ctx.now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    rows, total = receipts_expected(today)
    items = tuple(TodoItem(f"{o.number} {o.supplier.name}", f"/stock/purchase-orders/{o.id}",
                           f"{o.expected_date:%m-%d}",
                           _("逾期") if o.expected_date < today else _("今天"))
                  for o in rows)
    return CardContent(items=items, total=total, more_url="/stock/purchase-orders?open=1",
                       actions=((_("登记入库"), "/stock/receipt"),),
                       empty_text=_("今天没有预计到货"))


@hookimpl
def register_workspace_cards() -> list:
    return [
        WorkspaceCard("stock.pending_requests", "待审批配件申请", _pending_card, "todo",
                      "stock.request.approve", 30),
        WorkspaceCard("stock.low_stock", "低于最低库存的配件", _low_stock_card, "todo",
                      "stock.part.write", 31),
        WorkspaceCard("stock.receipts_today", "今日预计到货", _receipts_card, "todo",
                      "stock.move.write", 32),
    ]


def _search_parts(ctx: Any, term: str, limit: int) -> list[SearchHit]:
    from modules.stock.queries import search_parts

    return [SearchHit(f"{p.part_code} {p.part_name}", f"/stock/parts/{p.id}",
                      p.specification or _(p.category_label)) for p in search_parts(term, limit)]


@hookimpl
def register_searchers() -> list:
    return [Searcher("stock.parts", "配件", _search_parts, "stock.part.read", 40)]


@hookimpl
def load_demo_data(ctx: Any) -> None:
    from modules.stock.demo import load

    load(ctx)


@hookimpl
def stock_arrived(part_ids: list[int], ctx: Any) -> None:
    for part_id in dict.fromkeys(part_ids):
        serve_waiting(ctx, part_id)


@hookimpl
def register_import_kinds() -> list:
    from modules.stock.imports import import_kinds

    return import_kinds()


@hookimpl
def register_dashboard_figures() -> list:
    from modules.stock.dashboard import figures

    return figures()
