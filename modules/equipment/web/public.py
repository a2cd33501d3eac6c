"""QR labels and the public fault page behind them. A label's link carries a signed token
(not the unit's id: numbers cannot be walked); the page shows the unit's type, brand and
model — no customer data — and takes a fault report, rate-limited per address."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask_babel import gettext
from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from core.errors import TandemError
from core.extensions import db
from core.extensions import limiter
from core.security.access import public
from core.security.access import requires
from core.services import ServiceContext
from core.services import unit_of_work
from modules.equipment.models import Equipment
from modules.equipment.services import equipment as svc
from modules.equipment.services.faults import report_fault

bp = Blueprint("equipment_public", __name__, template_folder="templates")
SALT = "equipment.label"
MAX_LABELS = 200


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=SALT)


def label_url(equipment_id: int) -> str:
    base = current_app.config["TANDEM_BASE_URL"].rstrip("/")
    return f"{base}/e/{_serializer().dumps(equipment_id)}"


def _qr(url: str) -> Markup:
    import segno

    return Markup(segno.make(url, error="m").svg_inline(scale=3))  # noqa: S704 - segno's SVG


@bp.route("/equipment/labels")
@requires("equipment.equipment.read")
def labels() -> Any:
    """A printable sheet of QR labels: ``?ids=1,2,3`` or ``?customer_id=``."""
    from core.web.context import web_ctx

    ctx = web_ctx()
    stmt = svc.equipment_select(ctx).options(joinedload(Equipment.customer))
    raw_ids = [p for p in request.args.get("ids", "").split(",") if p.strip().isdigit()]
    customer = request.args.get("customer_id", "")
    if raw_ids:
        stmt = stmt.where(Equipment.id.in_([int(p) for p in raw_ids[:MAX_LABELS]]))
    elif customer.isdigit() and int(customer) < 2**31:
        stmt = stmt.where(Equipment.customer_id == int(customer))
    else:  # nothing chosen: say how to choose
        flash(gettext("请打开一台设备的页面打印它的二维码标签，或在客户页按客户打印全部标签。"),
              "info")
        return redirect("/equipment/")
    units = list(db.session.scalars(stmt.order_by(Equipment.id).limit(MAX_LABELS)))
    return render_template("equipment/labels.html",
                           labels=[(e, _qr(label_url(e.id))) for e in units])


def _unit(token: str) -> Equipment:
    try:
        equipment_id = int(_serializer().loads(token))
    except (BadSignature, TypeError, ValueError):
        abort(404)
    equipment = db.session.get(Equipment, equipment_id)
    if equipment is None or equipment.status == "retired":
        abort(404)
    return equipment


MAX_PHOTOS = 3


def _photos() -> list[bytes]:
    """Up to MAX_PHOTOS pictures of the fault (checked by whoever stores them)."""
    files = [f for f in request.files.getlist("photos") if f and f.filename]
    return [f.read() for f in files[:MAX_PHOTOS]]


@bp.route("/e/<token>", methods=["GET", "POST"])
@public
@limiter.limit("10/hour;30/day", methods=["POST"])
@limiter.limit("120/hour", methods=["GET"])
def report(token: str) -> Any:
    equipment = _unit(token)
    done, error = None, None
    if request.method == "POST":
        ctx = ServiceContext(actor=None, source="web")
        try:
            with unit_of_work(ctx):
                kind, ref = report_fault(ctx, equipment.id, request.form.get("description", ""),
                                         request.form.get("contact_phone"), _photos())
            done = (gettext("已收到您的报修，服务单号 %(ref)s，我们会尽快联系您", ref=ref)
                    if kind == "ticket" else gettext("已收到您的报修，我们会尽快联系您"))
        except TandemError as exc:
            error = exc.message
    return render_template("equipment/public_report.html", equipment=equipment, done=done,
                           error=error, token=token)
