"""Satisfaction surveys (seed 000 §5.4, §7 scenario 2): on resolution the customer gets a
signed single-use link (the token is stored only as its SHA-256); a score of 1–5 and a
comment; a score ≤ 2 creates a revisit task (or reopens, by setting); no answer within
``service.survey_days`` → "no rating", never a good one. CSAT counts answers only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from core.errors import ConflictError
from core.errors import NotFoundError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.settings import get_setting
from modules.service.models import Survey
from modules.service.models import Ticket
from modules.service.services.tickets import log_action


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


def _aware(value):  # noqa: ANN001, ANN202
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def answer_survey(ctx: ServiceContext, token: str, score: object, comment: str = "") -> Survey:
    """The customer's answer (public page, single use)."""
    from modules.service.services import tickets

    survey = find_survey(token)
    if survey.answered_at is not None:
        raise ConflictError(_("您已评价过，感谢您的反馈"))
    if _aware(survey.expires_at) < _aware(ctx.now):
        raise UserError(_("调查链接已过期"))
    try:
        value = int(str(score))
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 5:
        message = _("请选择 1 到 5 分")
        raise ValidationError(message, fields={"score": message})
    comment = (comment or "").strip()[:2000]
    survey.answered_at = ctx.now
    survey.score = value
    survey.comment = comment or None
    ticket = survey.ticket
    ticket.rating = value
    ticket.rating_comment = survey.comment
    ticket.rated_at = ctx.now
    ticket.survey_state = "rated"
    log_action(ctx, ticket, "rated", f"{value} 分" + (f"：{comment}" if comment else ""),
               data={"score": value})
    if value <= 2:
        if get_setting("service.low_score_reopen", False) and ticket.status in ("resolved",
                                                                                "closed"):
            tickets.reopen_ticket(ctx, ticket.id, f"客户评分 {value} 分，重开处理")
        else:
            ticket.needs_revisit = True
            log_action(ctx, ticket, "revisit", f"客户评分 {value} 分，需要回访")
            from modules.service.services import pushes

            pushes.low_rating(ctx, ticket)
    elif ticket.status == "resolved":
        tickets.close_ticket(ctx, ticket.id, f"客户评分 {value} 分")
    return survey


def expire_surveys(ctx: ServiceContext) -> int:
    """The job: unanswered surveys past their date → "no rating"; resolved tickets close."""
    from modules.service.services import tickets

    rows = db.session.scalars(select(Survey).where(
        Survey.answered_at.is_(None), Survey.expires_at < ctx.now)
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .where(Ticket.survey_state == "sent").limit(1000)).all()
    for survey in rows:
        ticket = survey.ticket
        ticket.survey_state = "no_rating"
        log_action(ctx, ticket, "no_rating", _("客户未评价（不计入满意度）"))
        if ticket.status == "resolved":
            tickets.close_ticket(ctx, ticket.id, _("评价期已过，自动关闭"))
    return len(rows)


def csat(ctx: ServiceContext) -> tuple[float | None, int]:
    """Average score and number of answers (answers only: no rating is not a rating)."""
    stmt = ctx.scoped(select(func.avg(Ticket.rating), func.count(Ticket.rating))
                      .where(Ticket.rating.is_not(None)), Ticket)
    avg, n = db.session.execute(stmt).one()
    return (float(avg) if avg is not None else None), int(n or 0)
