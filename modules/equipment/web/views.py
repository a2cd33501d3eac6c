"""Equipment pages: list (filters customer, type, brand, warranty status, maintenance due),
the equipment 360° view (sections from every module), edit, maintenance records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from markupsafe import escape
from sqlalchemy.orm import aliased
from sqlalchemy.orm import joinedload
from wtforms import DateField
from wtforms import DecimalField
from wtforms import IntegerField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional

from core.cache import app_cached
from core.cache import app_kept
from core.cache import request_cached
from core.errors import NotFoundError
from core.extensions import db
from core.hooks import call
from core.security.access import requires
from core.security.models import User
from core.timeline import timeline
from core.web.context import web_ctx
from core.web.escaping import html_text
from core.web.forms import run_action
from core.web.forms import submit
from core.web.links import record_url
from core.web.listview import Column
from core.web.listview import Filter
from core.web.listview import ListView
from core.web.templating import translated
from modules.crm.models.customer import Customer
from modules.equipment import plans
from modules.equipment.models import MAINTENANCE_TYPES
from modules.equipment.models import STATUSES
from modules.equipment.models import WARRANTY_STATUSES
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceRecord
from modules.equipment.queries import values_in_use
from modules.equipment.services import equipment as svc
from modules.equipment.services import maintenance

bp = Blueprint("equipment", __name__, url_prefix="/equipment", template_folder="templates")


def _warranty_label(e: Equipment) -> str:
    """The row's warranty status today (the day and the threshold read once a request)."""
    on, days = request_cached("equipment.warranty_today",
                              lambda: (svc.today(web_ctx()), svc.expiring_days()))
    status = plans.warranty_status(e.warranty_end_date, on, days)
    return WARRANTY_STATUSES[status] if status else "—"


_CUSTOMER = aliased(Customer)  # made once: the statement stays cached


def _list_rows(stmt: Any) -> Any:
    """What a row of the list shows, as plain columns (no ORM objects): the unit's and its
    customer's name."""
    return (stmt.with_only_columns(
        Equipment.id, Equipment.equipment_no, _CUSTOMER.customer_name,
        Equipment.equipment_type, Equipment.brand, Equipment.model, Equipment.serial_number,
        Equipment.install_location, Equipment.warranty_end_date,
        Equipment.next_maintenance_date, Equipment.status, maintain_column_froms=True)
        .join_from(Equipment, _CUSTOMER, _CUSTOMER.id == Equipment.customer_id))


EQUIPMENT = ListView(
    Equipment,
    "equipment.index",
    columns=[
        Column("equipment_no", "设备编号", sort=Equipment.equipment_no, link=True),
        Column("customer", "客户", value=lambda e: e.customer_name),
        Column("equipment_type", "设备类型", sort=Equipment.equipment_type),
        Column("brand", "品牌", sort=Equipment.brand),
        Column("model", "型号"),
        Column("serial_number", "序列号"),
        Column("install_location", "安装位置"),
        Column("warranty_end_date", "保修截止", sort=Equipment.warranty_end_date),
        Column("warranty", "保修状态", value=_warranty_label, fmt="label"),
        Column("next_maintenance_date", "下次维护", sort=Equipment.next_maintenance_date),
        Column("status", "状态", value=lambda e: STATUSES[e.status], fmt="label"),
    ],
    search=[Equipment.equipment_no, Equipment.serial_number, Customer.customer_name],
    filters=[
        Filter("status", "状态", Equipment.status, STATUSES),
        Filter("warranty_end_from", "保修截止从", Equipment.warranty_end_date,
               convert=date.fromisoformat, kind="date_from"),
        Filter("warranty_end_to", "保修截止至", Equipment.warranty_end_date,
               convert=date.fromisoformat, kind="date_to"),
    ],
    default_sort="-id",
    detail_endpoint="equipment.detail",
    live_models="equipment_equipment",
    row_select=lambda stmt, _ctx: _list_rows(stmt),
)


def _base(ctx: Any) -> Any:
    args = request.args
    customer_id = args.get("customer_id", "")
    warranty = args.get("warranty") or None
    if warranty not in (None, *WARRANTY_STATUSES):
        abort(400)
    due = args.get("due_days", "")
    due_days = int(due) if due.isdigit() and int(due) <= 3650 else None
    stmt = svc.search_equipment(
        ctx, customer_id=int(customer_id) if customer_id.isdigit() and
        int(customer_id) < 2**31 else None,
        equipment_type=args.get("equipment_type") or None, brand=args.get("brand") or None,
        warranty=warranty,
        due_before=svc.today(ctx) + timedelta(days=due_days) if due_days is not None else None)
    # The customer's name is searched only with a search term: no join (and no join in the
    # capped count) otherwise.
    return stmt.join(Equipment.customer) if args.get("q") else stmt


CHOICES_TTL = 300.0


def _choices(column: Any) -> list[str]:
    """The types or brands of the units the reader may see, for the filters: a DISTINCT
    over his units, so kept per app and reader for five minutes (a new brand, or a
    customer newly his, shows up in the filter a little later)."""
    ctx = web_ctx()
    return app_kept(("equipment.choices", str(column), ctx.actor_id),
                    lambda: values_in_use(ctx, column), CHOICES_TTL)


DUE_CHOICES = {"0": "已到期/逾期", "7": "7天内", "30": "30天内"}


def _select(name: str, label: str, choices: tuple[tuple[str, str], ...], current: str, *,
            translate: bool) -> Markup:
    """A filter's ``<select>``, written once per app, language, choices and chosen value
    (only a value among the choices is kept: the query string is the reader's)."""

    def write() -> Markup:
        title = gettext(label)
        options = "".join(
            f'<option value="{escape(value)}"{" selected" if value == current else ""}>'
            f"{escape(gettext(text) if translate else text)}</option>"
            for value, text in choices)
        return Markup(f'<select class="form-select form-select-sm" name="{name}" '
                      f'aria-label="{escape(title)}"><option value="">{escape(title)}</option>'
                      f"{options}</select>")

    if current and all(value != current for value, _text in choices):
        return write()
    return app_cached(("equipment.select", name, str(get_locale()), current, choices), write)


def _filter_controls(args: Any) -> list[Markup]:
    """The list's own filters (type, brand, warranty, due) as HTML: the table's columns'
    filters come from ``ListView.filters``."""
    types = tuple((t, t) for t in _choices(Equipment.equipment_type))
    brands = tuple((b, b) for b in _choices(Equipment.brand))
    return [
        _select("equipment_type", "设备类型", types, args.get("equipment_type", ""),
                translate=False),
        _select("brand", "品牌", brands, args.get("brand", ""), translate=False),
        _select("warranty", "保修状态", tuple(WARRANTY_STATUSES.items()),
                args.get("warranty", ""), translate=True),
        _select("due_days", "维护到期", tuple(DUE_CHOICES.items()), args.get("due_days", ""),
                translate=True),
    ]


def _row_cells() -> Callable[[Any], str]:
    """A row's ``<td>`` cells (a row of :func:`_list_rows`), written in Python in one piece:
    labels translated once a page, the warranty status computed from the row's end date."""
    detail = record_url("equipment.detail")
    on, days = svc.today(web_ctx()), svc.expiring_days()
    warranty = {k: str(escape(v)) for k, v in translated(WARRANTY_STATUSES).items()}
    statuses = {k: str(escape(v)) for k, v in translated(STATUSES).items()}
    status_of = plans.warranty_status

    text = html_text  # a local name: looked up hundreds of times a page

    def cells(row: Any) -> str:
        (id_, number, customer, kind, brand, model, serial, location, warranty_end,
         next_date, status) = row[:11]
        state = status_of(warranty_end, on, days)
        return (f'<td><a href="{detail(id_)}">{text(number)}</a></td>'
                f"<td>{text(customer)}</td><td>{text(kind)}</td><td>{text(brand)}</td>"
                f"<td>{text(model)}</td><td>{text(serial)}</td><td>{text(location)}</td>"
                f"<td>{warranty_end.isoformat() if warranty_end else ''}</td>"
                f"<td>{warranty[state] if state else '—'}</td>"
                f"<td>{next_date.isoformat() if next_date else ''}</td>"
                f"<td>{statuses.get(status) or text(status)}</td>")

    return cells


def _page(title: str) -> Any:
    ctx = web_ctx()
    args = request.args
    active = sum(1 for key in ("equipment_type", "brand", "warranty", "due_days",
                               *(f.key for f in EQUIPMENT.filters)) if args.get(key))
    return EQUIPMENT.respond(
        ctx, _base(ctx), title=title, template="equipment/list.html", cells=_row_cells(),
        controls=_filter_controls(args), n_active=active,
        customer_id=args.get("customer_id", ""))


@bp.route("/")
@requires("equipment.equipment.read")
def index() -> Any:
    return _page(gettext("设备档案"))


@bp.route("/due")
@requires("equipment.equipment.read")
def due() -> Any:
    return redirect(url_for(".index", due_days=request.args.get("due_days", "7")))


@bp.route("/reliability")
@requires("equipment.equipment.read")
def reliability() -> Any:
    """型号可靠性: MTBF and MTTR per model of the units the reader may see."""
    from modules.equipment.reliability import model_reliability

    ctx = web_ctx()
    brand = request.args.get("brand") or None
    return render_template("equipment/reliability.html",
                           models=model_reliability(ctx, svc.today(ctx), brand=brand),
                           brands=_choices(Equipment.brand), brand=brand)


def _equipment_or_404(ctx: Any, equipment_id: int) -> Equipment:
    try:
        return svc.get_equipment(ctx, equipment_id)
    except NotFoundError:
        abort(404)


def sections(equipment: Equipment, ctx: Any) -> list[dict[str, Any]]:
    """The 360° view's sections from every installed module, by sequence, filtered by
    permission; each renders with a fixed number of queries."""
    found = [s for answer in (call("register_equipment_sections") or []) for s in answer or []]
    out = []
    for section in sorted(found, key=lambda s: (s.sequence, s.id)):
        if section.permission and not ctx.can(section.permission):
            continue
        out.append({"id": section.id, "title": section.title,
                    "html": Markup(section.render(equipment, ctx))})  # noqa: S704 - rendered templates
    return out


# The 360° view's unit with what its header shows (customer, engineer without his roles), in
# the unit's statement rather than one lazy load each.
_DETAIL = (joinedload(Equipment.customer),
           joinedload(Equipment.engineer).lazyload(User.roles))


@bp.route("/<int:id>")
@requires("equipment.equipment.read")
def detail(id: int) -> Any:  # noqa: A002 - the list's link parameter
    ctx = web_ctx()
    try:
        equipment = svc.get_equipment(ctx, id, options=_DETAIL)
    except NotFoundError:
        abort(404)
    on = svc.today(ctx)
    return render_template(
        "equipment/detail.html", equipment=equipment, warranty=svc.warranty_status(equipment, on),
        warranty_labels=WARRANTY_STATUSES, sections=sections(equipment, ctx),
        entries=timeline("equipment_equipment", equipment.id),
        timeline_target=("equipment_equipment", equipment.id), types=MAINTENANCE_TYPES,
        record_form=RecordForm(formdata=None), today=on)


class EquipmentForm(FlaskForm):
    install_location = StringField(_l("安装位置"), validators=[Optional(), Length(max=200)])
    serial_number = StringField(_l("序列号"), validators=[DataRequired(), Length(max=100)])
    warranty_months = IntegerField(_l("保修月数"), validators=[NumberRange(0, 240)])
    maintenance_cycle_days = IntegerField(_l("维护周期（天）"), validators=[NumberRange(0, 3650)])
    maintenance_cycle_months = IntegerField(_l("维护周期（月，填写后按月计算）"),
                                            validators=[NumberRange(0, 120)])
    next_maintenance_date = DateField(_l("下次维护日期"), validators=[Optional()])
    status = SelectField(_l("状态"), choices=[(k, _l(v)) for k, v in STATUSES.items()])
    status_reason = StringField(_l("原因（维修/报废必填）"),
                                validators=[Optional(), Length(max=2000)])


@bp.route("/<int:equipment_id>/edit", methods=["GET", "POST"])
@requires("equipment.equipment.write")
def edit(equipment_id: int) -> Any:
    ctx = web_ctx()
    equipment = _equipment_or_404(ctx, equipment_id)
    form = EquipmentForm(obj=equipment if request.method == "GET" else None)
    if request.method == "GET":
        form.status_reason.data = ""

    def action(ctx: Any) -> Equipment:
        data = {k: getattr(form, k).data for k in (
            "install_location", "serial_number", "warranty_months", "maintenance_cycle_days",
            "maintenance_cycle_months", "status", "status_reason")}
        if form.next_maintenance_date.data != equipment.next_maintenance_date:
            data["next_maintenance_date"] = form.next_maintenance_date.data
        return svc.update_equipment(ctx, equipment_id, data)

    done, _ = submit(form, action)
    if done:
        flash(gettext("设备档案已保存"), "success")
        return redirect(url_for(".detail", id=equipment_id))
    return render_template("equipment/form.html", form=form, equipment=equipment)


class RecordForm(FlaskForm):
    maintenance_type = SelectField(_l("维护类型"),
                                   choices=[(k, _l(v)) for k, v in MAINTENANCE_TYPES.items()])
    maintenance_date = DateField(_l("维护日期"), validators=[Optional()])
    work_description = TextAreaField(_l("工作内容"), validators=[DataRequired(),
                                                              Length(max=5000)])
    parts_replaced = StringField(_l("更换配件"), validators=[Optional(), Length(max=5000)])
    cost = DecimalField(_l("费用"), places=2, validators=[Optional(), NumberRange(0)])
    next_maintenance_date = DateField(_l("建议下次维护日期"), validators=[Optional()])

    def data_for_service(self) -> dict[str, Any]:
        return {k: getattr(self, k).data for k in (
            "maintenance_type", "maintenance_date", "work_description", "parts_replaced",
            "cost", "next_maintenance_date")}


@bp.route("/<int:equipment_id>/maintenance-records", methods=["POST"])
@requires("equipment.maintenance.write")
def add_record(equipment_id: int) -> Any:
    form = RecordForm()
    done, _ = submit(form, lambda ctx: maintenance.add_record(ctx, equipment_id,
                                                              form.data_for_service()))
    if done:
        flash(gettext("维护记录已保存"), "success")
    elif not any(f.errors for f in form):
        pass
    else:
        for field in form:
            for error in field.errors:
                flash(gettext("%(label)s：%(error)s", label=field.label.text, error=error),
                      "danger")
    return redirect(url_for(".detail", id=equipment_id) + "#section-maintenance")


@bp.route("/maintenance-records/<int:record_id>", methods=["GET", "POST"])
@requires("equipment.maintenance.write")
def complete_record(record_id: int) -> Any:
    ctx = web_ctx()
    record = db.session.get(MaintenanceRecord, record_id)
    if record is None:
        abort(404)
    equipment = _equipment_or_404(ctx, record.equipment_id)
    form = RecordForm(obj=record if request.method == "GET" else None)
    done, _ = submit(form, lambda ctx: maintenance.complete_record(
        ctx, record_id, form.data_for_service()))
    if done:
        flash(gettext("维护记录已完成"), "success")
        return redirect(url_for(".detail", id=equipment.id))
    return render_template("equipment/record_form.html", form=form, record=record,
                           equipment=equipment)


@bp.route("/<int:equipment_id>/maintenance-order", methods=["POST"])
@requires("equipment.maintenance.write")
def maintenance_order(equipment_id: int) -> Any:
    return run_action(lambda ctx: maintenance.request_maintenance_order(ctx, equipment_id),
                      gettext("已生成维护工单"), url_for(".detail", id=equipment_id))
