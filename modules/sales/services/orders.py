"""Order services: the one place the web, the API, the bot and jobs create and move orders."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core import audit
from core.errors import NotFoundError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.hooks import call
from core.security.ownership import may_assign
from core.services import ServiceContext
from modules.crm import queries as customer_services
from modules.sales.models import OPEN_STATUSES
from modules.sales.models import STATUSES
from modules.sales.models import TRANSITIONS
from modules.sales.models import Order
from modules.sales.models import OrderLine
from modules.sales.models import OrderModification
from modules.sales.queries import get_order
from modules.sales.services.numbering import local_date
from modules.sales.services.numbering import next_number

MAX_AMOUNT = Decimal("999999999999.99")
MAX_LINES = 200
# The permission each move needs (cancel: from any state before completed, with a reason).
STATUS_PERMISSIONS = {
    "confirmed": "sales.order.write",
    "paid": "sales.order.pay",
    "delivered": "sales.order.deliver",
    "installed": "sales.order.install",
    "completed": "sales.order.write",
    "cancelled": "sales.order.cancel",
}
# Fields of an order whose change after confirmation is an order modification.
TRACKED = {
    "delivery_address": _l("配送地址"),
    "delivery_date": _l("计划配送日期"),
    "install_date": _l("计划安装日期"),
    "engineer_id": _l("安装工程师"),
    "lines": _l("订单明细"),
}


# --- reading (modules/sales/queries.py) ----------------------------------------------------

def _writable(ctx: ServiceContext, ref: str | int) -> Order:
    ctx.require("sales.order.read")
    return get_order(ctx, ref, for_update=True)


# --- input ---------------------------------------------------------------------------------


def parse_amount(raw: Any, field: str) -> Decimal:
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(
            str(raw).replace(",", "").replace("¥", "").strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(_("金额无效"), fields={field: _("不是有效的金额")}) from exc
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT \
            or value != value.quantize(Decimal("0.01")):
        raise ValidationError(_("金额无效（0 至 999,999,999,999.99，最多两位小数）"),
                              fields={field: _("金额无效")})
    return value


def parse_date(raw: Any, field: str) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError as exc:
        raise ValidationError(_("日期格式不正确"), fields={field: _("日期格式不正确")}) from exc


def _int(raw: Any, field: str, *, low: int, high: int, message: str) -> int:
    try:
        value = int(str(raw).strip()) if not isinstance(raw, int) else raw
    except (TypeError, ValueError) as exc:
        raise ValidationError(message, fields={field: message}) from exc
    if isinstance(raw, bool) or not low <= value <= high:
        raise ValidationError(message, fields={field: message})
    return value


def clean_lines(raw_lines: Any) -> list[dict[str, Any]]:
    """Validated lines: product, model, brand, type, quantity ≥ 1, unit price (2 decimals)."""
    if not isinstance(raw_lines, list | tuple) or not raw_lines:
        raise ValidationError(_("订单至少需要一行产品"), fields={"lines": _("请填写产品")})
    if len(raw_lines) > MAX_LINES:
        raise ValidationError(_("订单明细过多"), fields={"lines": _("最多 200 行")})
    lines = []
    for i, raw in enumerate(raw_lines):
        if not isinstance(raw, Mapping):
            raise ValidationError(_("订单明细格式不正确"), fields={f"lines.{i}": _("格式不正确")})
        name = str(raw.get("product_name") or "").strip()
        if not name or len(name) > 200:
            raise ValidationError(_("请填写产品名称（最多 200 字）"),
                                  fields={f"lines.{i}.product_name": _("请填写产品名称")})
        quantity = _int(raw.get("quantity", 1), f"lines.{i}.quantity", low=1, high=100000,
                        message=_("数量必须是 1 至 100000 的整数"))
        price = parse_amount(raw.get("unit_price", 0), f"lines.{i}.unit_price")
        amount = (price * quantity).quantize(Decimal("0.01"))
        if amount > MAX_AMOUNT:
            raise ValidationError(_("金额过大"), fields={f"lines.{i}.unit_price": _("金额过大")})
        line = {"product_name": name, "quantity": quantity, "unit_price": price,
                "amount": amount}
        for key, size in (("model", 100), ("brand", 50), ("equipment_type", 50)):
            value = str(raw.get(key) or "").strip() or None
            if value and len(value) > size:
                raise ValidationError(_("内容过长"), fields={f"lines.{i}.{key}": _("内容过长")})
            line[key] = value
        line["warranty_months"] = _int(raw.get("warranty_months", 36),
                                       f"lines.{i}.warranty_months", low=0, high=240,
                                       message=_("保修月数必须是 0 至 240 的整数"))
        line["maintenance_cycle_days"] = _int(raw.get("maintenance_cycle_days", 90),
                                              f"lines.{i}.maintenance_cycle_days", low=0,
                                              high=3650,
                                              message=_("维护周期必须是 0 至 3650 天"))
        lines.append(line)
    return lines


def _user_id(ctx: ServiceContext, raw: Any, field: str, *, role: str | None = None) -> int | None:
    """An active user's id (with ``role``: one holding it, as the form's choices are). A
    user outside that circle is refused like a missing one (issue 14 #2, no oracle)."""
    from core.security.models import User

    if raw in (None, ""):
        return None
    user_id = _int(raw, field, low=1, high=2**31 - 1, message=_("用户不存在"))
    user = db.session.get(User, user_id)
    if user is None or not user.active or (role is not None and role not in user.role_codes):
        raise ValidationError(_("用户不存在或已停用"), fields={field: _("用户不存在或已停用")})
    return user_id


def _clean_header(ctx: ServiceContext, data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "delivery_address" in data:
        address = str(data.get("delivery_address") or "").strip() or None
        if address and len(address) > 500:
            raise ValidationError(_("配送地址过长"), fields={"delivery_address": _("最多 500 字")})
        out["delivery_address"] = address
    for key in ("delivery_date", "install_date"):
        if key in data:
            out[key] = parse_date(data.get(key), key)
    if out.get("delivery_date") and out.get("install_date") \
            and out["install_date"] < out["delivery_date"]:
        raise ValidationError(_("计划安装日期不能早于计划配送日期"),
                              fields={"install_date": _("不能早于配送日期")})
    if "engineer_id" in data:
        out["engineer_id"] = _user_id(ctx, data.get("engineer_id"), "engineer_id",
                                      role="engineer")
    if "notes" in data:
        out["notes"] = str(data.get("notes") or "").strip()[:5000] or None
    return out


# --- creating ------------------------------------------------------------------------------


def _new_order(ctx: ServiceContext, customer: Any, lines: list[dict[str, Any]], *,
               opportunity_id: int | None, sales_user_id: int | None,
               header: dict[str, Any]) -> Order:
    order = Order(order_no=next_number(ctx.now), opportunity_id=opportunity_id,
                  customer_id=customer.id, customer_phone=customer.phone, status="pending",
                  sales_user_id=sales_user_id, project_manager_id=sales_user_id,
                  total_amount=sum((line["amount"] for line in lines), Decimal("0")))
    header.setdefault("delivery_address", customer.address)
    for key, value in header.items():
        setattr(order, key, value)
    order.lines = [OrderLine(**line) for line in lines]
    db.session.add(order)
    db.session.flush()
    return order


def create_order(ctx: ServiceContext, data: Mapping[str, Any]) -> Order:
    """A direct order for a visible customer (without an opportunity)."""
    ctx.require("sales.order.create")
    try:
        customer = customer_services.get_customer(ctx, data.get("customer_id") or 0)
    except NotFoundError as exc:
        raise ValidationError(str(customer_services.CUSTOMER_NOT_FOUND),
                              fields={"customer_id": _("客户不存在")}) from exc
    lines = clean_lines(data.get("lines"))
    header = _clean_header(ctx, data)
    owner = data.get("sales_user_id") or ctx.actor_id
    if owner != ctx.actor_id:
        # Whom the actor may give orders to is decided before whether the user exists.
        if not ctx.can("sales.order.assign"):
            raise ValidationError(_("只能为自己创建订单"),
                                  fields={"sales_user_id": _("无权指定负责人")})
        if not may_assign(ctx, owner, "sales.order.assign"):
            raise ValidationError(_("只能分配给本团队成员"),
                                  fields={"sales_user_id": _("只能分配给本团队成员")})
        owner = _user_id(ctx, owner, "sales_user_id")
    order = _new_order(ctx, customer, lines, opportunity_id=None, sales_user_id=owner,
                       header=header)
    audit.record(ctx, order, "create", f"创建订单 {order.order_no}",
                 {"total_amount": [None, str(order.total_amount)]})
    return order


def create_from_opportunity(ctx: ServiceContext, opportunity: Any) -> Order:
    """The order of a won opportunity (crm's ``opportunity_won``): one per opportunity,
    for the won quote's amount (the estimate when it has no quote). A repeat returns the
    existing order. The actor's right to win the deal is the right to make its order."""
    existing = db.session.scalar(select(Order).where(Order.opportunity_id == opportunity.id))
    if existing is not None:
        return existing
    quote = opportunity.current_quote
    total = Decimal(quote.amount if quote is not None else opportunity.estimated_amount or 0)
    quantity = max(int(opportunity.quantity or 1), 1)
    line = {"product_name": opportunity.product_name, "quantity": quantity,
            "unit_price": (total / quantity).quantize(Decimal("0.01")), "amount": total,
            "model": None, "brand": None, "equipment_type": None}
    order = _new_order(ctx, opportunity.customer, [line], opportunity_id=opportunity.id,
                       sales_user_id=opportunity.owner_id or ctx.actor_id, header={})
    audit.record(ctx, order, "create", f"商机 {opportunity.number} 成交，生成订单 {order.order_no}",
                 {"total_amount": [None, str(total)]})
    audit.record(ctx, opportunity, "order", f"生成订单 {order.order_no}", {})
    if ctx.source == "bot" and ctx.chat_id:  # ``#确认订单`` … there then need no number
        from core.bot import remember_card
        from modules.sales.cards import order_card

        remember_card(ctx.chat_id, order_card(order, source=_("新订单")))
    _push(ctx, order, lambda: _("新订单 %(no)s", no=order.order_no),
          lambda: _("%(customer)s · ¥%(amount)s", customer=order.customer.customer_name,
                    amount=f"{order.total_amount:,.2f}"), key=f"sales.created:{order.id}")
    return order


# --- status --------------------------------------------------------------------------------


def change_status(ctx: ServiceContext, ref: str | int, status: str,
                  reason: str | None = None, *, on: date | None = None) -> Order:
    """Move an order one step along pending → confirmed → paid → delivered → installed →
    completed, or cancel it (with a reason) before it is completed. ``installed`` goes
    through :func:`install_order` (it needs the serial numbers)."""
    if status not in STATUSES:
        message = _("状态无效")
        raise ValidationError(message, fields={"status": message})
    if status == "installed":
        return install_order(ctx, ref, [], installed_on=on)
    order = _writable(ctx, ref)
    return _move(ctx, order, status, reason, on=on)


def _move(ctx: ServiceContext, order: Order, status: str, reason: str | None, *,
          on: date | None = None) -> Order:
    ctx.require(STATUS_PERMISSIONS[status])
    if status == order.status:
        return order
    if status not in TRANSITIONS[order.status]:
        raise UserError(_("订单不能从“%(old)s”变为“%(new)s”", old=_(STATUSES[order.status]),
                          new=_(STATUSES[status])))
    reason = (reason or "").strip()
    if status == "cancelled" and not reason:
        raise ValidationError(_("取消订单需要填写原因"), fields={"reason": _("请填写取消原因")})
    if len(reason) > 2000:
        raise ValidationError(_("原因过长"), fields={"reason": _("最多 2000 字")})
    previous = order.status
    today = on or local_date(ctx.now)
    order.status = status
    if status == "confirmed":
        order.confirmed_at = ctx.now
    elif status == "paid":
        order.paid_at = ctx.now
    elif status == "delivered":
        order.delivered_on = today
        for line in order.lines:
            line.delivered_quantity = line.quantity
    elif status == "installed":
        order.installed_on = today
    elif status == "completed":
        order.completed_at = ctx.now
    elif status == "cancelled":
        order.cancelled_at, order.cancel_reason = ctx.now, reason
    db.session.flush()
    audit.record(ctx, order, "status", reason or None, {"status": [previous, status]})
    _push(ctx, order,
          lambda: _("订单 %(no)s：%(old)s → %(new)s", no=order.order_no,
                    old=_(STATUSES[previous]), new=_(STATUSES[status])),
          lambda: order.customer.customer_name + (f" · {reason}" if reason else ""),
          key=f"sales.status:{order.id}:{status}")
    call("order_status_changed", order=order, old=previous, new=status, ctx=ctx)
    return order


def install_order(ctx: ServiceContext, ref: str | int, serials: Iterable[Mapping[str, Any]],
                  *, installed_on: date | str | None = None) -> Order:
    """Mark a delivered order installed: one entry per unit (``line_id``, ``serial_number``,
    ``install_location``); ``equipment`` turns them into equipment records in this same
    transaction. Only delivered lines can be installed, not before the delivery date."""
    ctx.require("sales.order.install")
    order = _writable(ctx, ref)
    if order.status != "delivered":
        raise UserError(_("只有已配送的订单才能登记安装（当前：%(status)s）",
                          status=_(order.status_label)))
    when = parse_date(installed_on, "install_date") or local_date(ctx.now)
    if order.delivered_on and when < order.delivered_on:
        raise ValidationError(_("安装日期不能早于配送日期（%(day)s）", day=order.delivered_on),
                              fields={"install_date": _("不能早于配送日期")})
    if when > local_date(ctx.now):
        raise ValidationError(_("安装日期不能晚于今天"), fields={"install_date": _("不能晚于今天")})
    lines = {line.id: line for line in order.lines}
    installations = []
    for i, raw in enumerate(serials or []):
        if not isinstance(raw, Mapping):
            raise ValidationError(_("序列号格式不正确"), fields={f"serials.{i}": _("格式不正确")})
        try:
            line = lines.get(int(raw.get("line_id") or 0))
        except (TypeError, ValueError):
            line = None
        if line is None:
            raise ValidationError(_("订单明细不存在"),
                                  fields={f"serials.{i}.line_id": _("不属于该订单")})
        if not line.delivered_quantity:
            raise ValidationError(_("“%(product)s”尚未配送，不能安装", product=line.product_name),
                                  fields={f"serials.{i}.line_id": _("尚未配送")})
        serial = str(raw.get("serial_number") or "").strip()
        if not serial or len(serial) > 100:
            raise ValidationError(_("请填写序列号（最多 100 字）"),
                                  fields={f"serials.{i}.serial_number": _("请填写序列号")})
        location = str(raw.get("install_location") or "").strip()[:200] or None
        installations.append({"line": line, "serial_number": serial,
                              "install_location": location, "install_date": when})
    call("order_installed", order=order, installations=installations, ctx=ctx)
    return _move(ctx, order, "installed", None, on=when)


# --- modifications -------------------------------------------------------------------------


def _lines_text(lines: Iterable[Any]) -> str:
    def get(line: Any, key: str) -> Any:
        return line[key] if isinstance(line, Mapping) else getattr(line, key)

    return "；".join(
        f"{get(x, 'product_name')}{' ' + get(x, 'model') if get(x, 'model') else ''}"
        f" × {get(x, 'quantity')} @ ¥{get(x, 'unit_price'):,.2f}" for x in lines)


def update_order(ctx: ServiceContext, ref: str | int, data: Mapping[str, Any],
                 reason: str | None = None) -> Order:
    """Change an order's lines, dates, address or engineer. Before confirmation it is a
    plain edit; afterwards every change is an order modification (who, what, before →
    after, why — a reason is required), pushed to the project and sales owners. Lines can
    no longer change once delivered; nothing changes after completion or cancellation."""
    ctx.require("sales.order.write")
    order = _writable(ctx, ref)
    if order.status in ("completed", "cancelled"):
        raise UserError(_("订单已%(status)s，不能修改", status=_(order.status_label)))
    header = _clean_header(ctx, data)
    new_lines = clean_lines(data["lines"]) if data.get("lines") is not None else None
    if new_lines is not None and order.status in ("delivered", "installed"):
        raise UserError(_("订单已配送，不能再修改明细"))
    planned_delivery = header.get("delivery_date", order.delivery_date)
    planned_install = header.get("install_date", order.install_date)
    if planned_delivery and planned_install and planned_install < planned_delivery:
        raise ValidationError(_("计划安装日期不能早于计划配送日期"),
                              fields={"install_date": _("不能早于配送日期")})
    changes: list[tuple[str, str | None, str | None]] = []
    for key, value in header.items():
        old = getattr(order, key)
        if old != value:
            if key in TRACKED:
                changes.append((key, _text(old), _text(value)))
            setattr(order, key, value)
    if new_lines is not None:
        old_text, new_text = _lines_text(order.lines), _lines_text(new_lines)
        if old_text != new_text:
            changes.append(("lines", old_text, new_text))
            order.lines = [OrderLine(**line) for line in new_lines]
            order.total_amount = sum((line["amount"] for line in new_lines), Decimal("0"))
    reason = (reason or "").strip()
    tracked = order.status != "pending" and changes
    if tracked and not reason:
        raise ValidationError(_("已确认的订单修改需要填写原因"),
                              fields={"reason": _("请填写修改原因")})
    db.session.flush()
    if tracked:
        for field, old, new in changes:
            db.session.add(OrderModification(order_id=order.id, modified_by=ctx.actor_id,
                                             field=field, old_value=old, new_value=new,
                                             reason=reason[:2000], source=ctx.source,
                                             created_at=ctx.now))
        db.session.flush()
        summary = "；".join(f"{TRACKED[f]}：{o or '—'} → {n or '—'}" for f, o, n in changes)
        audit.record(ctx, order, "modify", f"{summary}（原因：{reason}）",
                     {f: [o, n] for f, o, n in changes})
        _push(ctx, order, lambda: _("订单 %(no)s 已修改", no=order.order_no),
              lambda: f"{summary}（{reason}）", key=None,
              to=(order.sales_user_id, order.project_manager_id))
    return order


def _text(value: Any) -> str | None:
    from core.security.models import User

    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        user = db.session.get(User, value)
        return user.display_name or user.username if user else str(value)
    return str(value)


def hand_over(ctx: ServiceContext, customer_ids: list[int], from_user_id: int | None,
              to_user_id: int) -> int:
    """crm's confirmed handover: the customers' open orders of the departing owner (sales
    and project owner) go to the new one. Returns how many moved."""
    orders = list(db.session.scalars(select(Order).where(
        Order.customer_id.in_(customer_ids), Order.status.in_(OPEN_STATUSES),
        Order.sales_user_id == from_user_id if from_user_id is not None
        else Order.sales_user_id.is_(None))))
    for order in orders:
        order.sales_user_id = to_user_id
        if order.project_manager_id in (from_user_id, None):
            order.project_manager_id = to_user_id
        audit.record(ctx, order, "handover", "客户交接，订单转给新负责人",
                     {"sales_user_id": [from_user_id, to_user_id]})
    db.session.flush()
    return len(orders)


# --- pushing -------------------------------------------------------------------------------


def _push(ctx: ServiceContext, order: Order, subject: Any, body: Any, *, key: str | None,
          to: Iterable[int | None] | None = None) -> None:
    """Tell the order's owners (not the actor himself): in-app, and on WeCom when bound."""
    from core.hooks import registry
    from core.notify import notify
    from core.security.models import User

    ids = {i for i in (to or (order.sales_user_id,)) if i and i != ctx.actor_id}
    if not ids or ctx.extra.get("demo"):
        return
    users = list(db.session.scalars(select(User).where(User.id.in_(ids),
                                                       User.active.is_(True))))
    url = f"/sales/orders/{order.id}"
    notify(ctx, users, subject, body, channels=("inapp",), url=url, dedupe_key=key,
           record=order)
    on_wecom = [u for u in users if u.wecom_userid]
    if on_wecom and "wecom" in registry().notification_channels:
        notify(ctx, on_wecom, subject, body, channels=("wecom",), url=url, dedupe_key=key,
               record=order)
