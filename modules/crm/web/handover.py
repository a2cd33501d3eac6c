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
from sqlalchemy import select

from core.errors import TandemError
from core.extensions import db
from core.security.access import requires
from core.security.models import User
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
    return render_template("crm/handover_list.html", handovers=queries.list_handovers(web_ctx()))


@bp.route("/new", methods=["GET", "POST"])
@requires("crm.handover.start")
def new() -> Any:
    users = list(db.session.scalars(select(User).order_by(User.username)))
    if request.method == "POST":
        ctx = web_ctx()
        ids = _customer_ids(request.form.get("customer_refs", "")) or None
        try:
            with unit_of_work(ctx):
                handover = handover_service.start_handover(
                    ctx,
                    to_user_id=request.form.get("to_user_id", type=int) or 0,
                    from_user_id=request.form.get("from_user_id", type=int),
                    customer_ids=ids,
                    reason=request.form.get("reason", ""),
                    note=request.form.get("note") or None,
                )
            flash(_("已创建交接单 %(number)s", number=handover.number), "success")
            return redirect(url_for("crm_handover.detail", id=handover.id))
        except TandemError as exc:
            flash(exc.message, "danger")
    return render_template("crm/handover_new.html", users=users, reasons=REASONS, form=request.form)


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
        ),
        "submit": lambda ctx: handover_service.submit(ctx, id),
        "approve": lambda ctx: handover_service.review(ctx, id, True, comment),
        "reject": lambda ctx: handover_service.review(ctx, id, False, comment),
        "confirm": lambda ctx: handover_service.confirm(ctx, id),
        "cancel": lambda ctx: handover_service.cancel(ctx, id, comment),
    }
    if action not in actions:
        abort(404)  # no such page
    return run_action(actions[action], _("已处理"), url_for("crm_handover.detail", id=id))
