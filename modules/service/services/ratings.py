"""The customer's answer to a survey and surveys left unanswered (see
:mod:`modules.service.services.surveys`): a score of 1–5 and a comment; ≤ 2 makes a revisit
task (or reopens, by setting), a good score closes the resolved ticket; no answer within
``service.survey_days`` → "no rating", never a good one."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import ConflictError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.settings import get_setting
from modules.service.models import Survey
from modules.service.models import Ticket
from modules.service.services import tickets
from modules.service.services.base import log_action
from modules.service.services.surveys import find_survey
from modules.service.sla import aware_utc


def answer_survey(ctx: ServiceContext, token: str, score: object, comment: str = "") -> Survey:
    """The customer's answer (public page, single use)."""
    survey = find_survey(token)
    if survey.answered_at is not None:
        raise ConflictError(_("您已评价过，感谢您的反馈"))
    if aware_utc(survey.expires_at) < aware_utc(ctx.now):
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
