"""Settings → 数据推送: webhook subscriptions of the changes feed and their delivery log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext

from core.changes import installed_modules
from core.changes import webhooks
from core.errors import TandemError
from core.security.access import requires
from core.services import unit_of_work
from core.web.context import web_ctx

bp = Blueprint("core_webhooks", __name__)


@bp.route("/admin/webhooks", endpoint="webhooks")
@requires(webhooks.PERMISSION)
def webhooks_page(new_secret: str | None = None) -> Any:
    ctx = web_ctx()
    return render_template("core/admin/webhooks.html",
                           subscriptions=webhooks.list_subscriptions(ctx),
                           deliveries=webhooks.recent_deliveries(ctx),
                           modules=installed_modules(), new_secret=new_secret)


@bp.route("/admin/webhooks", methods=["POST"])
@requires(webhooks.PERMISSION)
def create() -> Any:
    ctx = web_ctx()
    form = request.form
    try:
        with unit_of_work(ctx):
            subscription = webhooks.create_subscription(
                ctx, form.get("name", ""), form.get("url", ""), form.get("secret") or None,
                form.getlist("modules"))
            secret = subscription.secret
    except TandemError as exc:
        flash(exc.message, "danger")
        return redirect(url_for(".webhooks"))
    # The secret is shown once, in this answer itself: a flash message would carry it in the
    # session cookie (signed, not encrypted) to the next page.
    response = make_response(webhooks_page(new_secret=gettext(
        "已添加订阅。签名密钥（只显示这一次）：%(secret)s", secret=secret)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/admin/webhooks/<int:id>/toggle", methods=["POST"])
@requires(webhooks.PERMISSION)
def toggle(id: int) -> Any:
    ctx = web_ctx()
    with unit_of_work(ctx):
        subscription = webhooks.get_subscription(ctx, id)
        webhooks.set_active(ctx, id, not subscription.active)
    return redirect(url_for(".webhooks"))


@bp.route("/admin/webhooks/<int:id>/delete", methods=["POST"])
@requires(webhooks.PERMISSION)
def remove(id: int) -> Any:
    ctx = web_ctx()
    with unit_of_work(ctx):
        webhooks.delete_subscription(ctx, id)
    flash(gettext("已删除订阅"), "success")
    return redirect(url_for(".webhooks"))
