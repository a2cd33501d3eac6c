"""Satisfaction surveys (seed 000 §5.4, §7 scenario 2): on resolution the customer gets a
signed single-use link (the token is stored only as its SHA-256); a score of 1–5 and a
comment; a score ≤ 2 creates a revisit task (or reopens, by setting); no answer within
``service.survey_days`` → "no rating", never a good one. CSAT counts answers only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from core.errors import NotFoundError
from core.extensions import db
from core.services import ServiceContext
from core.settings import get_setting
from modules.service.models import Survey
from modules.service.models import Ticket
from modules.service.services.base import log_action


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_path(token: str) -> str:
    return f"/service/survey/{token}"


def send_survey(ctx: ServiceContext, ticket: Ticket) -> str:
    """Create the survey and queue it to the customer (SMS to the contact phone, and the
    customer's WeCom follow-up card through the sales owner); returns the link path."""
    from core.notify import notify

    token = secrets.token_urlsafe(24)
    days = int(get_setting("service.survey_days", 3) or 3)
    db.session.add(Survey(ticket_id=ticket.id, token_hash=_hash(token), sent_at=ctx.now,
                          expires_at=ctx.now + timedelta(days=days)))
    ticket.survey_state = "sent"
    ticket.survey_sent_at = ctx.now
    path = survey_path(token)
    ticket.__dict__["_survey_path"] = path  # for the caller's reply (not stored)
    body = f"您的服务工单 {ticket.ticket_no}（{ticket.subject}）已处理完毕，请为本次服务评分。"
    if ticket.contact_phone:
        notify(ctx, [], "服务满意度调查", body, channels=("sms",), url=path,
               address=ticket.contact_phone, dedupe_key=f"service.survey:{ticket.id}:"
               f"{ticket.survey_sent_at.isoformat()}", record=ticket)
    else:  # no phone on file: the sales owner forwards the link (in-app)
        owner = ticket.customer.owner if ticket.customer is not None else None
        if owner is not None:
            notify(ctx, [owner], f"请转发满意度调查给客户：{ticket.ticket_no}", body,
                   channels=("inapp",), url=path, record=ticket,
                   dedupe_key=f"service.survey:{ticket.id}:{ticket.survey_sent_at.isoformat()}")
    log_action(ctx, ticket, "survey_sent", _("已发送满意度调查"))
    return path


def find_survey(token: str) -> Survey:
    survey = db.session.scalar(select(Survey).where(Survey.token_hash == _hash(token or "")))
    if survey is None:
        raise NotFoundError(_("调查链接无效"))
    return survey


def csat(ctx: ServiceContext) -> tuple[float | None, int]:
    """Average score and number of answers (answers only: no rating is not a rating)."""
    stmt = ctx.scoped(select(func.avg(Ticket.rating), func.count(Ticket.rating))
                      .where(Ticket.rating.is_not(None)), Ticket)
    avg, n = db.session.execute(stmt).one()
    return (float(avg) if avg is not None else None), int(n or 0)
