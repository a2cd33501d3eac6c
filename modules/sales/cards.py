"""The order's chat card (the bot's answers, the chat context after ``#成交``)."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import pgettext

from core.bot import Card
from core.bot import CardButton
from modules.sales.models import Order

MODEL = "sales_order"


def url(order: Order) -> str:
    return f"{current_app.config['TANDEM_BASE_URL'].rstrip('/')}/sales/orders/{order.id}"


def order_card(order: Order, source: str | None = None) -> Card:
    fields = [(pgettext("card", "客户"), order.customer.customer_name),
              (_("状态"), _(order.status_label)),
              (_("负责人"), order.sales_user.name if order.sales_user else "—")]
    if order.delivery_date:
        fields.append((_("计划配送"), order.delivery_date.isoformat()))
    if order.install_date:
        fields.append((_("计划安装"), order.install_date.isoformat()))
    return Card(title=_("订单 %(no)s", no=order.order_no), source=source or _("订单"),
                emphasis=(_("订单金额"), f"¥{order.total_amount:,.2f}"),
                description="；".join(f"{x.product_name} × {x.quantity}" for x in order.lines),
                fields=fields, url=url(order),
                buttons=[CardButton.link(pgettext("card", "查看"), url(order))],
                record=(MODEL, order.id))
