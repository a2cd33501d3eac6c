"""The ticket's chat card (seed 000 §6.3): title, priority, customer, equipment, order and
the buttons 认领 / 接单 / 拒单 / 查看."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import pgettext

from core.bot import Card
from core.bot import CardButton
from modules.service import links
from modules.service.models import Ticket

MODEL = "service_ticket"


def ticket_path(ticket_id: int) -> str:
    return f"/service/tickets/{ticket_id}"


def absolute(path: str) -> str:
    return current_app.config["TANDEM_BASE_URL"].rstrip("/") + path


def ticket_card(ticket: Ticket, source: str | None = None, *, offer: bool = False) -> Card:
    """The ticket's card in the current locale; a 认领 button while nobody has it, 接单 /
    拒单 when it is offered to the reader (``offer``)."""
    url = absolute(ticket_path(ticket.id))
    fields = [(pgettext("card", "客户"), ticket.customer.customer_name),
              (_("工单号"), ticket.ticket_no),
              (_("类型"), _(ticket.type_label)),
              (_("状态"), _(ticket.status_label)),
              (_("负责人"), ticket.assignee.name if ticket.assignee else _("待认领"))]
    order = links.order_label(ticket.order_id)
    if order:
        fields.append((_("订单号"), order))
    equipment = links.equipment_label(ticket.equipment_id)
    if equipment:
        fields.append((_("设备"), equipment))
    buttons = [CardButton.link(pgettext("card", "查看"), url)]
    if ticket.assignee_id is None and ticket.status in ("pending", "reopened"):
        buttons.insert(0, CardButton.action(_("认领"), "service.ticket.claim", ticket.id))
    elif offer:
        buttons.insert(0, CardButton.action(_("拒单"), "service.ticket.decline", ticket.id))
        buttons.insert(0, CardButton.action(_("接单"), "service.ticket.accept", ticket.id))
    elif ticket.status in ("accepted", "in_service", "reopened"):
        buttons.insert(0, CardButton.action(_("已解决"), "service.ticket.resolve", ticket.id))
    return Card(title=ticket.subject, description=(ticket.description or "")[:200],
                source=source if source is not None else _("售后工单"),
                emphasis=(_("优先级"), _(ticket.priority_label)), fields=fields, url=url,
                buttons=buttons, record=(MODEL, ticket.id))
