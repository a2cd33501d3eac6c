"""Customer web pages: list (filters, search, sort, CSV/Excel export), create/edit, and the
360° detail with contacts and follow-ups."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from datetime import datetime
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup
from markupsafe import escape
from sqlalchemy import Row
from sqlalchemy import Select
from sqlalchemy import false
from sqlalchemy.orm import aliased
from sqlalchemy.orm import selectinload

from core.hooks import registry
from core.security.access import requires
from core.security.models import User
from core.services import ServiceContext
from core.services import unit_of_work
from core.web.context import web_ctx
from core.web.escaping import html_text
from core.web.forms import submit
from core.web.links import record_url
from core.web.listview import Column
from core.web.listview import Filter
from core.web.listview import ListView
from core.web.templating import local_dt_formatter
from core.web.templating import translated
from modules.crm import queries
from modules.crm.models.customer import CUSTOMER_LEVELS
from modules.crm.models.customer import CUSTOMER_STATUSES
from modules.crm.models.customer import CUSTOMER_TYPES
from modules.crm.models.customer import Customer
from modules.crm.models.customer import customer_number
from modules.crm.models.customer import split_tags
from modules.crm.services import contacts as contact_service
from modules.crm.services import customers as customer_service
from modules.crm.services import follow_ups as follow_up_service
from modules.crm.web.forms import ContactForm
from modules.crm.web.forms import CustomerForm
from modules.crm.web.forms import FollowUpForm

log = logging.getLogger(__name__)

def beijing_day(value: str) -> datetime:
    """``2026-12-01`` → its first moment in Beijing (a list's date filter)."""
    return datetime.combine(date.fromisoformat(value), time.min, ZoneInfo("Asia/Shanghai"))


bp = Blueprint("crm_customers", __name__, url_prefix="/crm/customers", template_folder="templates")

_OWNER = aliased(User)  # made once: the statement stays in SQLAlchemy's cache


def _list_rows(stmt: Select, ctx: Any) -> Select:
    """What a row of the list shows, as plain columns, and whether its phone is hidden from
    the actor (the pool hides fields from claimers)."""
    hidden = queries.hidden_where(ctx, "phone")
    return (stmt.with_only_columns(
        Customer.id, Customer.customer_type, Customer.customer_name, Customer.phone,
        Customer.customer_level, Customer.tags, Customer.status, Customer.last_follow_up_at,
        _OWNER.name.label("owner_name"),
        (hidden if hidden is not None else false()).label("phone_hidden"),
        maintain_column_froms=True)
        .outerjoin_from(Customer, _OWNER, _OWNER.id == Customer.owner_id))


CUSTOMERS = ListView(
    Customer,
    "crm_customers.index",
    columns=[
        Column("id", "客户编号", sort=Customer.id),
        Column("customer_name", "客户名称", sort=Customer.customer_name, link=True),
        Column("last_follow_up", "最后跟进", sort=Customer.last_follow_up_at, fmt="datetime"),
        Column("updated_at", "更新时间", sort=Customer.updated_at, fmt="datetime"),
    ],
    filters=[
        Filter("customer_type", "类型", Customer.customer_type, CUSTOMER_TYPES),
        Filter("customer_level", "分级", Customer.customer_level, CUSTOMER_LEVELS),
        Filter("status", "状态", Customer.status, CUSTOMER_STATUSES),
        Filter("created_from", "创建起始", Customer.created_at, kind="date_from",
               convert=beijing_day),
    ],
    default_sort="-updated_at",
    row_select=_list_rows,
    live_models="crm_customer",
)


def _export_view(ctx: Any) -> ListView:
    """The export carries every field, not only the table's columns (hidden ones masked)."""
    return ListView(
        Customer,
        "crm_customers.index",
        columns=[Column(key, label, value=queries.masked(ctx, key, fn))
                 for key, label, fn in queries.EXPORT_COLUMNS],
        options=[selectinload(Customer.owner).lazyload(User.roles)],
    )


@bp.route("/")
@requires("crm.customer.read")
def index() -> Any:
    ctx = web_ctx()
    base = queries.search_customers(
        ctx,
        q=request.args.get("q"),
        tag=request.args.get("tag"),
        mine=request.args.get("mine") == "1",
    )
    title = "客户"
    if request.args.get("follow") == "due":  # the workspace's 今日待跟进
        from modules.crm.workspace import due_customer_ids

        base = base.where(Customer.id.in_(due_customer_ids(ctx).scalar_subquery()))
        title = "今日待跟进的客户"
    fmt = request.args.get("export")
    if fmt in ("csv", "xlsx"):
        ctx.require("crm.customer.export")
        stmt, _active, _sort = CUSTOMERS.query(ctx, base)
        return _export_view(ctx).export(stmt, "id", fmt, ctx)  # by customer number
    return CUSTOMERS.respond(
        ctx,
        base,
        title=title,
        template="crm/customer_list.html",
        actions=[("新建客户", url_for(".create"))] if ctx.can("crm.customer.create") else [],
        cells=_row_cells(),
    )


LEVEL_BADGES = {"important": "danger", "normal": "secondary", "potential": "info"}


def _row_cells() -> Callable[[Row], str]:
    """The ``<td>`` cells of a customer row (of :func:`_list_rows`), built in Python: a page
    has 50 rows of nine cells, and Jinja's per-expression overhead made them most of the
    page's time. Labels are translated once per page; a hidden phone is masked."""
    detail = record_url("crm_customers.detail", "customer_id")
    types, levels, statuses = ({k: escape(v) for k, v in translated(m).items()}
                               for m in (CUSTOMER_TYPES, CUSTOMER_LEVELS, CUSTOMER_STATUSES))
    hidden_mark = escape(_("（已隐藏）"))
    when = local_dt_formatter()

    def cells(row: Row) -> str:
        # Unpacked in _list_rows's order: a Row's attributes by name cost more than the rest.
        (id_, kind, name, phone, level, tags, status, followed_up, owner,
         phone_hidden) = row[:10]
        badges = "".join(f'<span class="badge text-bg-light border me-1">{html_text(t)}</span>'
                         for t in split_tags(tags)) if tags else ""
        return (
            f'<td class="text-nowrap">{customer_number(id_)}</td>'
            f'<td><a href="{detail(id_)}">{html_text(name)}</a></td>'
            f"<td>{types.get(kind) or html_text(kind)}</td>"
            f"<td>{hidden_mark if phone_hidden else html_text(phone or '')}</td>"
            f'<td><span class="badge text-bg-{LEVEL_BADGES.get(level, "light")}">'
            f"{levels.get(level) or html_text(level)}</span></td>"
            f"<td>{badges}</td>"
            f"<td>{html_text(owner or '—')}</td>"
            f"<td>{statuses.get(status) or html_text(status)}</td>"
            f'<td class="text-nowrap">{when(followed_up)}</td>')

    return cells


def _customer_form(customer: Customer | None) -> CustomerForm:
    ctx = web_ctx()
    form = CustomerForm(obj=customer)
    owners = queries.assignable_owners(ctx)
    if customer is not None and customer.owner is not None and customer.owner not in owners:
        owners.insert(0, customer.owner)
    form.set_owner_choices(owners)
    if request.method == "GET":
        form.owner_id.data = str(customer.owner_id if customer else ctx.actor_id)
        form.source.data = customer.source or "" if customer else ""
    return form


def _save(form: CustomerForm, customer_id: int | None) -> Any:
    """Run the form through the service; the redirect, or None to show the form again."""

    def action(ctx: Any) -> Customer:
        try:
            if customer_id is None:
                return customer_service.create_customer(ctx, form.service_data())
            return customer_service.update_customer(ctx, customer_id, form.service_data())
        except customer_service.DuplicateCustomerError as exc:
            form.existing_id = exc.existing_id  # link to the record the user may see
            raise

    done, customer = submit(form, action)
    if not done:
        return None
    flash(_("客户已保存"), "success")
    return redirect(url_for(".detail", customer_id=customer.id))


@bp.route("/new", methods=["GET", "POST"])
@requires("crm.customer.create")
def create() -> Any:
    form = _customer_form(None)
    return _save(form, None) or render_template("crm/customer_form.html", form=form, customer=None)


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@requires("crm.customer.write")
def edit(customer_id: int) -> Any:
    customer = queries.get_customer(web_ctx(), customer_id, for_write=True)
    form = _customer_form(customer)
    return _save(form, customer_id) or render_template(
        "crm/customer_form.html", form=form, customer=customer
    )


@bp.route("/<int:customer_id>")
@requires("crm.customer.read")
def detail(
    customer_id: int,
    contact_form: ContactForm | None = None,
    follow_up_form: FollowUpForm | None = None,
) -> Any:
    ctx = web_ctx()
    view = queries.customer_360(ctx, customer_id)
    return render_template(
        "crm/customer_detail.html",
        **view,
        sections=customer_sections(ctx, view["customer"]),
        delete_plan=customer_service.delete_plan(view["customer"]),
        contact_form=contact_form or ContactForm(formdata=None),
        follow_up_form=follow_up_form or FollowUpForm(formdata=None),
    )


@bp.route("/<int:customer_id>/delete", methods=["POST"])
@requires("crm.customer.delete")
def delete(customer_id: int) -> Any:
    ctx = web_ctx()
    with unit_of_work(ctx):
        customer_service.delete_customer(ctx, customer_id)
    flash(_("客户已删除"), "success")
    return redirect(url_for(".index"))


def _detail_form(form: Any, form_kw: str, customer_id: int, action: Any, ok: str) -> Any:
    """Submit a form shown on the detail page; on errors show the page again with it open."""
    queries.get_customer(web_ctx(), customer_id)  # 404 before anything else
    done, _result = submit(form, action)
    if done:
        flash(ok, "success")
        return redirect(url_for(".detail", customer_id=customer_id))
    return detail(customer_id, **{form_kw: form}), 422


@bp.route("/<int:customer_id>/contacts", methods=["POST"])
@requires("crm.contact.create")
def add_contact(customer_id: int) -> Any:
    form = ContactForm()
    return _detail_form(
        form,
        "contact_form",
        customer_id,
        lambda ctx: contact_service.add_contact(ctx, customer_id, form.service_data()),
        _("联系人已添加"),
    )


@bp.route("/<int:customer_id>/follow-ups", methods=["POST"])
@requires("crm.follow_up.create")
def add_follow_up(customer_id: int) -> Any:
    form = FollowUpForm()
    return _detail_form(
        form,
        "follow_up_form",
        customer_id,
        lambda ctx: follow_up_service.add_follow_up(ctx, customer_id, form.service_data()),
        _("跟进记录已添加"),
    )


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@requires("crm.contact.write")
def edit_contact(contact_id: int) -> Any:
    contact = queries.get_contact(web_ctx(), contact_id, for_write=True)
    form = ContactForm(obj=contact)
    done, _result = submit(
        form, lambda ctx: contact_service.update_contact(ctx, contact_id, form.service_data())
    )
    if done:
        flash(_("联系人已保存"), "success")
        return redirect(url_for(".detail", customer_id=contact.customer_id))
    return render_template("crm/contact_form.html", form=form, contact=contact)


@bp.route("/contacts/<int:contact_id>/delete", methods=["POST"])
@requires("crm.contact.delete")
def delete_contact(contact_id: int) -> Any:
    ctx = web_ctx()
    with unit_of_work(ctx):
        customer_id = queries.get_contact(ctx, contact_id).customer_id
        contact_service.delete_contact(ctx, contact_id)
    flash(_("联系人已删除"), "success")
    return redirect(url_for(".detail", customer_id=customer_id))


def customer_sections(ctx: ServiceContext, customer: Customer) -> list[dict[str, Any]]:
    """Sections other installed modules contribute to the 360° view, rendered for the actor.

    A section that fails is shown as an error instead of breaking the whole page.
    """
    out = []
    for section in registry().customer_sections:
        if section.permission and not ctx.can(section.permission):
            continue
        try:
            html = Markup(section.render(customer, ctx))
        except Exception:  # a broken add-on must not hide the customer
            log.exception("customer section %s failed", section.id)
            html = Markup('<div class="text-danger">{}</div>').format(_("该部分加载失败"))
        out.append({"id": section.id, "title": section.title, "html": html})
    return out
