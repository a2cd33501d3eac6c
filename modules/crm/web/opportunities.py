"""Opportunity pages: list, kanban, detail with timeline and quotes, create/edit."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal
from decimal import InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import escape
from pydantic import Field
from pydantic import StrictInt
from sqlalchemy import Row
from sqlalchemy import Select
from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlalchemy.orm import joinedload
from wtforms import BooleanField
from wtforms import DecimalField
from wtforms import IntegerField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional

from core.api.schemas import ApiIn
from core.errors import NotFoundError
from core.errors import TandemError
from core.extensions import db
from core.security import principal
from core.security.access import requires
from core.security.models import User
from core.security.ownership import holds
from core.services import unit_of_work
from core.timeline import timeline
from core.web.context import web_ctx
from core.web.escaping import html_text
from core.web.forms import run_action
from core.web.forms import submit
from core.web.kanban import Kanban
from core.web.links import record_url
from core.web.listview import Column
from core.web.listview import Filter
from core.web.listview import ListView
from core.web.templating import local_dt_formatter
from core.web.templating import money
from core.web.templating import translated
from core.web.templating import translated_label
from modules.crm import queries
from modules.crm.models.customer import FOLLOW_UP_CHANNELS
from modules.crm.models.customer import Customer
from modules.crm.models.opportunity import OPEN_STATUSES
from modules.crm.models.opportunity import SOURCES
from modules.crm.models.opportunity import STATUSES
from modules.crm.models.opportunity import TRANSITIONS
from modules.crm.models.opportunity import Opportunity
from modules.crm.models.opportunity import opportunity_number
from modules.crm.queries import customer_choices
from modules.crm.services import opportunities as svc

bp = Blueprint("crm_opportunities", __name__, url_prefix="/crm/opportunities",
               template_folder="templates")

# What a row or a card shows: the customer's name and the owner's name (not his roles).
LOADERS = [joinedload(Opportunity.customer).load_only(Customer.customer_name),
           joinedload(Opportunity.owner).load_only(User.display_name, User.username)
           .lazyload(User.roles)]


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(value) from exc  # the list answers 400


def _day(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), time.min, ZoneInfo("Asia/Shanghai"))


def _day_end(value: str) -> datetime:
    return _day(value) + timedelta(days=1) - timedelta(microseconds=1)


@cache
def _owner_choices() -> Select:
    """Active users who may own opportunities (``crm.opportunity.claim``: sales and managers
    by default), by name: one statement object (made on first use, once the
    mappers are configured), whose cache key SQLAlchemy keeps instead of recomputing it."""
    return (select(User.id, User.name)
            .where(User.active.is_(True), holds("crm.opportunity.claim"))
            .order_by(User.display_name, User.id))


class _Owners(Mapping):
    """The owner filter's choices (active sales and managers), read when the page renders
    and kept while the auth epoch stays the same: users, their names, whether they are
    active and their roles all move it (and the filter keeps its select as long)."""

    kept_per_epoch = True

    def _load(self) -> dict[str, str]:
        return principal.cached("crm.owner_choices", self._read)

    @staticmethod
    def _read() -> dict[str, str]:
        return {str(id_): name for id_, name in db.session.execute(_owner_choices())}

    def __getitem__(self, key: str) -> str:
        return self._load()[key]

    def items(self) -> Any:  # one read per call, not a cache lookup per owner
        return self._load().items()

    def __contains__(self, key: object) -> bool:
        return key in self._load()

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


_CUSTOMER, _OWNER = aliased(Customer), aliased(User)  # made once: statements stay cached


def _list_rows(stmt: Select, _ctx: Any) -> Select:
    """What a row of the list shows, as plain columns: the opportunity's, its customer's
    name and its owner's name."""
    return (stmt.with_only_columns(
        Opportunity.id, Opportunity.product_name, Opportunity.quantity,
        Opportunity.estimated_amount, Opportunity.status, Opportunity.followed_up_at,
        Opportunity.created_at, _CUSTOMER.customer_name, _OWNER.name.label("owner_name"),
        maintain_column_froms=True)
        .join_from(Opportunity, _CUSTOMER, _CUSTOMER.id == Opportunity.customer_id)
        .outerjoin_from(Opportunity, _OWNER, _OWNER.id == Opportunity.owner_id))


def _row_cells() -> Callable[[Row], str]:
    """The ``<td>`` cells of an opportunity row (of :func:`_list_rows`), written in one piece
    rather than by LIST's nine column writers (half the time); the same HTML as theirs
    (``test_opportunities_web.py`` compares them)."""
    detail = record_url("crm_opportunities.detail")
    statuses = {value: escape(label) for value, label in translated(STATUSES).items()}
    unclaimed = escape(gettext("待认领"))
    when = local_dt_formatter()

    def cells(row: Row) -> str:
        # Unpacked in _list_rows's order: a Row's attributes by name cost more than the rest.
        id_, product, quantity, amount, status, followed_up, created, customer, owner = row[:9]
        url = detail(id_)
        return (
            f'<td><a href="{url}">{opportunity_number(id_)}</a></td>'
            f'<td><a href="{url}">{html_text(product)}</a></td>'
            f"<td>{html_text(customer or '')}</td>"
            f"<td>{'' if quantity is None else quantity}</td>"
            f"<td>{money(amount)}</td>"
            f"<td>{statuses.get(status) or html_text(translated_label(status))}</td>"
            f"<td>{html_text(owner) if owner else unclaimed}</td>"
            f"<td>{when(followed_up)}</td><td>{when(created)}</td>")

    return cells


LIST = ListView(
    Opportunity, "crm_opportunities.index",
    columns=[
        Column("number", "编号", sort=Opportunity.id, link=True,
               value=lambda r: opportunity_number(r.id)),
        Column("product_name", "产品", sort=Opportunity.product_name, link=True),
        Column("customer", "客户名称", value=lambda r: r.customer_name),
        Column("quantity", "数量", sort=Opportunity.quantity),
        Column("estimated_amount", "预计金额", sort=Opportunity.estimated_amount, fmt="money"),
        Column("status", "状态", sort=Opportunity.status,
               value=lambda r: STATUSES.get(r.status, r.status), fmt="label"),
        Column("owner", "负责人", value=lambda r: r.owner_name or gettext("待认领")),
        Column("followed_up_at", "最后跟进", sort=Opportunity.followed_up_at, fmt="datetime"),
        Column("created_at", "创建时间", sort=Opportunity.created_at, fmt="datetime"),
    ],
    search=[Opportunity.product_name, Opportunity.requirements],
    filters=[
        Filter("status", "状态", Opportunity.status, STATUSES),
        Filter("owner_id", "负责人", Opportunity.owner_id, _Owners(), convert=int,
               translate=False),
        Filter("from", "起始日期", Opportunity.created_at, kind="date_from", convert=_day),
        Filter("to", "截止日期", Opportunity.created_at, kind="date_to", convert=_day_end),
        Filter("won_from", "成交起始", Opportunity.won_at, kind="date_from", convert=_day),
        Filter("won_to", "成交截止", Opportunity.won_at, kind="date_to", convert=_day_end),
        Filter("min", "最低金额", Opportunity.estimated_amount, kind="number_min",
               convert=_decimal),
        Filter("max", "最高金额", Opportunity.estimated_amount, kind="number_max",
               convert=_decimal),
    ],
    default_sort="-created_at", detail_endpoint="crm_opportunities.detail",
    live_models="crm_opportunity", row_select=_list_rows,
)


BOARD = Kanban(Opportunity, Opportunity.status, STATUSES,
               title=lambda o: f"{o.product_name} × {o.quantity}",
               fields=lambda o: [("客户名称", o.customer.customer_name),
                                 ("金额", f"¥{o.estimated_amount:,.2f}"),
                                 ("负责人", o.owner.name if o.owner else gettext("待认领"))],
               move_endpoint="crm_opportunities.move",
               detail_endpoint="crm_opportunities.detail", options=LOADERS,
               amount=Opportunity.estimated_amount, reasons={"lost": "丢单原因"},
               filters=[f for f in LIST.filters if f.key in ("owner_id", "from", "to")])


class OpportunityForm(FlaskForm):
    customer_id = SelectField(_l("客户"), coerce=int)
    product_name = StringField(_l("产品"), validators=[DataRequired(_l("请填写产品")),
                                                      Length(max=200)])
    quantity = IntegerField(_l("数量"), default=1,
                            validators=[NumberRange(min=1, message=_l("数量必须是正整数"))])
    estimated_amount = DecimalField(_l("预计金额（元）"), places=2,
                                    validators=[Optional(), NumberRange(min=0)])
    source = SelectField(_l("来源"), choices=[("", "—"), *((k, _l(v)) for k, v in SOURCES.items())])
    requirements = TextAreaField(_l("需求描述"))
    unowned = BooleanField(_l("不指定负责人，发布到销售群待认领"))


@bp.route("/")
@requires("crm.opportunity.read")
def index() -> Any:
    actions = [("看板", url_for("crm_opportunities.board"))]
    if web_ctx().can("crm.opportunity.create"):
        actions.insert(0, ("新建商机", url_for("crm_opportunities.new")))
    base, title = select(Opportunity), "商机"
    if request.args.get("unclaimed") == "1":  # the workspace's 待认领商机
        base = base.where(Opportunity.owner_id.is_(None),
                          Opportunity.status.in_(OPEN_STATUSES))
        title = "待认领的商机"
    return LIST.respond(web_ctx(), base, title=title, actions=actions, cells=_row_cells())


@bp.route("/board")
@requires("crm.opportunity.read")
def board() -> str:
    return BOARD.render(web_ctx(), select(Opportunity), title="商机看板",
                        actions=[("列表", url_for("crm_opportunities.index"))])


@bp.route("/board/move", methods=["POST"])
@requires("crm.opportunity.write")
def move() -> Any:
    ctx = web_ctx()
    try:
        move = _move_body()
        with unit_of_work(ctx):
            svc.change_status(ctx, move.id, move.status, move.reason)
    except TandemError as exc:
        return jsonify({"error": {"code": exc.code, "message": exc.message,
                                  "fields": exc.fields}}), exc.http_status
    return jsonify({"ok": True})


class MoveIn(ApiIn):
    """The kanban's move: a JSON object of this shape, else 400/422 (issue 14 #6)."""

    id: StrictInt | str
    status: str = Field(max_length=32)
    reason: str | None = Field(default=None, max_length=500)


def _move_body() -> MoveIn:
    from core.api.endpoint import InvalidJson
    from core.api.schemas import validate
    from core.inputs import load_json

    try:
        payload = load_json(request.get_data(cache=True) or b"{}")
    except ValueError as exc:
        raise InvalidJson(gettext("请求体不是有效的 JSON")) from exc
    return validate(MoveIn, payload)


@bp.route("/new", methods=["GET", "POST"])
@requires("crm.opportunity.create")
def new() -> Any:
    ctx = web_ctx()
    form = OpportunityForm()
    ctx.require("crm.customer.read")
    form.customer_id.choices = customer_choices(
        ctx, request.form.get("customer_id") or request.args.get("customer_id"))
    if not ctx.can("crm.opportunity.assign"):
        del form.unowned
    if request.method == "GET" and request.args.get("customer_id", "").isdigit():
        form.customer_id.data = int(request.args["customer_id"])
    done, opp = submit(form, lambda c: svc.create_opportunity(c, {
        "customer_id": form.customer_id.data, "product_name": form.product_name.data,
        "quantity": form.quantity.data, "estimated_amount": form.estimated_amount.data or 0,
        "source": form.source.data or None, "requirements": form.requirements.data,
        "unowned": bool(getattr(form, "unowned", None) and form.unowned.data)}))
    if done:
        flash(gettext("已创建商机 %(number)s", number=opp.number), "success")
        return redirect(url_for("crm_opportunities.detail", id=opp.id))
    return render_template("crm/opportunity_form.html", form=form, opp=None)


@bp.route("/<int:id>")
@requires("crm.opportunity.read")
def detail(id: int) -> Any:
    ctx = web_ctx()
    opp = queries.get_opportunity(ctx, id)
    allowed = sorted(TRANSITIONS[opp.status], key=list(STATUSES).index)
    owners = (queries.assignable_owners(ctx)
              if ctx.can("crm.opportunity.assign") else [])
    return render_template("crm/opportunity_detail.html", opp=opp, statuses=STATUSES,
                           allowed=allowed, owners=owners, channels=FOLLOW_UP_CHANNELS,
                           sources=SOURCES,
                           customer_visible=queries.can_see(ctx, opp.customer_id),
                           entries=timeline("crm_opportunity", opp.id),
                           timeline_target=("crm_opportunity", opp.id))


def _action(id: int, run: Any, done: str) -> Any:
    return run_action(run, done, url_for("crm_opportunities.detail", id=id))


@bp.route("/<int:id>/status", methods=["POST"])
@requires("crm.opportunity.write")
def status(id: int) -> Any:
    return _action(id, lambda c: svc.change_status(c, id, request.form.get("status", ""),
                                                   request.form.get("reason")),
                   gettext("状态已更新"))


@bp.route("/<int:id>/claim", methods=["POST"])
@requires("crm.opportunity.claim")
def claim(id: int) -> Any:
    """Claim from the page; whoever was faster is named and the user goes back to the list."""
    ctx = web_ctx()
    try:
        with unit_of_work(ctx):
            svc.claim_opportunity(ctx, id)
    except NotFoundError:
        raise  # the app's 404 page
    except TandemError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("crm_opportunities.index"))
    flash(gettext("已认领"), "success")
    return redirect(url_for("crm_opportunities.detail", id=id))


@bp.route("/<int:id>/assign", methods=["POST"])
@requires("crm.opportunity.assign")
def assign(id: int) -> Any:
    owner = request.form.get("owner_id", "")
    return _action(id, lambda c: svc.assign_opportunity(c, id, int(owner) if owner.isdigit()
                                                        else 0), gettext("已分配"))


@bp.route("/<int:id>/quote", methods=["POST"])
@requires("crm.opportunity.write")
def quote(id: int) -> Any:
    return _action(id, lambda c: svc.add_quote(c, id, request.form.get("amount", ""),
                                               request.form.get("valid_until") or None,
                                               request.form.get("note") or None),
                   gettext("已报价"))


@bp.route("/<int:id>/follow-up", methods=["POST"])
@requires("crm.opportunity.write")
def follow_up(id: int) -> Any:
    return _action(id, lambda c: svc.follow_up(c, id, request.form.get("content", ""),
                                               request.form.get("channel") or "phone"),
                   gettext("已记录跟进"))
