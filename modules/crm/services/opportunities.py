"""Opportunity writes: the one place the web, the API, the bot and jobs change them. Reads
are in :mod:`modules.crm.queries`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy import update

from core import audit
from core import hooks
from core.audit import AuditLog
from core.bot import Card
from core.bot import remember_card
from core.concurrency import conditional_update
from core.errors import ConflictError
from core.errors import FieldErrors
from core.errors import NotFoundError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.i18n import default_locale
from core.notify import notify
from core.security.models import User
from core.security.ownership import holds
from core.security.ownership import may_assign
from core.services import ServiceContext
from core.settings import get_setting
from modules.crm.cards import opportunity_card
from modules.crm.models.customer import FOLLOW_UP_CHANNELS
from modules.crm.models.customer import FollowUp
from modules.crm.models.opportunity import OPEN_STATUSES
from modules.crm.models.opportunity import SOURCES
from modules.crm.models.opportunity import STAGES
from modules.crm.models.opportunity import STATUSES
from modules.crm.models.opportunity import TRANSITIONS
from modules.crm.models.opportunity import Opportunity
from modules.crm.models.opportunity import Quote
from modules.crm.queries import CUSTOMER_NOT_FOUND
from modules.crm.queries import OPPORTUNITY_NOT_FOUND
from modules.crm.queries import get_customer
from modules.crm.queries import get_opportunity
from modules.crm.queries import opportunity_select
from modules.crm.queries import parse_number
from modules.crm.queries import writable_opportunity

MAX_AMOUNT = Decimal("999999999999.99")


def _amount(raw: Any, field: str, label: str) -> Decimal:
    """``raw`` as an amount; ``label`` (a lazy translation) names it in the messages."""
    try:
        value = Decimal(str(raw).replace(",", "").replace("¥", "").strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(_("%(label)s不是有效的金额", label=label),
                              fields={field: _("不是有效的金额")}) from exc
    if value < 0 or value > MAX_AMOUNT or value != value.quantize(Decimal("0.01")):
        raise ValidationError(_("%(label)s无效（0 至 999,999,999,999.99，最多两位小数）",
                                label=label), fields={field: _("金额无效")})
    return value


def _clean(ctx: ServiceContext, data: Mapping[str, Any], partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors = FieldErrors()
    if "product_name" in data or not partial:
        name = str(data.get("product_name") or "").strip()
        if not name:
            errors.add("product_name", _("请填写产品"))
        elif len(name) > 200:
            errors.add("product_name", _("产品名称过长"))
        out["product_name"] = name
    if "quantity" in data or not partial:
        try:
            quantity = int(data.get("quantity") or 1)
            if quantity <= 0:
                raise ValueError
            out["quantity"] = quantity
        except (TypeError, ValueError):
            errors.add("quantity", _("数量必须是正整数"))
    if "estimated_amount" in data or not partial:
        try:
            out["estimated_amount"] = _amount(data.get("estimated_amount") or 0,
                                              "estimated_amount", _l("预计金额"))
        except ValidationError as exc:
            errors.update(exc.fields)
    if "source" in data and data.get("source"):
        if data["source"] not in SOURCES:
            errors.add("source", _("来源无效"))
        out["source"] = data["source"]
    for key in ("requirements",):
        if key in data:
            out[key] = (str(data[key] or "").strip() or None)
    if "expected_close_date" in data:
        raw = data.get("expected_close_date")
        try:
            out["expected_close_date"] = (raw if isinstance(raw, date) or raw in (None, "")
                                          else date.fromisoformat(str(raw))) or None
        except ValueError:
            errors.add("expected_close_date", _("日期格式不正确"))
    errors.raise_if_any()
    return out


def create_opportunity(ctx: ServiceContext, data: Mapping[str, Any]) -> Opportunity:
    """Create an opportunity for a visible customer; the owner is the actor unless it is
    announced unowned (``owner_id=None`` with ``unowned=True``) for someone to claim."""
    ctx.require("crm.opportunity.create")
    try:
        customer = get_customer(ctx, data.get("customer_id") or 0)
    except NotFoundError as exc:
        raise ValidationError(str(CUSTOMER_NOT_FOUND),
                              fields={"customer_id": _("客户不存在")}) from exc
    values = _clean(ctx, data, partial=False)
    owner_id = None if data.get("unowned") else (data.get("owner_id") or ctx.actor_id)
    if owner_id != ctx.actor_id:
        if not ctx.can("crm.opportunity.assign"):
            raise ValidationError(_("只能为自己创建商机"), fields={"owner_id": _("无权指定负责人")})
        if owner_id is not None:
            _check_assignee(ctx, owner_id)
    opp = Opportunity(customer_id=customer.id, owner_id=owner_id, status="new", **values)
    db.session.add(opp)
    db.session.flush()
    if owner_id is None:
        announce(ctx, opp)
    return opp


def update_opportunity(ctx: ServiceContext, ref: str | int,
                       data: Mapping[str, Any]) -> Opportunity:
    opp = writable_opportunity(ctx, ref)
    for key, value in _clean(ctx, data, partial=True).items():
        setattr(opp, key, value)
    db.session.flush()
    return opp


def change_status(ctx: ServiceContext, ref: str | int, status: str,
                  reason: str | None = None) -> Opportunity:
    """Move along new → contacted → quoted → negotiating → won / lost (lost needs a reason).
    The kanban, the status form, ``PATCH …/status`` and ``#成交``/``#丢单`` all land here."""
    opp = writable_opportunity(ctx, ref)
    if status not in STATUSES:
        message = _("状态无效")
        raise ValidationError(message, fields={"status": message})
    if status == opp.status:
        return opp
    if status not in TRANSITIONS[opp.status]:
        raise UserError(_("商机不能从“%(old)s”变为“%(new)s”",
                          old=_(STATUSES[opp.status]), new=_(STATUSES[status])))
    reason = (reason or "").strip()
    if status == "lost" and not reason:
        raise ValidationError(_("丢单需要填写原因"), fields={"reason": _("请填写丢单原因")})
    previous = opp.status
    opp.status = status
    if status in STAGES and STAGES.index(status) > STAGES.index(opp.stage_reached or "new"):
        opp.stage_reached = status
    if status == "lost":
        opp.lost_reason, opp.closed_at = reason, ctx.now
    elif status == "won":
        opp.won_at = opp.closed_at = ctx.now
        opp.lost_reason = None
        if opp.customer.status == "inactive":  # a deal makes the customer active again
            opp.customer.status = "active"
    elif previous == "lost":
        opp.closed_at, opp.lost_reason = None, None
    db.session.flush()
    audit.record(ctx, opp, "status", reason or None, {"status": [previous, status]})
    if status == "won":
        notes = hooks.call("opportunity_won", opportunity=opp, ctx=ctx) or []
        # What the other modules did (``sales``: "已生成订单 SO…"), for #成交's answer.
        ctx.extra["won_notes"] = [str(n) for n in notes if n]
    return opp


def claim_opportunity(ctx: ServiceContext, ref: str | int) -> Opportunity:
    """Take an unowned opportunity. Race-safe: a conditional UPDATE, so of two people
    claiming at once exactly one wins and the other is told who was faster."""
    ctx.require("crm.opportunity.claim")
    opp_id = parse_number(ref)
    if opp_id is None:
        raise NotFoundError(str(OPPORTUNITY_NOT_FOUND))
    won = conditional_update(
        update(Opportunity)
        .where(Opportunity.id == opp_id, Opportunity.owner_id.is_(None),
               Opportunity.status.in_(OPEN_STATUSES))
        .values(owner_id=ctx.actor_id, updated_at=ctx.now)
    )
    opp = db.session.get(Opportunity, opp_id)
    if opp is not None:
        db.session.refresh(opp)
    if not won:
        if opp is None:
            raise NotFoundError(str(OPPORTUNITY_NOT_FOUND))
        if opp.owner_id == ctx.actor_id:
            raise ConflictError(_("%(number)s 已经是您的商机", number=opp.number))
        visible = db.session.scalar(
            opportunity_select(ctx).where(Opportunity.id == opp.id)) is not None
        # Who was faster is told about announced (claimed) ones, never about others' records.
        if opp.owner_id is not None and (visible or was_claimed(opp.id)):
            raise ConflictError(_("%(number)s 已被%(name)s认领", number=opp.number,
                                  name=opp.owner.name if opp.owner else _("他人")))
        if not visible:
            raise NotFoundError(str(OPPORTUNITY_NOT_FOUND))
        raise ConflictError(_("%(number)s 已关闭，不能认领", number=opp.number))
    audit.record(ctx, opp, "claim", "认领商机", {"owner_id": [None, ctx.actor_id]})
    return opp


def _check_assignee(ctx: ServiceContext, owner_id: int) -> None:
    """A manager assigns within his team, an admin to any active user."""
    owner = db.session.get(User, owner_id)
    if (owner is None or not owner.active
            or not may_assign(ctx, owner_id, "crm.opportunity.assign")):
        raise ValidationError(_("负责人不存在、已停用或不在您的团队"),
                              fields={"owner_id": _("无效的负责人")})


def was_claimed(opp_id: int) -> bool:
    return db.session.scalar(select(AuditLog.id).where(
        AuditLog.model == Opportunity.__tablename__, AuditLog.record_id == str(opp_id),
        AuditLog.action == "claim").limit(1)) is not None


def assign_opportunity(ctx: ServiceContext, ref: str | int, owner_id: int) -> Opportunity:
    """A manager gives a visible opportunity to a member of his team."""
    ctx.require("crm.opportunity.assign")
    opp = get_opportunity(ctx, ref, for_update=True)
    _check_assignee(ctx, owner_id)
    previous = opp.owner_id
    opp.owner_id = owner_id
    db.session.flush()
    audit.record(ctx, opp, "assign", "分配商机", {"owner_id": [previous, owner_id]})
    return opp


def add_quote(ctx: ServiceContext, ref: str | int, amount: Any,
              valid_until: date | str | None = None, note: str | None = None) -> Quote:
    """A new current quote (the previous one stops being current); a new or contacted
    opportunity moves to quoted."""
    opp = writable_opportunity(ctx, ref)
    if not opp.is_open:
        raise UserError(_("%(number)s 已%(status)s，不能再报价", number=opp.number,
                          status=_(opp.status_label)))
    value = _amount(amount, "amount", _l("报价金额"))
    if value <= 0:
        raise ValidationError(_("报价金额必须大于 0"), fields={"amount": _("必须大于 0")})
    if isinstance(valid_until, str) and valid_until:
        try:
            valid_until = date.fromisoformat(valid_until)
        except ValueError as exc:
            raise ValidationError(_("有效期格式不正确"),
                                  fields={"valid_until": _("日期格式")}) from exc
    for old in opp.quotes:
        old.is_current = False
    db.session.flush()  # before the insert: the partial unique index allows one current
    quote = Quote(opportunity=opp, amount=value, valid_until=valid_until or None, note=note,
                  is_current=True, created_by=ctx.actor_id, created_at=ctx.now)
    db.session.add(quote)
    db.session.flush()
    audit.record(ctx, opp, "quote", f"报价 ¥{value:,.2f}", {"quote": [None, str(value)]})
    if opp.status in ("new", "contacted"):
        change_status(ctx, opp.id, "quoted")
    return quote


def follow_up(ctx: ServiceContext, ref: str | int, content: str,
              channel: str = "wechat") -> FollowUp:
    """A follow-up on the opportunity by whoever may change it. It is stored with the
    customer's follow-ups (``opportunity_id`` set), moves the customer's last follow-up time
    and the opportunity's ``followed_up_at``, and moves a new opportunity to contacted."""
    opp = writable_opportunity(ctx, ref)
    content = (content or "").strip()
    if not content:
        message = _("请填写跟进内容")
        raise ValidationError(message, fields={"content": message})
    if len(content) > 5000:
        raise ValidationError(_("跟进内容过长"), fields={"content": _("最多 5000 字")})
    if channel not in FOLLOW_UP_CHANNELS:
        message = _("跟进方式无效")
        raise ValidationError(message, fields={"channel": message})
    record = FollowUp(customer_id=opp.customer_id, opportunity_id=opp.id,
                      user_id=ctx.actor_id, follow_up_at=ctx.now, channel=channel,
                      content=content)
    db.session.add(record)
    opp.followed_up_at = ctx.now
    customer = opp.customer
    if customer.last_follow_up_at is None or customer.last_follow_up_at < ctx.now:
        customer.last_follow_up_at = ctx.now
    db.session.flush()
    audit.record(ctx, opp, "follow_up", content, {})
    if opp.status == "new":
        change_status(ctx, opp.id, "contacted")
    return record


def announce_recipients(opp: Opportunity) -> list[Any]:
    """Who hears of a new unowned opportunity personally: the customer's owner and the
    manager of his team when the customer has an owner (never other teams); otherwise
    nobody personally (the configured group hears of it)."""
    from core.security.models import Team

    owner = opp.customer.owner
    if owner is None or not owner.active:
        return []
    people = [owner]
    if owner.team_id is not None:
        manager_id = db.session.scalar(select(Team.manager_id).where(Team.id == owner.team_id))
        manager = db.session.get(User, manager_id) if manager_id else None
        if manager is not None and manager.active and manager.id != owner.id:
            people.append(manager)
    return people


@dataclass(frozen=True)
class Announcement:
    """A new unowned opportunity announced to the sales team: its card (in the installation's
    language), who was told, and the notice's texts and dedupe key, for the modules that
    push it on through ``opportunity_announced``."""

    opportunity: Opportunity
    card: Card
    recipients: list[User]
    title: str
    body: str
    dedupe_key: str
    to_group: bool = True  # the customer has no owner: the sales group hears of it


def announce(ctx: ServiceContext, opp: Opportunity) -> None:
    """Announce a new unowned opportunity. On a customer someone owns: to that owner and his
    team's manager only (never other teams). On a customer nobody owns: to the sales team (the
    holders of ``crm.opportunity.announced``) —
    the card remembered as the sales chat's context (so ``#认领`` there needs no number) and
    the group told. An in-app notice to each recipient, and ``opportunity_announced`` for
    chat integrations (``wecom_crm`` pushes the card with its 认领 button to the recipients'
    WeCom, or to the sales group's robot when the group hears of it)."""
    # The card goes to several people: in the default language, not the actor's.
    with force_locale(default_locale()):
        card = opportunity_card(opp, source="新商机")
    recipients = announce_recipients(opp)
    to_group = not recipients
    if to_group:
        chat_id = get_setting("crm.sales_chat_id")
        if chat_id:
            remember_card(str(chat_id), card)
        recipients = list(db.session.scalars(select(User).where(
            User.active.is_(True), holds("crm.opportunity.announced"))))
    announcement = Announcement(
        opportunity=opp, card=card, recipients=recipients, title=f"新商机：{card.title}",
        body=f"{opp.customer.customer_name} · 预计 ¥{opp.estimated_amount:,.2f}",
        dedupe_key=f"crm.announce:{opp.id}", to_group=to_group)
    notify(ctx, recipients, announcement.title, announcement.body, channels=("inapp",),
           url=card.url, dedupe_key=announcement.dedupe_key, record=opp)
    hooks.call("opportunity_announced", announcement=announcement, ctx=ctx)
