"""Order pages: list, detail (lines, status buttons, modifications, timeline), new, edit,
installation with serial numbers."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import DateField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from core.errors import NotFoundError
from core.errors import TandemError
from core.extensions import db
from core.periods import day_end
from core.periods import day_start
from core.security.access import requires
from core.security.models import Role
from core.security.models import User
from core.services import unit_of_work
from core.timeline import timeline
from core.web.context import web_ctx
from core.web.forms import run_action
from core.web.forms import submit
from core.web.listview import Column
from core.web.listview import Filter
from core.web.listview import ListView
from modules.crm.models.customer import Customer
from modules.crm.queries import customer_choices
from modules.sales import queries
from modules.sales.models import STATUSES
from modules.sales.models import TRANSITIONS
from modules.sales.models import Order
from modules.sales.models import OrderModification
from modules.sales.services import orders as svc
from modules.sales.web.share import shown_link

bp = Blueprint("sales", __name__, url_prefix="/sales", template_folder="templates")
LINE_ROWS = 5  # blank line rows on the form (no script: the CSP forbids inline ones)

ORDERS = ListView(
    Order,
    "sales.index",
    columns=[
        Column("order_no", "订单编号", sort=Order.order_no, link=True),
        Column("customer", "客户", value=lambda o: o.customer.customer_name),
        Column("total_amount", "金额", sort=Order.total_amount, fmt="money"),
        Column("status", "状态", sort=Order.status, value=lambda o: STATUSES[o.status],
               fmt="label"),
        Column("delivery_date", "计划配送", sort=Order.delivery_date),
        Column("install_date", "计划安装", sort=Order.install_date),
        Column("sales_user", "负责人", value=lambda o: o.sales_user.name if o.sales_user else ""),
        Column("created_at", "创建时间", sort=Order.created_at, fmt="datetime"),
    ],
    search=[Order.order_no, Customer.customer_name],
    filters=[Filter("status", "状态", Order.status, STATUSES),
             Filter("created_from", "创建自", Order.created_at, kind="date_from",
                    convert=day_start),
             Filter("created_to", "创建至", Order.created_at, kind="date_to", convert=day_end),
             Filter("install_from", "计划安装自", Order.install_date, kind="date_from",
                    convert=date.fromisoformat),
             Filter("install_to", "计划安装至", Order.install_date, kind="date_to",
                    convert=date.fromisoformat)],
    default_sort="-created_at",
    detail_endpoint="sales.detail",
    live_models="sales_order",
    options=[joinedload(Order.customer).load_only(Customer.customer_name),
             joinedload(Order.sales_user)],
)


@bp.route("/orders")
@requires("sales.order.read")
def index() -> Any:
    ctx = web_ctx()
    base = select(Order).join(Order.customer)
    actions = [(gettext("新建订单"), url_for(".create"))] if ctx.can("sales.order.create") else []
    return ORDERS.respond(ctx, base, title=gettext("订单"), actions=actions)


def _order_or_404(ctx: Any, order_id: int) -> Order:
    try:
        return queries.get_order(ctx, order_id)
    except NotFoundError:
        abort(404)


@bp.route("/orders/<int:id>")
@requires("sales.order.read")
def detail(id: int) -> Any:  # noqa: A002 - the list's link parameter
    ctx = web_ctx()
    order = _order_or_404(ctx, id)
    modifications = list(db.session.scalars(
        select(OrderModification).where(OrderModification.order_id == order.id)
        .options(joinedload(OrderModification.user)).order_by(OrderModification.id.desc())))
    moves = [s for s in ("confirmed", "paid", "delivered", "completed")
             if s in TRANSITIONS[order.status] and ctx.can(svc.STATUS_PERMISSIONS[s])]
    can_install = order.status == "delivered" and ctx.can("sales.order.install")
    can_cancel = "cancelled" in TRANSITIONS[order.status] and ctx.can("sales.order.cancel")
    can_edit = order.status not in ("completed", "cancelled") and ctx.can("sales.order.write")
    return render_template(
        "sales/order_detail.html", order=order, modifications=modifications, moves=moves,
        can_install=can_install, can_cancel=can_cancel, can_edit=can_edit, statuses=STATUSES,
        entries=timeline("sales_order", order.id), timeline_target=("sales_order", order.id),
        share_link=shown_link(order.id),
        equipment_links=_equipment_links(order))


def _equipment_links(order: Order) -> list[tuple[str, str]]:
    """The units installed for the order (from the modules answering ``order_units``)."""
    return [(f"{u['equipment_no']} · {u['serial_number'] or ''}", u["url"])
            for u in queries.order_units(web_ctx(), order)]


@bp.route("/orders/<int:order_id>/status", methods=["POST"])
@requires("sales.order.read")
def status(order_id: int) -> Any:
    new = request.form.get("status", "")
    reason = request.form.get("reason")
    label = gettext(STATUSES.get(new, new))
    return run_action(lambda ctx: svc.change_status(ctx, order_id, new, reason),
                      gettext("订单已更新为“%(status)s”", status=label),
                      url_for(".detail", id=order_id))


def _engineers() -> list[tuple[str, str]]:
    users = db.session.scalars(select(User).where(User.active.is_(True),
                                                  User.roles.any(Role.code == "engineer"))
                               .order_by(User.display_name, User.id))
    return [("", "—"), *((str(u.id), u.name) for u in users)]


class OrderForm(FlaskForm):
    customer_id = SelectField(_l("客户"), coerce=int, validators=[DataRequired()])
    delivery_address = StringField(_l("配送地址"), validators=[Optional(), Length(max=500)])
    delivery_date = DateField(_l("计划配送日期"), validators=[Optional()])
    install_date = DateField(_l("计划安装日期"), validators=[Optional()])
    engineer_id = SelectField(_l("安装工程师"), validators=[Optional()], validate_choice=False)
    notes = TextAreaField(_l("备注"), validators=[Optional(), Length(max=5000)])
    reason = StringField(_l("修改原因"), validators=[Optional(), Length(max=2000)])

    def lines(self) -> list[dict[str, Any]]:
        """The filled line rows of the form (``line-<n>-<field>``)."""
        out = []
        for n in range(LINE_ROWS):
            row = {k: (request.form.get(f"line-{n}-{k}") or "").strip()
                   for k in ("product_name", "model", "brand", "equipment_type", "quantity",
                             "unit_price")}
            if any(row.values()):
                out.append({k: v for k, v in row.items() if v != ""})
        return out

    def service_data(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id.data, "lines": self.lines(),
                "delivery_address": self.delivery_address.data,
                "delivery_date": self.delivery_date.data,
                "install_date": self.install_date.data,
                "engineer_id": self.engineer_id.data or None, "notes": self.notes.data}


def _line_rows(order: Order | None) -> list[dict[str, Any]]:
    if request.method == "POST":
        return [{k: request.form.get(f"line-{n}-{k}", "") for k in
                 ("product_name", "model", "brand", "equipment_type", "quantity",
                  "unit_price")} for n in range(LINE_ROWS)]
    rows = [{"product_name": x.product_name, "model": x.model or "", "brand": x.brand or "",
             "equipment_type": x.equipment_type or "", "quantity": x.quantity,
             "unit_price": x.unit_price} for x in (order.lines if order else [])]
    return rows + [{}] * max(LINE_ROWS - len(rows), 0)


@bp.route("/orders/new", methods=["GET", "POST"])
@requires("sales.order.create")
def create() -> Any:
    form = OrderForm()
    form.engineer_id.choices = _engineers()
    form.customer_id.choices = customer_choices(
        web_ctx(), request.form.get("customer_id") or request.args.get("customer_id"))
    if request.method == "GET" and request.args.get("customer_id", "").isdigit():
        form.customer_id.data = int(request.args["customer_id"])
    done, order = submit(form, lambda ctx: svc.create_order(ctx, form.service_data()))
    if done:
        flash(gettext("订单 %(no)s 已创建", no=order.order_no), "success")
        return redirect(url_for(".detail", id=order.id))
    return render_template("sales/order_form.html", form=form, order=None,
                           line_rows=_line_rows(None))


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@requires("sales.order.write")
def edit(order_id: int) -> Any:
    ctx = web_ctx()
    order = _order_or_404(ctx, order_id)
    form = OrderForm(obj=order if request.method == "GET" else None)
    form.engineer_id.choices = _engineers()
    if request.method == "GET":
        form.engineer_id.data = str(order.engineer_id or "")
    form.customer_id.choices = [(order.customer_id, order.customer.customer_name)]
    form.customer_id.data = order.customer_id

    def action(ctx: Any) -> Order:
        data = form.service_data()
        data.pop("customer_id")
        if order.status in ("delivered", "installed"):
            data.pop("lines")
        return svc.update_order(ctx, order_id, data, form.reason.data)

    done, _ = submit(form, action)
    if done:
        flash(gettext("订单已保存"), "success")
        return redirect(url_for(".detail", id=order_id))
    return render_template("sales/order_form.html", form=form, order=order,
                           line_rows=_line_rows(order))


@bp.route("/orders/<int:order_id>/install", methods=["GET", "POST"])
@requires("sales.order.install")
def install(order_id: int) -> Any:
    ctx = web_ctx()
    order = _order_or_404(ctx, order_id)
    units = [(line, n) for line in order.lines for n in range(line.delivered_quantity)]
    if request.method == "POST":
        serials = [{"line_id": line.id,
                    "serial_number": request.form.get(f"serial-{line.id}-{n}", ""),
                    "install_location": request.form.get(f"location-{line.id}-{n}", "")}
                   for line, n in units]
        try:
            with unit_of_work(ctx):
                svc.install_order(ctx, order_id, serials,
                                  installed_on=request.form.get("install_date") or None)
        except TandemError as exc:
            flash(exc.message, "danger")
        else:
            flash(gettext("已登记安装，设备档案已创建"), "success")
            return redirect(url_for(".detail", id=order_id))
    return render_template("sales/order_install.html", order=order, units=units)
