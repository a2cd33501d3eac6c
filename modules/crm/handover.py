"""Handover services. Stages and who acts:

- preparation: a manager (or admin) starts it — from a departing user (all his customers) or
  for picked customers — and the checklist is generated from every installed module;
- review: another manager or an admin approves (→ confirmation) or sends it back;
- confirmation: the receiving salesperson confirms; then, in one transaction, the customers
  and their open opportunities change owner, the customers are notified and modules hear
  ``customers_handed_over`` (WeCom moves the external contacts).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update

from core import audit
from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.notify import notify
from core.security.models import User
from core.services import ServiceContext
from modules.crm.customers import reassign_customers
from modules.crm.models.customer import Customer
from modules.crm.models.handover import REASONS
from modules.crm.models.handover import Handover
from modules.crm.models.handover import HandoverCustomer
from modules.crm.models.handover import HandoverStep
from modules.crm.models.opportunity import OPEN_STATUSES
from modules.crm.models.opportunity import Opportunity


def _step(ctx: ServiceContext, handover: Handover, action: str, to: str,
          comment: str | None = None) -> None:
    db.session.add(HandoverStep(handover_id=handover.id, action=action,
                                stage_from=handover.stage if handover.id else None, stage_to=to,
                                actor_id=ctx.actor_id, comment=comment, at=ctx.now))
    handover.stage = to


def checklist(ctx: ServiceContext, customer_ids: list[int]) -> list[dict]:
    """Basic info and open opportunities from crm, then items of the installed modules."""
    customers = list(db.session.scalars(select(Customer).where(Customer.id.in_(customer_ids))))
    opps = list(db.session.scalars(select(Opportunity).where(
        Opportunity.customer_id.in_(customer_ids), Opportunity.status.in_(OPEN_STATUSES))))
    items = [
        {"category": "basic", "title": "客户基本信息", "count": len(customers),
         "detail": "、".join(c.customer_name for c in customers[:10])
         + ("…" if len(customers) > 10 else "")},
        {"category": "opportunities", "title": "进行中的商机", "count": len(opps),
         "detail": "、".join(f"{o.number} {o.product_name}" for o in opps[:10])},
    ]
    hook = getattr(current_app.extensions["tandem_registry"].hook, "handover_checklist_items",
                   None)
    if hook is not None:
        for answer in hook(customer_ids=customer_ids, ctx=ctx):
            items.extend(answer or [])
    return items


def start_handover(ctx: ServiceContext, *, to_user_id: int, reason: str,
                   from_user_id: int | None = None, customer_ids: list[int] | None = None,
                   note: str | None = None) -> Handover:
    ctx.require("crm.handover.start")
    if reason not in REASONS:
        raise ValidationError("请选择交接原因", fields={"reason": "原因无效"})
    target = db.session.get(User, to_user_id)
    if target is None or not target.active:
        raise ValidationError("接收人无效", fields={"to_user_id": "接收人无效"})
    if from_user_id is not None and from_user_id == to_user_id:
        raise ValidationError("接收人不能是原负责人", fields={"to_user_id": "不能是原负责人"})
    if customer_ids is None:
        if from_user_id is None:
            raise ValidationError("请选择离职/调岗的员工或客户", fields={"from_user_id": "必填"})
        customer_ids = list(db.session.scalars(select(Customer.id).where(
            Customer.owner_id == from_user_id, Customer.status != "in_pool")))
    visible = list(db.session.scalars(ctx.scoped(
        select(Customer.id).where(Customer.id.in_(customer_ids)), Customer)))
    if not visible:
        raise ValidationError("没有可交接的客户", fields={"customer_ids": "没有可交接的客户"})
    handover = Handover(from_user_id=from_user_id, to_user_id=to_user_id, reason=reason,
                        note=note, initiator_id=ctx.actor_id, stage="preparation",
                        checklist=checklist(ctx, visible))
    db.session.add(handover)
    db.session.flush()
    handover.customers = [HandoverCustomer(handover_id=handover.id, customer_id=c)
                          for c in visible]
    db.session.add(HandoverStep(handover_id=handover.id, action="start", stage_from=None,
                                stage_to="preparation", actor_id=ctx.actor_id, comment=note,
                                at=ctx.now))
    db.session.flush()
    return handover


def get_handover(ctx: ServiceContext, handover_id: int) -> Handover:
    ctx.require("crm.handover.read")
    handover = db.session.get(Handover, handover_id)
    if handover is None:
        raise NotFoundError("交接单不存在")
    actor = ctx.actor
    if actor is not None and not actor.is_admin and "manager" not in actor.role_codes and \
            actor.id not in (handover.to_user_id, handover.from_user_id):
        raise NotFoundError("交接单不存在")
    return handover


def submit(ctx: ServiceContext, handover_id: int) -> Handover:
    handover = get_handover(ctx, handover_id)
    ctx.require("crm.handover.start")
    if handover.stage != "preparation":
        raise UserError("只有准备中的交接单可以提交审核")
    _step(ctx, handover, "submit", "review")
    db.session.flush()
    return handover


def review(ctx: ServiceContext, handover_id: int, approve: bool,
           comment: str | None = None) -> Handover:
    handover = get_handover(ctx, handover_id)
    ctx.require("crm.handover.review")
    if handover.stage != "review":
        raise UserError("交接单不在审核阶段")
    if ctx.actor_id == handover.initiator_id and not (ctx.actor and ctx.actor.is_admin):
        raise PermissionDenied("发起人不能审核自己的交接单")
    if not approve and not (comment or "").strip():
        raise ValidationError("退回需要填写意见", fields={"comment": "请填写意见"})
    _step(ctx, handover, "approve" if approve else "reject",
          "confirmation" if approve else "preparation", comment)
    db.session.flush()
    if approve:
        notify(ctx, [handover.to_user_id], f"请确认客户交接 {handover.number}",
               f"{len(handover.customers)} 个客户待您确认接收", url=f"/crm/handovers/{handover.id}",
               dedupe_key=f"crm.handover.confirm:{handover.id}")
    return handover


def confirm(ctx: ServiceContext, handover_id: int) -> Handover:
    """The recipient confirms: ownership moves in this one transaction."""
    handover = get_handover(ctx, handover_id)
    if handover.stage != "confirmation":
        raise UserError("交接单不在确认阶段")
    if ctx.actor_id != handover.to_user_id:
        raise PermissionDenied("只有接收人可以确认交接")
    ids = [hc.customer_id for hc in handover.customers]
    reassign_customers(ctx, ids, handover.to_user_id, f"客户交接 {handover.number}",
                       authorized=True)
    moved = db.session.execute(
        update(Opportunity).where(Opportunity.customer_id.in_(ids),
                                  Opportunity.status.in_(OPEN_STATUSES))
        .values(owner_id=handover.to_user_id, updated_at=ctx.now)
        .execution_options(synchronize_session=False)).rowcount
    _step(ctx, handover, "confirm", "completed", f"{len(ids)} 个客户，{moved} 个进行中商机")
    handover.completed_at = ctx.now
    audit.record(ctx, handover, "completed", f"交接完成：{len(ids)} 个客户，{moved} 个商机")
    _notify_customers(ctx, handover, ids)
    hook = getattr(current_app.extensions["tandem_registry"].hook, "customers_handed_over", None)
    if hook is not None:
        hook(customer_ids=ids, from_user_id=handover.from_user_id,
             to_user_id=handover.to_user_id, handover_id=handover.id, ctx=ctx)
    db.session.flush()
    return handover


def _notify_customers(ctx: ServiceContext, handover: Handover, ids: list[int]) -> None:
    """Tell each customer who serves them now, by SMS (log provider without one)."""
    new_owner = db.session.get(User, handover.to_user_id)
    channels = current_app.extensions["tandem_registry"].notification_channels
    channel = "sms" if "sms" in channels else "log"
    for customer in db.session.scalars(select(Customer).where(Customer.id.in_(ids))):
        if not customer.phone:
            continue
        notify(ctx, [], "服务人员变更通知",
               f"尊敬的{customer.customer_name}，您的专属顾问已变更为{new_owner.name}"
               f"{'（' + new_owner.phone + '）' if new_owner.phone else ''}，感谢您的支持。",
               channels=(channel,), address=customer.phone, record=customer,
               dedupe_key=f"crm.handover.customer:{handover.id}:{customer.id}")


def cancel(ctx: ServiceContext, handover_id: int, comment: str | None = None) -> Handover:
    handover = get_handover(ctx, handover_id)
    ctx.require("crm.handover.start")
    if handover.stage in ("completed", "cancelled"):
        raise UserError("交接单已结束")
    _step(ctx, handover, "cancel", "cancelled", comment)
    db.session.flush()
    return handover


def list_handovers(ctx: ServiceContext) -> list[Handover]:
    ctx.require("crm.handover.read")
    stmt = select(Handover).order_by(Handover.id.desc()).limit(200)
    actor = ctx.actor
    if actor is not None and not actor.is_admin and "manager" not in actor.role_codes:
        stmt = stmt.where((Handover.to_user_id == actor.id) | (Handover.from_user_id == actor.id))
    return list(db.session.scalars(stmt))


def who_may_act(handover: Handover) -> dict[str, Any]:
    return {"preparation": "发起人（经理）", "review": "其他经理或管理员",
            "confirmation": handover.to_user.name if handover.to_user else "接收人"}.get(
        handover.stage, "—")
