"""Home workspace cards (my tickets, breaching soon, waiting for me) and the global search."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from core.paging import capped_label
from core.registration import CardContent
from core.registration import Kpi
from core.registration import Searcher
from core.registration import SearchHit
from core.registration import TodoItem
from core.registration import WorkspaceCard
from modules.service import queries
from modules.service.sla import to_local


def _url(ticket: Any) -> str:
    return f"/service/tickets/{ticket.id}"


def _due(ticket: Any) -> str:
    if ticket.resolution_due_at is None:
        return ""
    return _("截止 %(at)s", at=to_local(ticket.resolution_due_at).strftime("%m-%d %H:%M"))


def _label(total: int) -> str:
    """A capped count as shown: "10,000+" beyond the cap, else the number."""
    return capped_label(total, queries.CARD_COUNT_CAP)


def my_tickets(ctx: Any) -> CardContent:
    rows, total = queries.my_open(ctx)
    return CardContent(
        kpis=(Kpi(_("未完成"), _label(total), "/service/tickets?mine=1&open=1"),),
        items=tuple(TodoItem(f"{t.ticket_no} {t.subject}", _url(t),
                             f"{t.customer.customer_name} · {_(t.status_label)}",
                             _(t.priority_label)) for t in rows),
        total=total, total_label=_label(total), more_url="/service/tickets?mine=1&open=1",
        actions=((_("我的今日工单"), "/service/today"),),
        empty_text=_("没有未完成的工单"))


def breaching(ctx: Any) -> CardContent:
    rows, total = queries.breaching_soon(ctx)
    return CardContent(
        items=tuple(TodoItem(f"{t.ticket_no} {t.subject}", _url(t), _due(t),
                             _("已超时") if t.sla_state == "breached" else _("即将超时"))
                    for t in rows),
        total=total, total_label=_label(total), more_url="/service/tickets?sla_state=breached",
        empty_text=_("没有即将超时的工单"))


def waiting(ctx: Any) -> CardContent:
    rows, total = queries.waiting_for(ctx)
    return CardContent(
        items=tuple(TodoItem(f"{t.ticket_no} {t.subject}", _url(t),
                             t.customer.customer_name,
                             _("待接单") if t.assignee_id else _("待认领")) for t in rows),
        total=total, total_label=_label(total), more_url="/service/tickets?status=pending",
        empty_text=_("没有等待您处理的工单"))


def cards() -> list[WorkspaceCard]:
    return [
        WorkspaceCard("service.my_tickets", "我的工单", my_tickets, "todo",
                      "service.ticket.write", 20),
        WorkspaceCard("service.breaching", "即将超时的工单", breaching, "todo",
                      "service.ticket.read", 25),
        WorkspaceCard("service.waiting", "等待我处理", waiting, "todo",
                      "service.ticket.claim", 22),
    ]


def search(ctx: Any, term: str, limit: int) -> list[SearchHit]:
    return [SearchHit(f"{t.ticket_no} {t.subject}", _url(t),
                      f"{t.customer.customer_name} · {_(t.status_label)}")
            for t in queries.search(ctx, term, limit)]


def searchers() -> list[Searcher]:
    return [Searcher("service.tickets", "售后工单", search, "service.ticket.read", 30)]
