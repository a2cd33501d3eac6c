"""Pool pages: the pool list (claim / assign), release from a customer, the rules page."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.errors import TandemError
from core.extensions import db
from core.security.access import requires
from core.services import unit_of_work
from core.settings import set_setting
from core.web.context import request_cached
from core.web.context import web_ctx
from core.web.forms import run_action
from core.web.listview import Column
from core.web.listview import Filter
from core.web.listview import ListView
from modules.crm.models.customer import CUSTOMER_LEVELS
from modules.crm.models.customer import Customer
from modules.crm.queries import assignable_owners
from modules.pool import queries
from modules.pool.services import customers as customer_service
from modules.pool.services import rules as rule_service

bp = Blueprint("pool", __name__, url_prefix="/pool", template_folder="templates")
MASK = "••••"


def _shown(field: str, value: Any) -> Any:
    """Fields the admin hid are masked for claimers (managers and admins see them)."""
    hidden = request_cached("pool.hidden_from_actor", _hidden_from_actor)
    return MASK if field in hidden and value else value


def _hidden_from_actor() -> frozenset[str]:
    if web_ctx().can("pool.customer.assign"):
        return frozenset()
    return frozenset(queries.hidden_fields())


POOL = ListView(
    Customer,
    "pool.index",
    columns=[
        Column("number", "客户编号", sort=Customer.id),
        Column("customer_name", "客户名称", sort=Customer.customer_name, link=True),
        Column("level", "分级", sort=Customer.customer_level, value=lambda c: c.level_label,
               fmt="label"),
        Column("industry", "所属行业", value=lambda c: _shown("industry", c.industry)),
        Column("phone", "手机号", value=lambda c: _shown("phone", c.phone)),
        Column("address", "地址", value=lambda c: _shown("address", c.address)),
        Column("last_follow_up_at", "最后跟进", sort=Customer.last_follow_up_at, fmt="datetime"),
        Column("updated_at", "进入公海", sort=Customer.updated_at, fmt="datetime"),
    ],
    search=[Customer.customer_name, Customer.industry],
    filters=[Filter("level", "分级", Customer.customer_level, CUSTOMER_LEVELS)],
    default_sort="-updated_at",
    detail_endpoint="pool.detail",
    live_models="crm_customer",
    options=[selectinload(Customer.owner)],
)


@bp.route("/")
@requires("pool.customer.read")
def index() -> Any:
    ctx = web_ctx()
    view = POOL
    if "industry" in request_cached("pool.hidden_from_actor", _hidden_from_actor):
        view = replace(POOL, search=[Customer.customer_name])  # no finding by a hidden field
    return view.respond(ctx, select(Customer).where(Customer.status == "in_pool"),
                        title="公海池")


@bp.route("/customers/<int:id>")
@requires("pool.customer.read")
def detail(id: int) -> Any:
    customer = db.session.get(Customer, id)
    if customer is None or customer.status != "in_pool":
        return redirect(url_for("crm_customers.detail", customer_id=id))
    ctx = web_ctx()
    owners = assignable_owners(ctx) if ctx.can("pool.customer.assign") else []
    return render_template(
        "pool/detail.html",
        customer=customer,
        moves=queries.history(id),
        shown=_shown,
        owners=owners,
    )


@bp.route("/customers/<int:id>/claim", methods=["POST"])
@requires("pool.customer.claim")
def claim(id: int) -> Any:
    return run_action(
        lambda c: customer_service.claim(c, id),
        _("已领取客户"),
        url_for("crm_customers.detail", customer_id=id),
    )


@bp.route("/customers/<int:id>/assign", methods=["POST"])
@requires("pool.customer.assign")
def assign(id: int) -> Any:
    owner = request.form.get("owner_id", type=int) or 0
    return run_action(
        lambda c: customer_service.assign(c, id, owner),
        _("已分配"),
        url_for("crm_customers.detail", customer_id=id),
    )


@bp.route("/customers/<int:id>/release", methods=["POST"])
@requires("pool.customer.release")
def release(id: int) -> Any:
    return run_action(
        lambda c: customer_service.release(c, id, request.form.get("reason", "")),
        _("已放入公海"),
        url_for("pool.index"),
    )


@bp.route("/rules", methods=["GET", "POST"])
@requires("pool.rule.manage")
def rules() -> Any:
    ctx = web_ctx()
    if request.method == "POST":
        try:
            with unit_of_work(ctx):
                for level in CUSTOMER_LEVELS:
                    values = {
                        k[len(level) + 1 :]: v
                        for k, v in request.form.items()
                        if k.startswith(level + ".")
                    }
                    values["enabled"] = f"{level}.enabled" in request.form
                    rule_service.update_rule(ctx, level, values)
                set_setting("pool.hidden_fields", request.form.getlist("hidden"))
            flash(_("公海规则已保存"), "success")
        except TandemError as exc:
            flash(exc.message, "danger")
        return redirect(url_for("pool.rules"))
    with unit_of_work(ctx):
        current = queries.rules()
    return render_template(
        "pool/rules.html",
        rules=current,
        levels=CUSTOMER_LEVELS,
        hidden=queries.hidden_fields(),
        fields={"phone": "手机号", "address": "地址", "industry": "所属行业"},
    )
