"""The stock ledger: every change of on-hand is one signed ``stock_move`` row plus one
atomic change of ``stock_on_hand`` in the same transaction.

Races: :func:`post_move` changes on-hand with one conditional ``UPDATE … SET on_hand =
on_hand + :delta WHERE … AND on_hand + :delta >= 0`` and checks its rowcount, so of 50
concurrent issues against a stock of 10 exactly 10 succeed on every backend (PostgreSQL
row lock taken by the UPDATE; SQLite's write lock, taken by the first write of the
transaction with a busy timeout) and ``CHECK (on_hand >= 0)`` stays the last line of
defence. The ledger is insert-only; a cancellation is a reversing row.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from core import hooks
from core.concurrency import conditional_update
from core.concurrency import dialect_insert
from core.errors import ConflictError
from core.errors import NotFoundError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.security.models import User
from core.services import ServiceContext
from modules.stock.models import PURPOSES
from modules.stock.models import OnHand
from modules.stock.models import Part
from modules.stock.models import PartsUsage
from modules.stock.models import StockCount
from modules.stock.models import StockCountLine
from modules.stock.models import StockMove
from modules.stock.models import Warehouse


class OutOfStock(ConflictError):
    """Not enough on hand for an outgoing move (409, with a clear message)."""

    code = "out_of_stock"


def _insert_ignore(values: dict[str, Any]) -> Any:
    return dialect_insert(OnHand).values(**values).on_conflict_do_nothing()


def quantity(value: Any, field: str = "quantity", *, allow_zero: bool = False) -> int:
    """A positive whole quantity from user input, else a ValidationError naming ``field``."""
    try:
        number = int(str(value).strip())
        if str(value).strip() != str(number) and not isinstance(value, int):
            raise ValueError
    except (TypeError, ValueError):
        raise ValidationError.of_fields({field: _("数量必须是整数")}) from None
    if number < 0 or (number == 0 and not allow_zero):
        raise ValidationError.of_fields({field: _("数量必须大于 0")})
    if number > 1_000_000:
        raise ValidationError.of_fields({field: _("数量过大")})
    return number


def _missing(message: str, field: str | None) -> Exception:
    """404 for a record named by the address; 422 naming ``field`` for one named in a body."""
    return NotFoundError(message) if field is None else ValidationError.of_fields(
        {field: message})


def get_part(part_id: Any, field: str | None = None) -> Part:
    part = db.session.get(Part, part_id) if isinstance(part_id, int) else None
    if part is None:
        raise _missing(_("配件不存在"), field)
    return part


def get_warehouse(warehouse_id: Any, field: str | None = None) -> Warehouse:
    wh = db.session.get(Warehouse, warehouse_id) if isinstance(warehouse_id, int) else None
    if wh is None or not wh.active:
        raise _missing(_("仓库不存在"), field)
    return wh


def check_references(ctx: ServiceContext, **refs: int | None) -> None:
    """``ticket_id`` / ``equipment_id`` named on a part request or a checkout: each must be
    a record the actor may see (asked of the modules that know it through
    ``stock_reference_visible``), and a technician an active engineer; anything else is
    refused like a missing record, the same 422 (issue 14 #2). Called by the services
    (:func:`checkout`, ``requests.create_request``), so web, API, chat and batches all
    pass through it; an id no installed module knows is taken as given."""
    for field, value in refs.items():
        if value is None:
            continue
        if field == "technician_id":
            user = db.session.get(User, value) if isinstance(value, int) else None
            if user is None or not user.active or "engineer" not in user.role_codes:
                raise ValidationError.of_fields({field: _("用户不存在或已停用")})
            continue
        visible = hooks.call("stock_reference_visible", field=field, value=value, ctx=ctx)
        if visible is False or not isinstance(value, int) or value <= 0:
            raise ValidationError.of_fields({field: _("记录不存在或无权查看")})


def on_hand(part_id: int, warehouse_id: int) -> int:
    return db.session.scalar(select(OnHand.on_hand).where(
        OnHand.part_id == part_id, OnHand.warehouse_id == warehouse_id)) or 0


def post_move(ctx: ServiceContext, part: Part, warehouse: Warehouse, delta: int, kind: str,
              *, unit_cost: Decimal | None = None, **refs: Any) -> StockMove:
    """Change on-hand by ``delta`` atomically and write the ledger row; an outgoing move
    that would take on-hand below zero raises :class:`OutOfStock` and changes nothing."""
    if delta == 0:
        raise ValidationError.of_fields({"quantity": _("数量必须大于 0")})
    if delta > 0 and kind == "receipt" and unit_cost is not None:
        _average_cost(part, delta, unit_cost)
    if delta > 0:
        db.session.execute(_insert_ignore(
            {"part_id": part.id, "warehouse_id": warehouse.id, "on_hand": 0}))
    changed = conditional_update(
        update(OnHand)
        .where(OnHand.part_id == part.id, OnHand.warehouse_id == warehouse.id,
               OnHand.on_hand + delta >= 0)
        .values(on_hand=OnHand.on_hand + delta))
    if not changed:
        have = on_hand(part.id, warehouse.id)
        raise OutOfStock(_("库存不足：%(code)s %(name)s 在%(warehouse)s现有 %(have)s，"
                           "需要 %(need)s", code=part.part_code, name=part.part_name,
                           warehouse=warehouse.name, have=have, need=-delta))
    db.session.execute(update(Part).where(Part.id == part.id)
                       .values(on_hand_total=Part.on_hand_total + delta)
                       .execution_options(synchronize_session=False))
    move = StockMove(part_id=part.id, warehouse_id=warehouse.id, kind=kind, quantity=delta,
                     unit_cost=unit_cost if unit_cost is not None else part.average_cost,
                     actor_id=ctx.actor_id, created_at=ctx.now, **refs)
    db.session.expire(part, ["on_hand_total"])
    db.session.add(move)
    db.session.flush()
    return move


def _average_cost(part: Part, incoming: int, unit_cost: Decimal) -> None:
    """Moving-average cost, in one statement (the UPDATE locks the part row on PostgreSQL,
    so concurrent receipts of one part are averaged one after the other)."""
    total = select(func.coalesce(func.sum(OnHand.on_hand), 0)).where(
        OnHand.part_id == part.id).scalar_subquery()
    db.session.execute(
        update(Part).where(Part.id == part.id).values(
            average_cost=(Part.average_cost * total + unit_cost * incoming) / (total + incoming))
        .execution_options(synchronize_session=False))
    db.session.expire(part, ["average_cost", "on_hand_total"])


def _cost(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        cost = Decimal(str(value).strip())
    except Exception:  # noqa: BLE001 - decimal raises several types
        raise ValidationError.of_fields({"unit_cost": _("单价格式不正确")}) from None
    if not cost.is_finite() or cost < 0 or cost > Decimal("99999999"):
        raise ValidationError.of_fields({"unit_cost": _("单价格式不正确")})
    return cost


def _lock_in_order(part_id: int, warehouse_ids: list[int]) -> None:
    """Take the on-hand rows of a move touching several warehouses in one order (by
    warehouse id), so that two opposite transfers queue instead of deadlocking
    (PostgreSQL; SQLite's single writer needs nothing)."""
    for wh_id in sorted(warehouse_ids):
        db.session.execute(_insert_ignore({"part_id": part_id, "warehouse_id": wh_id,
                                           "on_hand": 0}))
    db.session.execute(select(OnHand.id).where(
        OnHand.part_id == part_id, OnHand.warehouse_id.in_(warehouse_ids))
        .order_by(OnHand.warehouse_id).with_for_update())


def receive(ctx: ServiceContext, part_id: int, warehouse_id: int, qty: Any,
            unit_cost: Any = None, note: str = "", **refs: Any) -> StockMove:
    """A receipt (入库) without a purchase order (opening stock, a found box …); waiting
    part requests for the part are then served in order."""
    ctx.require("stock.move.write")
    part, wh = get_part(part_id, "part_id"), get_warehouse(warehouse_id, "warehouse_id")
    n = quantity(qty)
    cost = _cost(unit_cost)
    move = post_move(ctx, part, wh, n, "receipt", unit_cost=cost, note=note or None, **refs)
    stock_arrived(ctx, [part.id])
    return move


def checkout(ctx: ServiceContext, part_id: int, warehouse_id: int, qty: Any,
             ticket_id: int | None = None, equipment_id: int | None = None,
             purpose: str = "repair", engineer_id: int | None = None,
             note: str = "") -> StockMove:
    """Issue parts directly (出库 / checkout), recorded as parts usage. The ticket, the
    equipment and the engineer are checked as :func:`check_references` says."""
    ctx.require("stock.move.issue")
    check_references(ctx, ticket_id=ticket_id, equipment_id=equipment_id,
                     technician_id=engineer_id)
    part, wh = get_part(part_id), get_warehouse(warehouse_id, "warehouse_id")
    n = quantity(qty)
    move = post_move(ctx, part, wh, -n, "issue", ticket_id=ticket_id,
                     equipment_id=equipment_id, note=note or None)
    record_usage(ctx, part, n, move, ticket_id=ticket_id, equipment_id=equipment_id,
                 purpose=purpose, engineer_id=engineer_id or ctx.actor_id)
    return move


def return_parts(ctx: ServiceContext, part_id: int, warehouse_id: int, qty: Any,
                 note: str = "", **refs: Any) -> StockMove:
    """Unused parts back into a warehouse (退料)."""
    ctx.require("stock.move.write")
    part, wh = get_part(part_id, "part_id"), get_warehouse(warehouse_id, "warehouse_id")
    move = post_move(ctx, part, wh, quantity(qty), "return", note=note or None, **refs)
    stock_arrived(ctx, [part.id])
    return move


def transfer(ctx: ServiceContext, part_id: int, from_id: int, to_id: int, qty: Any,
             note: str = "") -> tuple[StockMove, StockMove]:
    """Move stock between warehouses (调拨): two ledger rows sharing a key."""
    ctx.require("stock.move.write")
    part = get_part(part_id)
    source, target = get_warehouse(from_id), get_warehouse(to_id)
    if source.id == target.id:
        raise ValidationError.of_fields({"to_warehouse_id": _("调入仓库不能与调出仓库相同")})
    n = quantity(qty)
    _lock_in_order(part.id, [source.id, target.id])
    key = uuid.uuid4().hex
    out = post_move(ctx, part, source, -n, "transfer", transfer_key=key, note=note or None)
    into = post_move(ctx, part, target, n, "transfer", transfer_key=key, note=note or None)
    stock_arrived(ctx, [part.id])
    return out, into


def count(ctx: ServiceContext, warehouse_id: int, counted: dict[int, Any],
          note: str = "") -> StockCount:
    """A stock count (盘点): for each part the counted quantity; differences are posted as
    adjustments. The expected figure is read when the adjustment is posted."""
    ctx.require("stock.count.write")
    wh = get_warehouse(warehouse_id)
    if not counted:
        raise ValidationError.of_fields({"lines": _("请至少填写一个配件的盘点数量")})
    record = StockCount(warehouse_id=wh.id, counted_by_id=ctx.actor_id, counted_at=ctx.now,
                        note=note or None)
    db.session.add(record)
    for part_id, value in counted.items():
        part = get_part(part_id)
        actual = quantity(value, f"counted_{part_id}", allow_zero=True)
        expected = on_hand(part.id, wh.id)
        if actual != expected:
            post_move(ctx, part, wh, actual - expected, "adjustment",
                      note=_("盘点调整（账面 %(expected)s，实盘 %(actual)s）", expected=expected,
                             actual=actual))
        record.lines.append(StockCountLine(part_id=part.id, expected=expected, counted=actual))
    db.session.flush()
    stock_arrived(ctx, list(counted))
    return record


def reverse(ctx: ServiceContext, move_id: int, note: str = "") -> StockMove:
    """Cancel a ledger row by posting its opposite (refused when stock is gone)."""
    ctx.require("stock.move.write")
    move = db.session.get(StockMove, move_id)
    if move is None:
        raise NotFoundError(_("库存流水不存在"))
    if move.kind == "reversal" or db.session.scalar(
            select(StockMove.id).where(StockMove.reverses_id == move.id)):
        raise UserError(_("该流水已冲销"))
    return post_move(ctx, move.part, move.warehouse, -move.quantity, "reversal",
                     reverses_id=move.id, unit_cost=move.unit_cost,
                     note=note or _("冲销 #%(id)s", id=move.id))


def stock_arrived(ctx: ServiceContext, part_ids: list[int]) -> None:
    """Tell whoever waits for these parts (the request queue, through the ``stock_arrived``
    hook) that stock came in."""
    hooks.call("stock_arrived", part_ids=[int(i) for i in part_ids], ctx=ctx)


def record_usage(ctx: ServiceContext, part: Part, n: int, move: StockMove, *,
                 ticket_id: int | None, equipment_id: int | None, purpose: str,
                 engineer_id: int | None, request_id: int | None = None) -> PartsUsage:
    """A ``parts_usage`` row (seed 000 field names) for an issue or a return."""
    engineer = db.session.get(User, engineer_id) if engineer_id else None
    usage = PartsUsage(ticket_id=ticket_id, equipment_id=equipment_id, part_id=part.id,
                       part_code=part.part_code, quantity=n, unit_cost=move.unit_cost,
                       engineer_id=engineer.id if engineer else None,
                       engineer_userid=engineer.wecom_userid if engineer else None,
                       engineer_name=engineer.name if engineer else None,
                       usage_date=ctx.now.date(),
                       purpose=purpose if purpose in PURPOSES else "repair",
                       request_id=request_id, move_id=move.id, created_at=ctx.now)
    db.session.add(usage)
    db.session.flush()
    return usage
