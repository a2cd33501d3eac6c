"""Part requests (配件申请, seed 003 §2.2): request → approve / reject / ask for more
information → issue from stock; when short, wait in a FIFO queue, take a substitute or
raise an urgent purchase. Returns of unused parts.

These are the plain functions the ``service_stock`` bridge calls:
``create_request(ctx, items, ticket_id=None, equipment_id=None, notes="")``,
``approve_request(ctx, request_id)``, ``reject_request(ctx, request_id, reason)``; every
decision fires the hook ``part_request_decided(request, ctx)``.

Races: a decision moves the status with one conditional ``UPDATE … WHERE status IN
(…)`` (rowcount checked), so two approvers clicking at once decide once; issuing goes
through :func:`modules.stock.services.ledger.post_move` (never below zero).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy import update

from core import audit
from core import hooks
from core.concurrency import conditional_update
from core.errors import ConflictError
from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.security.models import User
from core.services import ServiceContext
from modules.stock.models import PURPOSES
from modules.stock.models import URGENCIES
from modules.stock.models import Part
from modules.stock.models import PartRequest
from modules.stock.models import PartRequestLine
from modules.stock.models import PartSubstitute
from modules.stock.models import StockMove
from modules.stock.models import Warehouse
from modules.stock.services.ledger import OutOfStock
from modules.stock.services.ledger import check_references
from modules.stock.services.ledger import get_part
from modules.stock.services.ledger import get_warehouse
from modules.stock.services.ledger import post_move
from modules.stock.services.ledger import quantity
from modules.stock.services.ledger import record_usage
from modules.stock.services.purchasing import raise_purchase_request

DECIDABLE = ("pending", "info_requested")
SHORT_CHOICES = ("queue", "refuse", "purchase")


def default_warehouse() -> Warehouse:
    """The main warehouse parts are issued from unless a request names another."""
    wh = db.session.scalar(select(Warehouse).where(
        Warehouse.active.is_(True), Warehouse.kind == "main").order_by(Warehouse.id).limit(1))
    if wh is None:
        wh = db.session.scalar(select(Warehouse).where(Warehouse.active.is_(True))
                               .order_by(Warehouse.id).limit(1))
    if wh is None:
        raise UserError(_("还没有仓库，请先在配件库存中建立仓库"))
    return wh


def find_part(value: Any) -> Part:
    """A part by id or by ``part_code`` (case-insensitive)."""
    if isinstance(value, int):
        return get_part(value)
    code = str(value or "").strip().upper()
    part = db.session.scalar(select(Part).where(Part.part_code == code)) if code else None
    if part is None:
        raise NotFoundError(_("配件编码 %(code)s 不存在", code=code or "?"))
    return part


def get_request(ctx: ServiceContext, request_id: Any, *, for_update: bool = False) -> PartRequest:
    """A request the actor may see (record rules), else 404."""
    try:
        rid = int(str(request_id).removeprefix("PR-"))
    except ValueError:
        raise NotFoundError(_("配件申请不存在")) from None
    stmt = ctx.scoped(select(PartRequest).where(PartRequest.id == rid), PartRequest)
    req = db.session.scalar(stmt)
    if req is None:
        raise NotFoundError(_("配件申请不存在"))
    if for_update:
        db.session.refresh(req)
    return req


def _lines(items: Any) -> list[PartRequestLine]:
    if not isinstance(items, list | tuple) or not items:
        raise ValidationError.of_fields({"items": _("请至少申请一种配件")})
    if len(items) > 50:
        raise ValidationError.of_fields({"items": _("一次最多申请 50 种配件")})
    lines, seen = [], set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationError.of_fields({"items": _("配件明细格式不正确")})
        ref = item.get("part_id") if item.get("part_id") is not None else item.get("part_code")
        try:
            part = find_part(ref)
        except NotFoundError as exc:
            raise ValidationError.of_fields({f"items.{i}.part_id": exc.message}) from None
        if not part.active:
            raise ValidationError.of_fields({f"items.{i}.part_id": _("配件已停用")})
        if part.id in seen:
            raise ValidationError.of_fields({f"items.{i}.part_id": _("同一配件请合并为一行")})
        seen.add(part.id)
        urgency = item.get("urgency") or "normal"
        if urgency not in URGENCIES:
            raise ValidationError.of_fields({f"items.{i}.urgency": _("紧急程度只能是普通或紧急")})
        n = quantity(item.get("quantity", 1), f"items.{i}.quantity")
        lines.append(PartRequestLine(part_id=part.id, quantity=n, urgency=urgency))
    return lines


def create_request(ctx: ServiceContext, items: list[dict], ticket_id: int | None = None,
                   equipment_id: int | None = None, notes: str = "", *,
                   purpose: str = "repair", warehouse_id: int | None = None,
                   submit: bool = True) -> PartRequest:
    """A part request of the actor; ``items`` are ``{"part_id" | "part_code", "quantity",
    "urgency"}``. Submitted (待审批) unless ``submit=False`` (a draft)."""
    ctx.require("stock.request.create")
    if purpose not in PURPOSES:
        raise ValidationError.of_fields({"purpose": _("用途只能是维修、保养或更换")})
    for name, value in (("ticket_id", ticket_id), ("equipment_id", equipment_id)):
        if value is not None and (not isinstance(value, int) or value <= 0):
            raise ValidationError.of_fields({name: _("编号必须是正整数")})
    # Web, API, chat and any batch alike: a ticket or equipment the actor may not see is
    # refused like a missing one (issue 14 #2).
    check_references(ctx, ticket_id=ticket_id, equipment_id=equipment_id)
    if warehouse_id is not None:
        get_warehouse(warehouse_id, "warehouse_id")
    lines = _lines(items)
    urgent = any(line.urgency == "urgent" for line in lines)
    req = PartRequest(requester_id=ctx.actor_id, ticket_id=ticket_id,
                      equipment_id=equipment_id, warehouse_id=warehouse_id,
                      status="pending" if submit else "draft", purpose=purpose,
                      urgency="urgent" if urgent else "normal",
                      notes=(notes or "").strip()[:2000] or None, lines=lines)
    db.session.add(req)
    db.session.flush()
    if submit:
        _announce(ctx, req)
    return req


def submit_request(ctx: ServiceContext, request_id: int, notes: str | None = None) -> PartRequest:
    """Send a draft, or answer the approver's question and send it again."""
    req = get_request(ctx, request_id)
    if req.requester_id != ctx.actor_id and not ctx.can("stock.request.approve"):
        raise PermissionDenied(_("只能提交自己的申请"))
    if notes is not None and notes.strip():
        req.notes = ((req.notes + "\n") if req.notes else "") + notes.strip()[:2000]
    moved = _move_status(ctx, req, ("draft", "info_requested"), status="pending")
    if not moved:
        raise ConflictError(_("该申请当前不能提交"))
    _announce(ctx, req)
    return req


def _move_status(ctx: ServiceContext, req: PartRequest, allowed: tuple[str, ...],
                 **values: Any) -> bool:
    """Move ``req`` to ``values`` if its status is still one of ``allowed`` (one conditional
    UPDATE: two approvers cannot both decide); the move is audited like an ORM change (the
    UPDATE bypasses the flush listener), with the fields history shows."""
    before = {k: getattr(req, k) for k in values if k not in ("updated_at",)}
    done = conditional_update(
        update(PartRequest).where(PartRequest.id == req.id, PartRequest.status.in_(allowed))
        .values(**values))
    db.session.expire(req)
    if done:
        audit.record(ctx, PartRequest.__tablename__, "update", record_id=req.id, changes={
            k: [old, values[k]] for k, old in before.items() if old != values[k]})
    return bool(done)


def _decided(ctx: ServiceContext, req: PartRequest) -> None:
    hooks.call("part_request_decided", request=req, ctx=ctx)


def approve_request(ctx: ServiceContext, request_id: int, *, when_short: str = "queue",
                    warehouse_id: int | None = None) -> PartRequest:
    """Approve and issue from stock. A line that cannot be served now (short, or others
    already wait for that part) waits in the queue (``queue``), raises an urgent purchase
    for the shortage as well (``purchase``), or refuses the whole approval (``refuse``)."""
    ctx.require("stock.request.approve")
    if when_short not in SHORT_CHOICES:
        raise ValidationError.of_fields({"when_short": _("缺货处理方式不正确")})
    req = get_request(ctx, request_id)
    wh_id = warehouse_id or req.warehouse_id or default_warehouse().id
    warehouse = get_warehouse(wh_id, "warehouse_id" if warehouse_id else None)
    if not _move_status(ctx, req, DECIDABLE, status="waiting", decided_by_id=ctx.actor_id,
                        decided_at=ctx.now, queued_at=ctx.now, warehouse_id=warehouse.id,
                        updated_at=ctx.now):
        raise ConflictError(_("申请 %(number)s 已处理（%(status)s），无需再次审批",
                              number=req.number, status=_(req.status_label)))
    short = []
    for line in sorted(req.lines, key=lambda ln: ln.part_id):  # one lock order: no deadlock
        if not _issue_line(ctx, req, line, warehouse, respect_queue=True):
            short.append(line)
    if short and when_short == "refuse":
        raise OutOfStock(_("库存不足，未批准：%(parts)s",
                           parts=_("、").join(f"{ln.part.part_code}×{ln.open_quantity}"
                                             for ln in short)))
    if short and when_short == "purchase":
        for line in short:
            raise_purchase_request(ctx, line.part_id, line.open_quantity, reason="urgent",
                                   part_request_id=req.id)
    _finish_if_done(ctx, req)
    db.session.refresh(req)
    _decided(ctx, req)
    _tell_requester(ctx, req)
    return req


def _issue_line(ctx: ServiceContext, req: PartRequest, line: PartRequestLine,
                warehouse: Warehouse, *, respect_queue: bool) -> bool:
    """Issue a line's open quantity (all or nothing); False when it must wait."""
    need = line.open_quantity
    if need <= 0:
        return True
    if respect_queue and _others_waiting(line):
        return False
    # Lock the line first (a no-op conditional write), so two servers of the queue do not
    # both issue it; then take the stock.
    locked = conditional_update(
        update(PartRequestLine).where(PartRequestLine.id == line.id,
                                      PartRequestLine.issued_quantity == line.issued_quantity)
        .values(issued_quantity=PartRequestLine.issued_quantity))
    if not locked:
        return False
    try:
        move = post_move(ctx, line.part, warehouse, -need, "issue", request_id=req.id,
                         ticket_id=req.ticket_id, equipment_id=req.equipment_id)
    except OutOfStock:
        return False
    db.session.execute(update(PartRequestLine).where(PartRequestLine.id == line.id)
                       .values(issued_quantity=PartRequestLine.issued_quantity + need)
                       .execution_options(synchronize_session=False))
    db.session.expire(line)
    record_usage(ctx, line.part, need, move, ticket_id=req.ticket_id,
                 equipment_id=req.equipment_id, purpose=req.purpose,
                 engineer_id=req.requester_id, request_id=req.id)
    return True


def _others_waiting(line: PartRequestLine) -> bool:
    """Another approved request already waits for this part (FIFO: no overtaking)."""
    other = PartRequestLine.__table__.alias("other")
    other_req = PartRequest.__table__.alias("other_req")
    return bool(db.session.scalar(select(exists().where(
        other.c.part_id == line.part_id, other.c.issued_quantity < other.c.quantity,
        other.c.request_id != line.request_id, other_req.c.id == other.c.request_id,
        other_req.c.status == "waiting",
    ))))


def _finish_if_done(ctx: ServiceContext, req: PartRequest) -> bool:
    db.session.refresh(req)
    return (req.status == "waiting" and all(ln.open_quantity <= 0 for ln in req.lines)
            and _move_status(ctx, req, ("waiting",), status="issued", issued_at=ctx.now,
                             updated_at=ctx.now))


def serve_waiting(ctx: ServiceContext, part_id: int) -> list[PartRequest]:
    """Serve the queue of ``part_id`` in order (oldest approval first) after stock came
    in; stops at the first request that still cannot be served (no overtaking)."""
    rows = db.session.execute(
        select(PartRequestLine.id, PartRequest.id)
        .join(PartRequest, PartRequest.id == PartRequestLine.request_id)
        .where(PartRequestLine.part_id == part_id, PartRequest.status == "waiting",
               PartRequestLine.issued_quantity < PartRequestLine.quantity)
        .order_by(PartRequest.queued_at, PartRequest.id, PartRequestLine.id)).all()
    served = []
    for line_id, request_id in rows:
        req = db.session.get(PartRequest, request_id)
        line = db.session.get(PartRequestLine, line_id)
        warehouse = req.warehouse or default_warehouse()
        if not _issue_line(ctx, req, line, warehouse, respect_queue=False):
            break
        if _finish_if_done(ctx, req):
            served.append(req)
            _notify(ctx, req, lambda r=req: _("配件已到货并出库：%(number)s", number=r.number),
                    key=f"stock.request.arrived:{req.id}")
    return served


def reject_request(ctx: ServiceContext, request_id: int, reason: str) -> PartRequest:
    """Reject with a reason (pending, asked for information, or still waiting)."""
    ctx.require("stock.request.approve")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("驳回需要填写原因"), fields={"reason": _("请填写驳回原因")})
    req = get_request(ctx, request_id)
    if not _move_status(ctx, req, (*DECIDABLE, "waiting"), status="rejected",
                        decision_note=reason[:2000], decided_by_id=ctx.actor_id,
                        decided_at=ctx.now, updated_at=ctx.now):
        raise ConflictError(_("申请 %(number)s 已处理（%(status)s），不能驳回",
                              number=req.number, status=_(req.status_label)))
    _decided(ctx, req)
    _tell_requester(ctx, req)
    return req


def ask_for_information(ctx: ServiceContext, request_id: int, question: str) -> PartRequest:
    """Send the request back to the requester with a question (需要补充信息)."""
    ctx.require("stock.request.approve")
    question = (question or "").strip()
    if not question:
        raise ValidationError(_("请写明需要补充的信息"),
                              fields={"question": _("请写明需要补充的信息")})
    req = get_request(ctx, request_id)
    if not _move_status(ctx, req, ("pending",), status="info_requested",
                        decision_note=question[:2000], decided_by_id=ctx.actor_id,
                        decided_at=ctx.now, updated_at=ctx.now):
        raise ConflictError(_("该申请当前不能退回补充信息"))
    _decided(ctx, req)
    _tell_requester(ctx, req)
    return req


def cancel_request(ctx: ServiceContext, request_id: int) -> PartRequest:
    """The requester withdraws an open request (nothing issued yet)."""
    req = get_request(ctx, request_id)
    if req.requester_id != ctx.actor_id and not ctx.can("stock.request.approve"):
        raise PermissionDenied(_("只能取消自己的申请"))
    if any(ln.issued_quantity for ln in req.lines):
        raise UserError(_("已有配件出库，请改为退料"))
    if not _move_status(ctx, req, ("draft", "pending", "info_requested", "waiting"),
                        status="cancelled", updated_at=ctx.now):
        raise ConflictError(_("该申请当前不能取消"))
    return req


def use_substitute(ctx: ServiceContext, request_id: int, line_id: int,
                   substitute_id: int) -> PartRequest:
    """Replace a line's part by one of its declared substitutes (替代件) before it is
    issued; the queue is tried again for the request."""
    ctx.require("stock.request.approve")
    req = get_request(ctx, request_id)
    line = next((ln for ln in req.lines if ln.id == line_id), None)
    if line is None:
        raise NotFoundError(_("申请明细不存在"))
    if req.status not in (*DECIDABLE, "waiting") or line.issued_quantity:
        raise UserError(_("该明细已出库或申请已结束，不能替换"))
    allowed = db.session.scalar(select(PartSubstitute.substitute_id).where(
        PartSubstitute.part_id == line.part_id, PartSubstitute.substitute_id == substitute_id))
    if allowed is None:
        raise ValidationError.of_fields({"substitute_id": _("该配件不是登记的替代件")})
    line.original_part_id = line.original_part_id or line.part_id
    line.part_id = substitute_id
    db.session.flush()
    db.session.expire(line)
    if req.status == "waiting":
        _issue_line(ctx, req, line, req.warehouse or default_warehouse(), respect_queue=True)
        if _finish_if_done(ctx, req):
            _tell_requester(ctx, req)
    return req


def return_unused(ctx: ServiceContext, request_id: int, line_id: int, qty: Any,
                  warehouse_id: int | None = None) -> StockMove:
    """Unused issued parts go back to stock (退料): the ledger gets a return, the usage
    a negative line, and the queue of that part is served."""
    req = get_request(ctx, request_id)
    if req.requester_id != ctx.actor_id:
        ctx.require("stock.move.write")
    line = next((ln for ln in req.lines if ln.id == line_id), None)
    if line is None:
        raise NotFoundError(_("申请明细不存在"))
    n = quantity(qty)
    if n > line.issued_quantity - line.returned_quantity:
        raise ValidationError.of_fields({"quantity": _("退料数量不能超过已领未退数量 %(n)s",
                                                       n=line.issued_quantity
                                                       - line.returned_quantity)})
    wh = get_warehouse(warehouse_id) if warehouse_id else (req.warehouse or default_warehouse())
    done = conditional_update(
        update(PartRequestLine).where(PartRequestLine.id == line.id,
                                      PartRequestLine.returned_quantity + n
                                      <= PartRequestLine.issued_quantity)
        .values(returned_quantity=PartRequestLine.returned_quantity + n))
    if not done:
        raise ConflictError(_("退料数量超过已领未退数量"))
    move = post_move(ctx, line.part, wh, n, "return", request_id=req.id, ticket_id=req.ticket_id,
                     equipment_id=req.equipment_id, note=_("退料 %(number)s", number=req.number))
    record_usage(ctx, line.part, -n, move, ticket_id=req.ticket_id,
                 equipment_id=req.equipment_id, purpose=req.purpose,
                 engineer_id=req.requester_id, request_id=req.id)
    db.session.expire(line)
    serve_waiting(ctx, line.part_id)
    return move


# ---------------------------------------------------------------- who is told what
def approvers() -> list[User]:
    from core.security.permissions import granted_users

    return list(db.session.scalars(granted_users("stock.request.approve")))


def _notify(ctx: ServiceContext, req: PartRequest, subject: Any, key: str) -> None:
    from core.notify import notify
    from modules.stock.cards import request_url

    if req.requester_id:
        notify(ctx, [req.requester_id], subject, "", url=request_url(req), dedupe_key=key,
               record=req)


def _tell_requester(ctx: ServiceContext, req: PartRequest) -> None:
    number, status = req.number, req.status_label
    note = req.decision_note or ""

    def subject() -> str:
        text = _("配件申请 %(number)s：%(status)s", number=number, status=_(status))
        return f"{text} {note}".strip() if status in ("已驳回", "待补充信息") else text

    _notify(ctx, req, subject, key=f"stock.request.{req.status}:{req.id}:{ctx.now.isoformat()}")


def _announce(ctx: ServiceContext, req: PartRequest) -> None:
    """Tell the approvers: in-app, and the approval card (批准 / 驳回) on WeCom."""
    from modules.stock.cards import push_request_card

    push_request_card(ctx, req, approvers())
