"""The delivery and installation calendar (week or month, per engineer, conflicts shown)
and each engineer's .ics feed for his phone's calendar (a signed link, no login)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import render_template
from flask import request
from flask import url_for
from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from core.extensions import db
from core.extensions import limiter
from core.security.access import public
from core.security.access import requires
from core.security.models import Role
from core.security.models import User
from core.services import ServiceContext
from core.web.context import web_ctx
from modules.sales import queries
from modules.sales.services.numbering import SHANGHAI
from modules.sales.services.numbering import local_date

bp = Blueprint("sales_calendar", __name__, url_prefix="/sales/calendar",
               template_folder="templates")
SALT = "sales.ics-feed"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=SALT)


def feed_token(user_id: int) -> str:
    return _serializer().dumps({"u": user_id})


def _engineers() -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.active.is_(True), User.roles.any(Role.code == "engineer"))
        .order_by(User.display_name, User.id)))


def _day(raw: str | None, default: date) -> date:
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        abort(400)


@bp.route("/")
@requires("sales.order.read")
def index() -> Any:
    ctx = web_ctx()
    view = request.args.get("view", "week")
    if view not in ("week", "month"):
        abort(400)
    anchor = _day(request.args.get("date"), local_date(ctx.now))
    engineer = request.args.get("engineer_id", "")
    engineer_id = int(engineer) if engineer.isdigit() and int(engineer) < 2**31 else None
    if view == "week":
        start = anchor - timedelta(days=anchor.weekday())
        end = start + timedelta(days=6)
        prev, nxt = start - timedelta(days=7), start + timedelta(days=7)
    else:
        start = anchor.replace(day=1)
        nxt = (start + timedelta(days=32)).replace(day=1)
        end = nxt - timedelta(days=1)
        prev = (start - timedelta(days=1)).replace(day=1)
    events = queries.plan(ctx, start, end, engineer_id)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    me = ctx.actor
    return render_template(
        "sales/calendar.html", view=view, days=days, events=queries.by_day(events),
        start=start, end=end, prev=prev, next=nxt, engineers=_engineers(),
        engineer_id=engineer_id, conflicts=sum(1 for e in events if e.conflict),
        today=local_date(ctx.now),
        feed_url=url_for(".feed", token=feed_token(me.id), _external=True))


@bp.route("/feed/<token>.ics")
@public
@limiter.limit("60/minute")
def feed(token: str) -> Any:
    """The signed-in user's plan as iCalendar (what he may see, next 90 days): the link is
    signed with the app's secret, names no one, and works without a password."""
    from icalendar import Calendar
    from icalendar import Event

    try:
        data = _serializer().loads(token)
    except BadSignature:
        abort(404)
    user = db.session.get(User, int(data.get("u", 0)))
    if user is None or not user.active:
        abort(404)
    ctx = ServiceContext(actor=user, source="web")
    if not ctx.can("sales.order.read"):
        abort(404)
    today = local_date(ctx.now)
    events = queries.plan(ctx, today - timedelta(days=7), today + timedelta(days=90),
                          user.id if ctx.can("sales.order.install")
                          and "engineer" in user.role_codes else None)
    cal = Calendar()
    cal.add("prodid", "-//Tandem//sales plan//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Tandem {user.name}")
    base = current_app.config["TANDEM_BASE_URL"].rstrip("/")
    for e in events:
        item = Event()
        item.add("uid", f"{e.kind}-{e.order.id}@tandem")
        item.add("summary", f"{e.label} {e.order.order_no} {e.order.customer.customer_name}"
                 + (" ⚠冲突" if e.conflict else ""))
        item.add("dtstart", e.day)
        item.add("dtend", e.day + timedelta(days=1))
        item.add("dtstamp", datetime.combine(today, time(0), SHANGHAI))
        if e.order.delivery_address:
            item.add("location", e.order.delivery_address)
        item.add("url", f"{base}/sales/orders/{e.order.id}")
        cal.add_component(item)
    return current_app.response_class(cal.to_ical(), mimetype="text/calendar",
                                      headers={"Cache-Control": "private, max-age=300"})
