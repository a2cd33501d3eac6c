"""Customers report problems themselves on the official account (seed 001 阶段二):

* "售后" / "维修" / "报修" (optionally followed by the problem) from a customer whose binding
  is verified starts a ticket: with a description it is created at once, otherwise the next
  message (within 30 minutes) is the description; a type word (维修 保养 投诉 退货 安装 咨询)
  picks the type;
* the ticket is matched to the customer's latest in-progress order, dispatched (project
  owner first) and pushed like any other; the customer gets the ticket number back;
* an unverified (or unknown) sender is told politely how to get verified.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update

from core import audit
from core import jobs
from core.errors import TandemError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from core.settings import get_setting
from modules.service.services.tickets import create_ticket
from modules.service_wecom.models import CustomerReport
from modules.service_wecom.models import Intake
from modules.service_wecom.models import Picture
from modules.wecom_crm.models import Binding

log = logging.getLogger(__name__)

STARTERS = ("售后", "维修", "报修")
TYPE_WORDS = {"维修": "repair", "报修": "repair", "售后": "repair", "保养": "maintenance",
              "投诉": "complaint", "退货": "return", "安装": "installation", "咨询": "inquiry"}
WINDOW = timedelta(minutes=30)
MENU = ("请直接描述问题（可注明类型：维修 / 保养 / 投诉 / 退货 / 安装 / 咨询），例如："
        "“维修 3楼空调制冷不好”。")
NOT_VERIFIED = ("您好！为保障您的信息安全，售后服务仅对已认证客户开放。请先在本公众号发送您的"
                "手机号，您的专属顾问通过企业微信添加您后即完成认证，之后发送“售后”即可报修。"
                "如需紧急处理，请直接联系您的专属顾问。")


def _split(text: str) -> tuple[str | None, str]:
    """``"维修 3楼空调不制冷"`` → ``("repair", "3楼空调不制冷")``; no type word → (None, text)."""
    text = text.strip()
    for word, kind in TYPE_WORDS.items():
        if text.startswith(word):
            return kind, text[len(word):].lstrip(" ：:，,")
    return None, text


def customer_message(ctx: ServiceContext, openid: str, text: str) -> str | None:
    text = (text or "").strip()
    if not openid or not text:
        return None
    kind, rest = _split(text)
    pending = db.session.get(Intake, openid)
    if pending is not None and pending.started_at + WINDOW < ctx.now:
        db.session.delete(pending)
        pending = None
    starts = any(text.startswith(word) for word in STARTERS) or (
        kind is not None and pending is None and bool(rest))
    if not starts and pending is None:
        return None
    binding = db.session.scalar(select(Binding).where(Binding.oa_openid == openid))
    if binding is None or not binding.is_verified or binding.customer_id is None:
        return NOT_VERIFIED
    if not rest and pending is None:  # "售后" alone: ask for the description
        db.session.add(Intake(openid=openid, ticket_type=kind or "repair", started_at=ctx.now))
        return MENU
    ticket_type = kind or (pending.ticket_type if pending is not None else "repair")
    intake_started = pending.started_at if pending is not None else None
    if pending is not None:
        db.session.delete(pending)
    description = rest or text
    try:
        ticket = create_ticket(ctx, {
            "customer_id": binding.customer_id, "ticket_type": ticket_type,
            "subject": description[:60], "description": description, "channel": "customer"})
    except TandemError as exc:
        return f"抱歉，工单未能提交：{exc.message}"
    db.session.add(CustomerReport(ticket_id=ticket.id, openid=openid, created_at=ctx.now))
    if intake_started is not None:
        _attach_waiting_pictures(openid, intake_started, ticket.id)
    return (f"工单已提交，编号：{ticket.ticket_no}。我们已通知您的项目负责人，"
            "会尽快与您联系。")


PHOTO_WINDOW = timedelta(hours=2)


def customer_picture(ctx: ServiceContext, openid: str, pic_url: str,
                     msgid: str = "") -> str | None:
    """A picture from a verified customer goes on the ticket of the intake he is in (kept
    until his description makes the ticket), else on the open ticket he reported himself in
    the last two hours (seed 001: he describes the problem with photos) — never on one a
    colleague of his company reported; otherwise he is told how.

    WeChat waits 5 s for the answer and retries after that, so nothing is downloaded here:
    the picture is recorded (one row per ``MsgId``) and :func:`attach_picture` fetches it
    in a job once this callback has committed."""
    from modules.service.models import OPEN_STATUSES
    from modules.service.models import Ticket
    from modules.wecom.oa_media import allowed

    if not openid:
        return None
    binding = db.session.scalar(select(Binding).where(Binding.oa_openid == openid))
    if binding is None or not binding.is_verified or binding.customer_id is None:
        return NOT_VERIFIED
    pending = db.session.get(Intake, openid)
    in_intake = pending is not None and pending.started_at + WINDOW >= ctx.now
    ticket = None if in_intake else db.session.scalar(
        select(Ticket).join(CustomerReport, CustomerReport.ticket_id == Ticket.id).where(
            CustomerReport.openid == openid, Ticket.customer_id == binding.customer_id,
            Ticket.status.in_(OPEN_STATUSES), Ticket.created_at >= ctx.now - PHOTO_WINDOW)
        .order_by(Ticket.id.desc()).limit(1))
    if ticket is None and not in_intake:
        return "请先发送“维修”并描述问题，工单提交后再发送照片，照片会附在工单上。"
    if not allowed(pic_url):
        log.warning("service_wecom: picture from a host not allowed: %s", pic_url[:200])
        return "抱歉，照片未能接收，请稍后重新发送。"
    msgid = msgid or uuid.uuid4().hex  # WeChat always sends one; without it, no dedupe
    if db.session.get(Picture, msgid) is None:
        db.session.add(Picture(msgid=msgid, openid=openid, pic_url=pic_url[:1000],
                               ticket_id=ticket.id if ticket else None, status="pending",
                               received_at=ctx.now))
        if ticket is not None:
            jobs.enqueue("service_wecom.attach_picture", msgid)
    if ticket is None:
        return "照片已收到。请继续描述问题，工单提交后照片会附在工单上。"
    return f"照片已收到，将附在工单 {ticket.ticket_no} 上。"


def _attach_waiting_pictures(openid: str, since: Any, ticket_id: int) -> None:
    """Pictures sent during the intake go on the ticket its description made."""
    waiting = db.session.scalars(select(Picture).where(
        Picture.openid == openid, Picture.ticket_id.is_(None), Picture.status == "pending",
        Picture.received_at >= since))
    for picture in waiting:
        picture.ticket_id = ticket_id
        jobs.enqueue("service_wecom.attach_picture", picture.msgid)


class PictureNotYetFetched(Exception):
    """The download failed in a way a later try may mend: the job fails and RQ runs it
    again (core.jobs.RETRY_INTERVALS)."""


def _retries_left() -> bool:
    """Whether RQ will run this job again if it fails (never in-process: no RQ job)."""
    from rq import get_current_job

    try:
        job = get_current_job()
    except Exception:  # noqa: BLE001 - not in an RQ worker
        return False
    return job is not None and bool(job.retries_left)


def attach_picture(msgid: str, ctx: ServiceContext) -> str:
    """Job: download a customer's picture and put it on its ticket, once per ``msgid``.

    The download happens before anything is written; then the row is claimed
    (``pending`` → ``attached``, a conditional update) in the job's transaction together with
    the photo, so a second run of the job (RQ is at-least-once) or a concurrent one finds
    it claimed and adds nothing. A download that may work later (no connection, WeChat
    busy) fails the job while RQ has retries left, the picture still ``pending``. A picture
    that cannot be fetched for good (after those retries, or its address expired) or is
    refused is ``failed`` with the reason: the ticket's timeline says so and
    :func:`tell_picture_failed` asks the customer, once, to send it again."""
    from modules.service.services.photos import add_photo
    from modules.wecom.oa_media import download_picture

    picture = db.session.get(Picture, msgid)
    if picture is None or picture.status != "pending" or picture.ticket_id is None:
        return picture.status if picture is not None else "missing"
    ticket_id, url = picture.ticket_id, picture.pic_url
    data, transient = download_picture(url)
    if data is None and transient and _retries_left():
        raise PictureNotYetFetched(f"picture {msgid}: download failed, to be tried again")
    claimed = db.session.execute(
        update(Picture).where(Picture.msgid == msgid, Picture.status == "pending")
        .values(status="attached")).rowcount
    if not claimed:
        return "skipped"
    error = None
    reason = ""
    photo_id = None
    if data is None:
        error, reason = "download failed", _("下载失败")
    else:
        try:
            with unit_of_work(ctx):  # a savepoint: a refused photo leaves nothing behind
                photo_id = add_photo(ctx, ticket_id, data, "intake", "").id
        except TandemError as exc:
            error = reason = str(exc.message)[:255]
    db.session.execute(update(Picture).where(Picture.msgid == msgid).values(
        status="failed" if error else "attached", photo_id=photo_id, error=error))
    if error:
        log.warning("service_wecom: picture %s not attached to ticket %s: %s", msgid,
                    ticket_id, error)
        _picture_failed(ctx, ticket_id, msgid, reason)
    return "failed" if error else "attached"


def _picture_failed(ctx: ServiceContext, ticket_id: int, msgid: str, reason: str) -> None:
    """Staff read on the ticket's timeline that a customer's picture did not come; the
    customer is asked to send it again once this job has committed."""
    from modules.service.models import Ticket
    from modules.service.services.base import log_action

    ticket = db.session.get(Ticket, ticket_id)
    if ticket is not None:
        log_action(ctx, ticket, "photo_failed",
                   _("客户在公众号发送的照片未能接收（%(reason)s），将通过公众号请客户重新发送",
                     reason=reason), data={"msgid": msgid})
    jobs.enqueue("service_wecom.tell_picture_failed", msgid)


def _not_told_reason(exc: Exception) -> str:
    from modules.wecom.oa_messages import NOT_CONFIGURED

    code = getattr(exc, "errcode", None)
    if code == NOT_CONFIGURED:
        return _("公众号未配置 AppSecret")
    if code == 45015:
        return _("客户超过 48 小时未在公众号留言")
    return f"{code} {getattr(exc, 'errmsg', '')}".strip()


def tell_picture_failed(msgid: str, ctx: ServiceContext) -> str:
    """Job: tell the customer, once per picture, on the official account he sent it to
    (a customer-service message), that it could not be received and to send it again.

    ``notified_at`` is claimed (a conditional update) in the transaction that sends: a
    rerun finds it set and sends nothing. WeChat busy or unreachable: the job fails and is
    tried again (the claim goes with its rollback); an error a retry cannot mend (not
    configured, no message from him in 48 hours) goes on the ticket's timeline instead, for
    staff to call him."""
    from modules.service.models import Ticket
    from modules.service.services.base import log_action
    from modules.service.sla import to_local
    from modules.wecom.client import WeComAPIError
    from modules.wecom.oa_messages import PERMANENT
    from modules.wecom.oa_messages import OfficialAccountClient

    picture = db.session.get(Picture, msgid)
    if picture is None or picture.status != "failed" or picture.notified_at is not None:
        return "skipped"
    claimed = db.session.execute(
        update(Picture).where(Picture.msgid == msgid, Picture.notified_at.is_(None))
        .values(notified_at=ctx.now)).rowcount
    if not claimed:
        return "skipped"
    ticket = db.session.get(Ticket, picture.ticket_id) if picture.ticket_id else None
    text = _("抱歉，您 %(at)s 发送的照片未能接收，请重新发送。", at=to_local(
        picture.received_at).strftime("%m-%d %H:%M"))
    if ticket is not None:
        text += _("（工单 %(no)s）", no=ticket.ticket_no)
    try:
        OfficialAccountClient().send_text(picture.openid, text)
    except WeComAPIError as exc:
        if exc.errcode not in PERMANENT:
            raise
        log.warning("service_wecom: customer not told of picture %s: %s", msgid, exc)
        if ticket is not None:
            log_action(ctx, ticket, "photo_failed",
                       _("未能通知客户重新发送照片（%(reason)s），请联系客户",
                         reason=_not_told_reason(exc)), data={"msgid": msgid})
        return "not told"
    return "told"


DEFAULT_WAITING_DAYS = 7


def waiting_days() -> int:
    """Days a picture waits for its intake's ticket before it is deleted (the setting)."""
    try:
        days = int(get_setting("service_wecom.waiting_picture_days") or DEFAULT_WAITING_DAYS)
    except (TypeError, ValueError):
        days = DEFAULT_WAITING_DAYS
    return max(days, 1)


def purge_waiting_pictures(ctx: ServiceContext) -> int:
    """Daily job: pictures a customer sent within an intake that never made a ticket (he
    gave up before describing the problem) are deleted once older than
    ``service_wecom.waiting_picture_days``, each with an audit entry; so are intakes past
    their window. Such a picture is only its WeChat address: nothing was downloaded or
    stored for it (the download waits for the ticket). Returns how many were deleted."""
    days = waiting_days()
    stale = list(db.session.scalars(select(Picture).where(
        Picture.status == "pending", Picture.ticket_id.is_(None),
        Picture.received_at < ctx.now - timedelta(days=days)).order_by(Picture.received_at)))
    for picture in stale:
        audit.record(ctx, Picture.__tablename__, "purge",
                     f"报修未完成，客户照片超过 {days} 天未附到工单，已删除",
                     {"openid": picture.openid, "received_at": picture.received_at},
                     record_id=picture.msgid)
        db.session.delete(picture)
    db.session.execute(delete(Intake).where(Intake.started_at < ctx.now - WINDOW))
    db.session.flush()
    return len(stale)
