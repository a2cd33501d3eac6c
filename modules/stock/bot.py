"""Stock chat commands (seed 000 §4.2–4.3): ``#申请配件 编码 数量 [工单号]``,
``#查询配件 编码``, ``#批准配件 [PR-编号]``, ``#驳回配件 [PR-编号] 原因`` and the approval
card's 批准 / 驳回 buttons — the same services as the web pages and the API."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import hooks
from core.bot import Card
from core.errors import ValidationError
from core.registration import BotCommand
from core.registration import CardAction
from modules.stock import queries
from modules.stock.cards import MODEL
from modules.stock.cards import request_card
from modules.stock.services import requests as svc

_TICKET = re.compile(r"^(?:工单[:：#]?|#|T-?)?(\d{1,9})$", re.IGNORECASE)


def _ticket(ctx: Any, call: Any, rest: list[str]) -> tuple[int | None, int | None]:
    """The ticket the request is for: the ``part_request_target`` hook (``service_stock``:
    an AS number or the chat's last ticket card), else a plain ticket id (``工单42``)."""
    text = " ".join(rest)
    found = hooks.call("part_request_target", text=text, chat_id=call.chat_id, ctx=ctx)
    if found:
        return found.get("ticket_id"), found.get("equipment_id")
    if not rest:
        return None, None
    match = _TICKET.match(rest[0])
    if match is None:
        raise ValidationError(_("看不懂工单号“%(text)s”，例如：#申请配件 AC-FILTER-001 1 工单42",
                                text=rest[0]))
    return int(match.group(1)), None


def request_parts(ctx: Any, call: Any) -> Card:
    """``#申请配件 AC-FILTER-001 1 [工单号]``: a request waiting for approval; the reply is
    its card, the approvers get it with 批准 / 驳回 buttons."""
    argv = list(call.argv)
    if not argv:
        raise ValidationError(_("请写配件编码和数量，例如：#申请配件 AC-FILTER-001 1"))
    code, rest = argv[0], argv[1:]
    qty: Any = 1
    if rest and rest[0].isdigit():
        qty, rest = rest[0], rest[1:]
    ticket_id, equipment_id = _ticket(ctx, call, rest)
    req = svc.create_request(ctx, [{"part_code": code, "quantity": qty}], ticket_id=ticket_id,
                             equipment_id=equipment_id)
    return request_card(req, source=_("配件申请已提交，等待审批"), buttons=False)


def query_part(ctx: Any, call: Any) -> str:
    """``#查询配件 AC-FILTER-001``: on hand per warehouse and what is on order."""
    if not call.argv:
        raise ValidationError(_("请写配件编码，例如：#查询配件 AC-FILTER-001"))
    ctx.require("stock.part.read")
    part = svc.find_part(call.argv[0])
    stock = queries.stock_by_warehouse(part.id)
    total = sum(q for _wh, q in stock)
    lines = [f"**{part.part_code} {part.part_name}**"
             + (f"（{part.specification}）" if part.specification else ""),
             _("合计库存：%(total)s %(unit)s（最低 %(min)s）", total=total, unit=part.unit,
               min=part.min_stock_alert)]
    lines += [f"> {wh.name}：{q}" for wh, q in stock if q or wh.kind == "main"]
    orders = queries.open_order_lines(part.id)
    if orders:
        lines.append(_("在途："))
        lines += [f"> {ln.order.number} {ln.order.supplier.name} · {ln.open_quantity}"
                  + (f" · {_('预计')} {ln.order.expected_date:%Y-%m-%d}"
                     if ln.order.expected_date else "") for ln in orders]
    else:
        lines.append(_("在途：无"))
    return "\n".join(lines)


def _request(ctx: Any, call: Any) -> tuple[Any, str]:
    return call.resolve(lambda value: svc.get_request(ctx, value))


def approve(ctx: Any, call: Any) -> Card:
    req, _rest = _request(ctx, call)
    return request_card(svc.approve_request(ctx, req.id), source=_("已批准"), buttons=False)


def reject(ctx: Any, call: Any) -> Card:
    req, reason = _request(ctx, call)
    if not reason.strip():
        raise ValidationError(_("请写驳回原因，例如：#驳回配件 PR-12 型号不符"))
    return request_card(svc.reject_request(ctx, req.id, reason.strip()), source=_("已驳回"),
                        buttons=False)


def ask_info(ctx: Any, call: Any) -> Card:
    req, question = _request(ctx, call)
    if not question.strip():
        raise ValidationError(_("请写需要补充的信息，例如：#退回配件 PR-12 请补充故障照片"))
    return request_card(svc.ask_for_information(ctx, req.id, question.strip()),
                        source=_("已退回补充信息"), buttons=False)


def approve_clicked(ctx: Any, click: Any) -> Card:
    """The card's 批准 button: approve and issue; the clicker's card shows the outcome."""
    req = svc.approve_request(ctx, int(click.record_id()))
    source = _("已批准并出库") if req.status == "issued" else _("已批准，缺货排队中")
    return request_card(req, source=source, buttons=False)


def reject_clicked(ctx: Any, click: Any) -> str:
    """The card's 驳回 button: a rejection needs a reason, asked for in chat."""
    req = svc.get_request(ctx, int(click.record_id()))
    return _("请发送：#驳回配件 %(number)s 原因", number=req.number)


def ask_info_clicked(ctx: Any, click: Any) -> str:
    """The card's 需补充 button: the question is asked for in chat."""
    req = svc.get_request(ctx, int(click.record_id()))
    return _("请发送：#退回配件 %(number)s 需要补充的信息", number=req.number)


def commands() -> list[BotCommand]:
    common = {"model": MODEL, "reference": "PR-"}
    return [
        BotCommand("申请配件", request_parts, "stock.request.create",
                   _l("申请配件（仓管审批后出库）"), _l("#申请配件 编码 数量 [工单号]")),
        BotCommand("查询配件", query_part, "stock.part.read", _l("查询配件各仓库存与在途"),
                   _l("#查询配件 编码")),
        BotCommand("批准配件", approve, "stock.request.approve", _l("批准配件申请并出库"),
                   _l("#批准配件 [PR-编号]"), **common),
        BotCommand("驳回配件", reject, "stock.request.approve", _l("驳回配件申请（需写原因）"),
                   _l("#驳回配件 [PR-编号] 原因"), **common),
        BotCommand("退回配件", ask_info, "stock.request.approve",
                   _l("退回配件申请，请申请人补充信息"), _l("#退回配件 [PR-编号] 需要补充的信息"),
                   **common),
    ]


def card_actions() -> list[CardAction]:
    return [
        CardAction("stock.request.approve", approve_clicked, "stock.request.approve",
                   _l("批准")),
        CardAction("stock.request.reject", reject_clicked, "stock.request.approve",
                   _l("驳回")),
        CardAction("stock.request.ask_info", ask_info_clicked, "stock.request.approve",
                   _l("需补充")),
    ]
