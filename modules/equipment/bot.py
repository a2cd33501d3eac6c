"""Equipment chat commands: ``#生成维护工单 [EQ编号]`` (or the reminder card's button) and
``#查询设备 客户名称``."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from core.errors import ValidationError
from core.extensions import db
from core.registration import BotCommand
from core.registration import CardAction
from modules.crm.models.customer import Customer
from modules.crm.queries import customer_select
from modules.equipment.models import WARRANTY_STATUSES
from modules.equipment.models import Equipment
from modules.equipment.push import MODEL
from modules.equipment.services import equipment as svc
from modules.equipment.services.maintenance import request_maintenance_order

LIMIT = 10


def _lookup(ctx: Any) -> Any:
    return lambda value: svc.get_equipment(ctx, f"EQ{value}" if value.isdigit()
                                           and len(value) > 6 else value)


def _order_reply(ctx: Any, equipment: Equipment) -> str:
    kind, ref, created = request_maintenance_order(ctx, equipment.id)
    if kind == "ticket":
        text = _("已生成维护工单 %(ref)s：%(name)s", ref=ref, name=equipment.display_name)
    else:
        text = _("已生成维护记录 #%(ref)s（待填写）：%(name)s", ref=ref,
                 name=equipment.display_name)
    return text if created else _("维护工单已存在：%(text)s", text=text)


def maintenance_order(ctx: Any, call: Any) -> str:
    equipment, _rest = call.resolve(_lookup(ctx), by_id=lambda value: svc.get_equipment(
        ctx, int(value)))
    return _order_reply(ctx, equipment)


def maintenance_order_clicked(ctx: Any, click: Any) -> Any:
    """The reminder card's button: the same service; the clicker's card shows the result."""
    from modules.equipment.push import reminder_card

    equipment = svc.get_equipment(ctx, click.record_id())
    due = equipment.next_maintenance_date or svc.today(ctx)
    text = _order_reply(ctx, equipment)
    return reminder_card(equipment, due, source=_("已生成维护工单"), done=text)


def find(ctx: Any, call: Any) -> str:
    """#查询设备 客户名称: the caller's visible equipment of the matching customers."""
    name = call.args.strip()
    if not name:
        raise ValidationError(_("请写客户名称，例如：#查询设备 ABC公司"))
    customers = customer_select(ctx, Customer.id).where(
        Customer.customer_name.ilike(f"%{name[:100]}%"))
    rows = list(db.session.scalars(
        svc.equipment_select(ctx).where(Equipment.customer_id.in_(customers))
        .options(joinedload(Equipment.customer)).order_by(Equipment.customer_id, Equipment.id)
        .limit(LIMIT + 1)))
    if not rows:
        return _("没有找到“%(name)s”的设备", name=name)
    on = svc.today(ctx)
    lines = [_("**%(name)s 的设备**", name=name)]
    for e in rows[:LIMIT]:
        warranty = svc.warranty_status(e, on)
        lines.append(f"> {e.equipment_no} {e.display_name} · {e.serial_number or '—'} · "
                     + _("保修：%(w)s", w=_(WARRANTY_STATUSES[warranty]) if warranty else "—")
                     + " · " + _("下次维护：%(d)s", d=e.next_maintenance_date or "—"))
    if len(rows) > LIMIT:
        lines.append(_("…（仅显示前 %(n)s 台，请在网页查看全部）", n=LIMIT))
    return "\n".join(lines)


def commands() -> list[BotCommand]:
    return [
        BotCommand("生成维护工单", maintenance_order, "equipment.maintenance.write",
                   _l("为维护提醒中的设备生成维护工单"), _l("#生成维护工单 [EQ编号]"),
                   model=MODEL, reference="EQ"),
        BotCommand("查询设备", find, "equipment.equipment.read", _l("按客户名称查询设备"),
                   _l("#查询设备 客户名称"), extra={"slow": True}),
    ]


def card_actions() -> list[CardAction]:
    return [CardAction("equipment.maintenance.order", maintenance_order_clicked,
                       "equipment.maintenance.write")]


