"""Handover pages: list, start, detail with checklist, stage actions and history."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from core.errors import TandemError
from core.extensions import db
from core.security.access import requires
from core.services import unit_of_work
from core.web.context import web_ctx
from core.web.forms import run_action
from modules.crm import queries
from modules.crm.models.customer import parse_customer_number
from modules.crm.models.handover import ACTIONS
from modules.crm.models.handover import REASONS
from modules.crm.models.handover import STAGES
from modules.crm.services import handover as handover_service

bp = Blueprint("crm_handover", __name__, url_prefix="/crm/handovers", template_folder="templates")


def _customer_ids(text: str) -> list[int]:
    """``CUS-000012, 13 CUS-14`` → [12, 13, 14] (unknown words are ignored)."""
    ids = []
    for word in re.split(r"[\s,，、;；]+", text or ""):
        number = parse_customer_number(word) or (int(word) if word.isdigit() else None)
        if number:
            ids.append(number)
    return ids


@bp.route("/")
@requires("crm.handover.read")
def index() -> str:
    handovers = queries.list_handovers(web_ctx())
    stage = request.args.get("stage")
    if stage in STAGES:  # the workspace's 待审核 / 待确认
        handovers = [h for h in handovers if h.stage == stage]
    return render_template("crm/handover_list.html", handovers=handovers)


def _busy_message(exc: handover_service.HandoverBusy) -> Markup:
    """The refusal with a link to each open handover it names."""
    links = Markup(_("、")).join(
        Markup('<a href="{}" class="alert-link">{}</a>').format(
            url_for("crm_handover.detail", id=h.id), h.number) for h in exc.handovers)
    return Markup("{} {}").format(exc.message, Markup(_("查看：")) + links)


def _owned_customers(ctx: Any, owner_id: int | None) -> list[Any]:
    """The customers of ``owner_id`` the actor sees (for picking), by name."""
    from modules.crm.models.customer import Customer

    if not owner_id:
        return []
    stmt = ctx.scoped(select(Customer).where(Customer.owner_id == owner_id,
                                             Customer.status != "in_pool"), Customer)
    return list(db.session.scalars(stmt.order_by(Customer.customer_name).limit(1000)))


def _picked_ids() -> list[int] | None:
    """The customers the form names: the ticked ones (and numbers typed) when the scope is
    "picked", else None (all of the departing user's)."""
    if request.form.get("scope") != "picked":
        return _customer_ids(request.form.get("customer_refs", "")) or None
    ids = [int(i) for i in request.form.getlist("customer_ids") if i.isdigit()]
    return ids + _customer_ids(request.form.get("customer_refs", ""))


@bp.route("/new", methods=["GET", "POST"])
@requires("crm.handover.start")
def new() -> Any:
    ctx = web_ctx()
    source = request.form if request.method == "POST" else request.args
    from_user_id = source.get("from_user_id", type=int)
    if request.method == "POST" and request.form.get("action") != "reload":
        ids = _picked_ids()
        if ids == []:
            flash(_("请至少选择一个客户，或选择“该员工的全部客户”"), "danger")
        else:
            try:
                with unit_of_work(ctx):
                    handover = handover_service.start_handover(
                        ctx,
                        to_user_id=request.form.get("to_user_id", type=int) or 0,
                        from_user_id=from_user_id,
                        customer_ids=ids,
                        reason=request.form.get("reason", ""),
                        note=request.form.get("note") or None,
                    )
                    done = _("已创建交接单 %(number)s：%(n)s 个客户交给 %(name)s。"
                             "下一步：完善交接清单后提交审核。", number=handover.number,
                             n=len(handover.customers), name=handover.to_user.name)
                flash(done, "success")
                return redirect(url_for("crm_handover.detail", id=handover.id))
            except handover_service.HandoverBusy as exc:
                flash(_busy_message(exc), "danger")
            except TandemError as exc:
                flash(exc.message, "danger")
    picked = {int(i) for i in request.form.getlist("customer_ids") if i.isdigit()}
    picked |= set(_customer_ids(request.args.get("customers", "")))
    return render_template(
        "crm/handover_new.html", departing=handover_service.departing_users(ctx),
        receivers=handover_service.receivers(), reasons=REASONS, form=source,
        from_user_id=from_user_id, customers=_owned_customers(ctx, from_user_id),
        picked=picked)


@bp.route("/<int:id>")
@requires("crm.handover.read")
def detail(id: int) -> str:
    handover = queries.get_handover(web_ctx(), id)
    return render_template(
        "crm/handover_detail.html",
        h=handover,
        who=queries.who_may_act(handover),
        stages=STAGES,
        actions=ACTIONS,
        allowed=handover_service.allowed_actions(web_ctx(), handover),
        settled=handover_service.item_settled,
        settled_count=len(handover.checklist or []) - len(handover_service.open_items(handover)),
    )


@bp.route("/<int:id>/<action>", methods=["POST"])
@requires("crm.handover.read")
def act(id: int, action: str) -> Any:
    comment = request.form.get("comment") or None
    actions = {
        "checklist": lambda ctx: handover_service.update_checklist(
            ctx,
            id,
            [int(i) for i in request.form.getlist("done") if i.isdigit()],
            {
                int(k[5:]): v
                for k, v in request.form.items()
                if k.startswith("note-") and k[5:].isdigit()
            },
            [int(i) for i in request.form.getlist("waived") if i.isdigit()],
        ),
        "submit": lambda ctx: handover_service.submit(ctx, id),
        "approve": lambda ctx: handover_service.review(ctx, id, True, comment),
        "reject": lambda ctx: handover_service.review(ctx, id, False, comment),
        "confirm": lambda ctx: handover_service.confirm(ctx, id),
        "cancel": lambda ctx: handover_service.cancel(ctx, id, comment),
    }
    if action not in actions:
        abort(404)  # no such page
    return run_action(actions[action], lambda h: _done_message(action, h),
                      url_for("crm_handover.detail", id=id))


def _done_message(action: str, h: Any) -> str:
    """What the step did, in words (not a generic 已处理)."""
    items = h.checklist or []
    if action == "checklist":
        left = len(handover_service.open_items(h))
        return (_("已保存交接清单：%(done)s/%(n)s 项已完成或豁免。", done=len(items) - left,
                  n=len(items))
                + (_("还有 %(left)s 项待处理。", left=left) if left else
                   _("清单已齐，可以提交审核。")))
    receiver = h.to_user.name if h.to_user else "—"
    return {
        "submit": _("已提交审核，等待发起人以外的经理审核。"),
        "approve": _("已审核通过，等待 %(name)s 确认接收。", name=receiver),
        "reject": _("已退回发起人修改（准备阶段）。"),
        "confirm": _("已确认接收：%(n)s 个客户已转到 %(name)s 名下。",
                     n=len(h.customers), name=receiver),
        "cancel": _("已取消交接单 %(number)s。", number=h.number),
    }[action]
