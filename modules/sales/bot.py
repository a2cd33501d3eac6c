"""Order chat commands: ``#订单`` shows one, ``#确认订单`` ``#已付款`` ``#已配送``
``#已安装 序列号…`` ``#完成订单`` ``#取消订单 原因`` move it. Without an ``SO…`` number a
command acts on the order of the last order card in the chat (``#成交`` leaves one)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.bot import Card
from core.errors import ValidationError
from core.registration import BotCommand
from modules.sales import queries
from modules.sales.cards import MODEL
from modules.sales.cards import order_card
from modules.sales.models import Order
from modules.sales.services import orders as svc


def _resolve(ctx: Any, call: Any) -> tuple[Order, str]:
    return call.resolve(lambda value: queries.get_order(ctx, f"SO{value}"),
                        by_id=lambda value: queries.get_order(ctx, int(value)))


def show(ctx: Any, call: Any) -> Card:
    order, _rest = _resolve(ctx, call)
    return order_card(order)


def _mover(status: str) -> Any:
    def handler(ctx: Any, call: Any) -> Card:
        order, rest = _resolve(ctx, call)
        reason = rest.strip() or None
        if status == "cancelled" and not reason:
            raise ValidationError(_("请写取消原因，例如：#取消订单 SO202612040001 客户预算取消"))
        moved = svc.change_status(ctx, order.id, status, reason)
        return order_card(moved, source=_(moved.status_label))

    return handler


def installed(ctx: Any, call: Any) -> str:
    """#已安装 [SO编号] 序列号1 序列号2@3楼 …: one serial per delivered unit, in line order;
    ``@位置`` after a serial gives its install location."""
    order, rest = _resolve(ctx, call)
    tokens = rest.replace("，", " ").replace(",", " ").split()
    units = [line for line in order.lines for _n in range(line.delivered_quantity)]
    if len(tokens) != len(units):
        raise ValidationError(_("请为每台已配送设备写序列号（共 %(n)s 台），例如：#已安装 %(no)s "
                                "SN001@3楼 SN002@4楼", n=len(units), no=order.order_no))
    serials = []
    for line, token in zip(units, tokens, strict=True):
        serial, _sep, location = token.partition("@")
        serials.append({"line_id": line.id, "serial_number": serial,
                        "install_location": location or None})
    svc.install_order(ctx, order.id, serials)
    lines = [_("%(no)s 已安装 %(n)s 台设备", no=order.order_no, n=len(serials))]
    for unit in queries.order_units(ctx, order):
        lines.append("> " + _("%(no)s 序列号 %(serial)s，保修至 %(end)s",
                              no=unit["equipment_no"], serial=unit["serial_number"],
                              end=unit["warranty_end_date"] or "—"))
    return "\n".join(lines)


def commands() -> list[BotCommand]:
    common = {"model": MODEL, "reference": "SO"}
    return [
        BotCommand("订单", show, "sales.order.read", _l("查看订单"), _l("#订单 [SO编号]"),
                   **common),
        BotCommand("确认订单", _mover("confirmed"), "sales.order.write", _l("确认订单"),
                   _l("#确认订单 [SO编号]"), **common),
        BotCommand("已付款", _mover("paid"), "sales.order.pay", _l("登记订单已付款"),
                   _l("#已付款 [SO编号]"), **common),
        BotCommand("已配送", _mover("delivered"), "sales.order.deliver", _l("登记订单已配送"),
                   _l("#已配送 [SO编号]"), **common),
        BotCommand("已安装", installed, "sales.order.install",
                   _l("登记安装并建立设备档案（每台一个序列号）"),
                   _l("#已安装 [SO编号] 序列号1@位置 序列号2 …"), **common),
        BotCommand("完成订单", _mover("completed"), "sales.order.write", _l("完成订单"),
                   _l("#完成订单 [SO编号]"), **common),
        BotCommand("取消订单", _mover("cancelled"), "sales.order.cancel",
                   _l("取消订单（需写原因）"),
                   _l("#取消订单 [SO编号] 原因"), **common),
    ]
