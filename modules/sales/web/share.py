"""The read-only order page behind a share link, and the buttons that make or revoke links.

``/p/order#<token>``: the page's script posts the token from the fragment (never in a URL
the server or a proxy logs); the answer is the read-only view: the order, the customer's
name with a masked phone, the installed equipment — nothing else, no navigation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import send_from_directory
from flask import session
from flask import url_for
from flask_babel import gettext

from core.errors import NotFoundError
from core.errors import TandemError
from core.extensions import limiter
from core.security.access import public
from core.security.access import requires
from core.services import unit_of_work
from core.web.context import web_ctx
from modules.sales.services import sharing

bp = Blueprint("sales_share", __name__, template_folder="templates")
STATIC = Path(__file__).parent / "static"
SHOWN_KEY = "sales.share_link"


@bp.route("/sales/orders/<int:order_id>/share", methods=["POST"])
@requires("sales.order.write")
def create(order_id: int) -> Any:
    ctx = web_ctx()
    try:
        with unit_of_work(ctx):
            token = sharing.create_link_token(ctx, current_app.secret_key, order_id)
    except NotFoundError:
        return "", 404
    except TandemError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("sales.detail", id=order_id))
    base = current_app.config["TANDEM_BASE_URL"].rstrip("/")
    # Shown once on the next page, from the (signed) session, never in a URL.
    session[SHOWN_KEY] = {"order": order_id, "url": f"{base}/p/order#{token}"}
    return redirect(url_for("sales.detail", id=order_id))


@bp.route("/sales/orders/<int:order_id>/share/revoke", methods=["POST"])
@requires("sales.order.write")
def revoke(order_id: int) -> Any:
    ctx = web_ctx()
    try:
        with unit_of_work(ctx):
            sharing.revoke_links(ctx, order_id)
    except NotFoundError:
        return "", 404
    flash(gettext("已撤销该订单的全部只读链接"), "success")
    return redirect(url_for("sales.detail", id=order_id))


def shown_link(order_id: int) -> str | None:
    """The link just made for this order (once)."""
    shown = session.get(SHOWN_KEY)
    if shown and shown.get("order") == order_id:
        session.pop(SHOWN_KEY, None)
        return shown.get("url")
    return None


@bp.route("/p/share.js")
@public
def script() -> Any:
    """The link page's script (the CSP allows scripts of this site only)."""
    return send_from_directory(STATIC, "share.js", mimetype="text/javascript", max_age=3600)


@bp.route("/p/order", methods=["GET", "POST"])
@public
@limiter.limit("60/hour", methods=["POST"])
def view() -> Any:
    if request.method == "GET":
        return render_template("sales/share_open.html")
    try:
        order = sharing.order_for_token(current_app.secret_key,
                                        request.form.get("token", "").strip())
    except NotFoundError as exc:
        return render_template("sales/share_open.html", error=exc.message), 404
    from core.hooks import call
    from core.services import ServiceContext
    from modules.sales.queries import order_units

    equipment = order_units(ServiceContext.system("web"), order)
    tickets = [t for answer in (call("order_tickets", order=order) or []) for t in answer or []]
    return render_template("sales/share_view.html", order=order, equipment=equipment,
                           tickets=tickets, phone=sharing.mask_phone(order.customer.phone))
