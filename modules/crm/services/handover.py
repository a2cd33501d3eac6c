"""Handover services. Stages and who acts:

- preparation: a manager of the departing user's team (or an admin) starts it — from a
  departing user (all his customers) or for picked customers — and the checklist is
  generated from every installed module; the initiator and the departing user tick items
  off and add notes; the initiator (or an admin) submits it;
- review: a manager or admin other than the initiator approves (→ confirmation) or sends
  it back to preparation with a comment;
- confirmation: the receiving salesperson confirms; then, in one transaction, the customers
  and their open opportunities change owner, the customers are notified and modules hear
  ``customers_handed_over`` (WeCom moves the external contacts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import selectinload

from core import audit
from core import hooks
from core.concurrency import conditional_update
from core.errors import ConflictError
from core.errors import PermissionDenied
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.i18n import default_locale
from core.notify import notify
from core.security.models import Team
from core.security.models import User
from core.security.ownership import holds
from core.security.ownership import unrestricted
from core.services import ServiceContext
from core.settings import get_setting
from modules.crm.models.customer import Customer
from modules.crm.models.handover import REASONS
from modules.crm.models.handover import Handover
from modules.crm.models.handover import HandoverCustomer
from modules.crm.models.handover import HandoverStep
from modules.crm.models.opportunity import NUMBER_PREFIX
from modules.crm.models.opportunity import OPEN_STATUSES
from modules.crm.models.opportunity import Opportunity
from modules.crm.queries import get_handover
from modules.crm.services.customers import reassign_customers

OPEN_STAGES = ("preparation", "review", "confirmation")


def _step(
    ctx: ServiceContext, handover: Handover, action: str, to: str, comment: str | None = None
) -> None:
    db.session.add(
        HandoverStep(
            handover_id=handover.id,
            action=action,
            stage_from=handover.stage if handover.id else None,
            stage_to=to,
            actor_id=ctx.actor_id,
            comment=comment,
            at=ctx.now,
        )
    )
    handover.stage = to


def checklist(ctx: ServiceContext, customer_ids: list[int]) -> list[dict]:
    """Basic info and open opportunities from crm, then the items installed modules add
    through ``handover_checklist_items`` (orders, tickets, payments …). Each item is
    ``{"category", "title", "count", "detail"}``.

    Nothing open is nothing to hand over: a module's item with count 0 is left out (so
    "0 open tickets" never asks to be ticked), and crm's own items are always listed —
    an empty one is settled by itself (see :func:`item_settled`)."""
    customers = list(db.session.scalars(select(Customer).where(Customer.id.in_(customer_ids))))
    opps = db.session.execute(
        select(Opportunity.id, Opportunity.product_name)
        .where(Opportunity.customer_id.in_(customer_ids), Opportunity.status.in_(OPEN_STATUSES))
        .order_by(Opportunity.id)
    ).all()
    items = [
        {
            "category": "basic_info",
            "title": "客户基本信息",
            "count": len(customers),
            "detail": "、".join(c.customer_name for c in customers[:10])
            + ("…" if len(customers) > 10 else ""),
        },
        {
            "category": "opportunities",
            "title": "进行中的商机",
            "count": len(opps),
            "detail": "、".join(f"{NUMBER_PREFIX}{o.id} {o.product_name}" for o in opps[:10]),
        },
    ]
    for answer in hooks.call("handover_checklist_items", customer_ids=customer_ids,
                             ctx=ctx) or []:
        items.extend(item for item in answer or () if item.get("count"))
    for item in items:
        item.setdefault("count", 0)
        item.setdefault("detail", "")
        item["done"] = nothing_open(item)
        item["note"] = ""
    return items


def _check_may_start(ctx: ServiceContext, from_user_id: int | None) -> None:
    """Admins start any handover; a manager only for a member of a team he manages."""
    ctx.require("crm.handover.start")
    if from_user_id is None or unrestricted(ctx.actor):
        return
    member = db.session.scalar(
        select(User.id)
        .join(Team, User.team_id == Team.id)
        .where(User.id == from_user_id, Team.manager_id == ctx.actor_id)
    )
    if member is None:
        raise PermissionDenied(_("只能为本团队成员发起交接"))


class HandoverBusy(ConflictError):
    """Some of the customers are in open handovers already: ``handovers`` names them."""

    def __init__(self, handovers: list[Handover], count: int) -> None:
        self.handovers = handovers
        numbers = _("、").join(h.number for h in handovers)
        super().__init__(_("有 %(n)s 个客户已在进行中的交接单 %(numbers)s 里，"
                           "请先完成或取消那张交接单", n=count, numbers=numbers))


OWNER_PERMISSION = "crm.customer.write"  # who may own (and so receive) customers


def receivers() -> list[User]:
    """Active users whose roles grant :data:`OWNER_PERMISSION`: those who may own customers
    (a permission, not a role code; an admin's blanket rights do not make him a receiver)."""
    return list(db.session.scalars(select(User).where(
        User.active.is_(True), holds(OWNER_PERMISSION)).order_by(User.display_name, User.id)))


def departing_users(ctx: ServiceContext) -> list[User]:
    """Whose customers the actor may hand over: every owner for an admin, else the members
    of the teams he manages."""
    stmt = select(User).where(User.id.in_(select(Customer.owner_id).where(
        Customer.owner_id.is_not(None))))
    if not unrestricted(ctx.actor):
        stmt = stmt.join(Team, User.team_id == Team.id).where(Team.manager_id == ctx.actor_id)
    return list(db.session.scalars(stmt.order_by(User.display_name, User.id)))


def start_handover(
    ctx: ServiceContext,
    *,
    to_user_id: int,
    reason: str,
    from_user_id: int | None = None,
    customer_ids: list[int] | None = None,
    note: str | None = None,
) -> Handover:
    """Preparation: a handover of all of ``from_user_id``'s customers (or the picked ones)."""
    _check_may_start(ctx, from_user_id)
    if reason not in REASONS:
        raise ValidationError(_("请选择交接原因"), fields={"reason": _("原因无效")})
    target = db.session.get(User, to_user_id)
    if target is None or not target.active:
        message = _("接收人无效")
        raise ValidationError(message, fields={"to_user_id": message})
    if target.id not in {u.id for u in receivers()}:
        message = _("%(name)s 不能负责客户，请选择销售人员", name=target.name)
        raise ValidationError(message, fields={"to_user_id": message})
    if from_user_id is not None and from_user_id == to_user_id:
        raise ValidationError(_("接收人不能是原负责人"), fields={"to_user_id": _("不能是原负责人")})
    stmt = select(Customer.id).where(Customer.status != "in_pool")
    if customer_ids is not None:
        stmt = stmt.where(Customer.id.in_(customer_ids))
    elif from_user_id is not None:
        stmt = stmt.where(Customer.owner_id == from_user_id)
    else:
        raise ValidationError(_("请选择离职/调岗的员工或客户"), fields={"from_user_id": _("必填")})
    if from_user_id is not None:
        stmt = stmt.where(Customer.owner_id == from_user_id)
    visible = list(db.session.scalars(ctx.scoped(stmt.order_by(Customer.id), Customer)))
    if not visible:
        message = _("没有可交接的客户")
        raise ValidationError(message, fields={"customer_ids": message})
    busy = db.session.execute(
        select(Handover.id, func.count())
        .select_from(HandoverCustomer)
        .join(Handover)
        .where(HandoverCustomer.customer_id.in_(visible), Handover.stage.in_(OPEN_STAGES))
        .group_by(Handover.id)
        .order_by(Handover.id)
    ).all()
    if busy:
        raise HandoverBusy([db.session.get(Handover, hid) for hid, _n in busy],
                           sum(n for _hid, n in busy))
    handover = Handover(
        from_user_id=from_user_id,
        to_user_id=to_user_id,
        reason=reason,
        note=note,
        initiator_id=ctx.actor_id,
        stage="preparation",
        checklist=checklist(ctx, visible),
    )
    db.session.add(handover)
    db.session.flush()
    handover.customers = [HandoverCustomer(handover_id=handover.id, customer_id=c) for c in visible]
    db.session.add(
        HandoverStep(
            handover_id=handover.id,
            action="start",
            stage_from=None,
            stage_to="preparation",
            actor_id=ctx.actor_id,
            comment=note,
            at=ctx.now,
        )
    )
    db.session.flush()
    return handover


def _require_stage(handover: Handover, stage: str, message: Any) -> None:
    """Refuse with ``message`` (a lazy translation) unless the handover is at ``stage``."""
    if handover.stage != stage:
        raise UserError(str(message))


def nothing_open(item: dict) -> bool:
    """The item counts nothing (e.g. no open opportunities): there is nothing to check."""
    return not item.get("count")


def item_settled(item: dict) -> bool:
    """A checklist item is settled when nothing is open, done, or waived with a note saying
    why."""
    return bool(nothing_open(item) or item.get("done")
                or (item.get("waived") and (item.get("note") or "").strip()))


def open_items(handover: Handover) -> list[dict]:
    return [item for item in handover.checklist or [] if not item_settled(item)]


def update_checklist(
    ctx: ServiceContext, handover_id: int, done: list[int], notes: dict[int, str] | None = None,
    waived: list[int] | None = None,
) -> Handover:
    """Preparation: the initiator or the departing user ticks items off, or waives them
    with a note (a waived item needs the note), and adds notes."""
    handover = get_handover(ctx, handover_id)
    _require_stage(handover, "preparation", _l("只有准备阶段可以修改交接清单"))
    may_edit = unrestricted(ctx.actor) or ctx.actor_id in (handover.initiator_id,
                                                           handover.from_user_id)
    if not may_edit:
        raise PermissionDenied(_("只有发起人或原负责人可以完善交接清单"))
    notes = notes or {}
    waived_set = set(waived or ())
    items = []
    unexplained = []
    for index, item in enumerate(handover.checklist or []):
        ticked = index in done or nothing_open(item)
        item = dict(item, done=ticked, waived=index in waived_set and not ticked)
        if index in notes:
            item["note"] = (notes[index] or "").strip()[:500]
        if item["waived"] and not item.get("note"):
            unexplained.append(_(item["title"]))
        items.append(item)
    if unexplained:
        raise ValidationError(_("豁免的事项需要填写说明：%(items)s",
                                items=_("、").join(unexplained)))
    handover.checklist = items  # a new list, so the JSON column is saved
    _step(
        ctx,
        handover,
        "checklist",
        "preparation",
        f"清单完成 {sum(i['done'] for i in items)}/{len(items)}",
    )
    db.session.flush()
    return handover


def submit(ctx: ServiceContext, handover_id: int) -> Handover:
    """Preparation → review, by the initiator (or an admin)."""
    handover = get_handover(ctx, handover_id)
    ctx.require("crm.handover.start")
    _require_stage(handover, "preparation", _l("只有准备中的交接单可以提交审核"))
    if not unrestricted(ctx.actor) and ctx.actor_id != handover.initiator_id:
        raise PermissionDenied(_("只有发起人可以提交审核"))
    pending = open_items(handover)
    if pending:
        raise UserError(_("交接清单还有 %(n)s 项未完成：%(items)s。请勾选完成，"
                          "或勾选“豁免”并填写说明后再提交审核。", n=len(pending),
                          items=_("、").join(_(i["title"]) for i in pending)))
    _step(ctx, handover, "submit", "review")
    db.session.flush()
    return handover


def review(
    ctx: ServiceContext, handover_id: int, approve: bool, comment: str | None = None
) -> Handover:
    """Review → confirmation (approved) or back to preparation (with a comment), by a
    manager or admin who did not start it."""
    handover = get_handover(ctx, handover_id)
    ctx.require("crm.handover.review")
    _require_stage(handover, "review", _l("交接单不在审核阶段"))
    if ctx.actor_id is not None and ctx.actor_id == handover.initiator_id:
        raise PermissionDenied(_("发起人不能审核自己的交接单"))
    if not approve and not (comment or "").strip():
        raise ValidationError(_("退回需要填写意见"), fields={"comment": _("请填写意见")})
    _step(
        ctx,
        handover,
        "approve" if approve else "reject",
        "confirmation" if approve else "preparation",
        comment,
    )
    db.session.flush()
    if approve:
        notify(
            ctx,
            [handover.to_user_id],
            lambda: _("请确认客户交接 %(number)s", number=handover.number),
            lambda: _("%(n)s 个客户待您确认接收", n=len(handover.customers)),
            url=f"/crm/handovers/{handover.id}",
            dedupe_key=f"crm.handover.confirm:{handover.id}",
        )
    return handover


def _still_transferable(handover: Handover) -> tuple[list[int], int]:
    """The handover's customers that may still move, and how many are skipped: ones that
    went to the pool meanwhile, or (for a departing user) that someone else now owns."""
    ids = [hc.customer_id for hc in handover.customers]
    stmt = select(Customer.id).where(Customer.id.in_(ids), Customer.status != "in_pool")
    if handover.from_user_id is not None:
        stmt = stmt.where(Customer.owner_id == handover.from_user_id)
    keep = list(db.session.scalars(stmt.order_by(Customer.id)))
    return keep, len(ids) - len(keep)


def confirm(ctx: ServiceContext, handover_id: int) -> Handover:
    """The recipient confirms: customers and their open opportunities change owner in this
    one transaction; the customers are notified; modules hear ``customers_handed_over``."""
    handover = get_handover(ctx, handover_id)
    _require_stage(handover, "confirmation", _l("交接单不在确认阶段"))
    if ctx.actor_id != handover.to_user_id:
        raise PermissionDenied(_("只有接收人可以确认交接"))
    ids, skipped = _still_transferable(handover)
    if ids:
        reassign_customers(
            ctx, ids, handover.to_user_id, f"客户交接 {handover.number}", authorized=True
        )
    moved = (
        conditional_update(
            update(Opportunity)
            .where(Opportunity.customer_id.in_(ids), Opportunity.status.in_(OPEN_STATUSES))
            .values(owner_id=handover.to_user_id, updated_at=ctx.now)
        )
        if ids
        else 0
    )
    def summary() -> str:  # in the current locale
        text = _("%(n)s 个客户，%(moved)s 个进行中商机", n=len(ids), moved=moved)
        if skipped:
            text += _("；") + _("%(n)s 个客户已不在原负责人名下，未转移", n=skipped)
        return text

    with force_locale(default_locale()):  # the history's language
        stored = summary()
    _step(ctx, handover, "confirm", "completed", stored)
    handover.completed_at = ctx.now
    audit.record(ctx, handover, "completed", f"交接完成：{stored}")
    _notify_people(ctx, handover, summary)
    _notify_customers(ctx, handover, ids)
    if ids:
        hooks.call(
            "customers_handed_over",
            customer_ids=ids,
            from_user_id=handover.from_user_id,
            to_user_id=handover.to_user_id,
            handover_id=handover.id,
            ctx=ctx,
        )
    db.session.flush()
    return handover


def _notify_people(ctx: ServiceContext, handover: Handover, summary: Callable[[], str]) -> None:
    """The initiator and the previous owner hear it, each in his language."""
    people = [u for u in (handover.initiator_id, handover.from_user_id) if u]
    notify(
        ctx,
        people,
        lambda: _("客户交接 %(number)s 已完成", number=handover.number),
        summary,
        url=f"/crm/handovers/{handover.id}",
        dedupe_key=f"crm.handover.done:{handover.id}",
    )


def customer_channels() -> list[str]:
    """Channels customers hear about a handover on (setting ``crm.handover.notify_channels``);
    channels not installed fall back to the log channel."""
    wanted = get_setting("crm.handover.notify_channels") or ["sms", "email"]
    installed = hooks.registry().notification_channels
    return [c for c in wanted if c in installed] or ["log"]


def _addresses(customer: Customer) -> dict[str, str | None]:
    """Where to reach a customer: its own phone, else its primary (or first) contact's."""
    contacts = sorted(customer.contacts, key=lambda c: (not c.is_primary, c.id))
    phone = customer.phone or next((c.phone for c in contacts if c.phone), None)
    email = next((c.email for c in contacts if c.email), None)
    return {"sms": phone, "email": email, "log": phone or email}


def _notify_customers(ctx: ServiceContext, handover: Handover, ids: list[int]) -> None:
    """Tell each customer who serves them now (WeCom customers also get WeCom's own notice
    when the bridge transfers the external contact on ``customers_handed_over``)."""
    if not ids:
        return
    new_owner = db.session.get(User, handover.to_user_id)
    contact = f"（{new_owner.phone}）" if new_owner.phone else ""
    channels = customer_channels()
    customers = db.session.scalars(
        select(Customer).where(Customer.id.in_(ids)).options(selectinload(Customer.contacts))
    )
    for customer in customers:
        addresses = _addresses(customer)
        for channel in channels:
            address = addresses.get(channel)
            if not address:
                continue
            notify(
                ctx,
                [],
                "服务人员变更通知",
                f"尊敬的{customer.customer_name}，您的专属顾问已变更为{new_owner.name}"
                f"{contact}，感谢您的支持。",
                channels=(channel,),
                address=address,
                record=customer,
                dedupe_key=f"crm.handover.customer:{handover.id}:{customer.id}",
            )


def cancel(ctx: ServiceContext, handover_id: int, comment: str | None = None) -> Handover:
    """Cancel an open handover (the initiator, a reviewer or an admin)."""
    handover = get_handover(ctx, handover_id)
    if handover.stage not in OPEN_STAGES:
        raise UserError(_("交接单已结束"))
    if not (unrestricted(ctx.actor) or ctx.actor_id == handover.initiator_id
            or ctx.can("crm.handover.review")):
        raise PermissionDenied(_("无权限取消该交接单"))
    _step(ctx, handover, "cancel", "cancelled", comment)
    db.session.flush()
    return handover


def allowed_actions(ctx: ServiceContext, handover: Handover) -> set[str]:
    """The actions the actor may take on ``handover`` now (the page shows only these)."""
    admin = unrestricted(ctx.actor)
    me = ctx.actor_id
    out: set[str] = set()
    if handover.stage == "preparation":
        if admin or me in (handover.initiator_id, handover.from_user_id):
            out.add("checklist")
        if ctx.can("crm.handover.start") and (admin or me == handover.initiator_id):
            out.add("submit")
    elif handover.stage == "review":
        if ctx.can("crm.handover.review") and (me is None or me != handover.initiator_id):
            out |= {"approve", "reject"}
    elif handover.stage == "confirmation" and me == handover.to_user_id:
        out.add("confirm")
    if handover.stage in OPEN_STAGES and (
            admin or me == handover.initiator_id or ctx.can("crm.handover.review")):
        out.add("cancel")
    return out

