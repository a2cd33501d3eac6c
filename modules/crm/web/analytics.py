"""The sales analytics page: the conversion funnel by stage and performance by owner and by
month (the figures come from :mod:`modules.crm.queries`), drawn as server-side SVG in the
template: no chart library, no JavaScript, nothing from a CDN, so the page works under the
strict CSP, prints, and its numbers are plain text for tests.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import Decimal

from flask import Blueprint
from flask import render_template
from flask import request

from core.security.access import requires
from core.web.context import web_ctx
from modules.crm.queries import SHANGHAI
from modules.crm.queries import by_month
from modules.crm.queries import funnel
from modules.crm.queries import performance

bp = Blueprint(
    "crm_analytics", __name__, url_prefix="/crm/analytics", template_folder="templates"
)


def period() -> tuple[date, date]:
    """``?from=&to=`` (local dates, inclusive); the last 90 days by default."""
    today = datetime.now(SHANGHAI).date()

    def arg(name: str, default: date) -> date:
        try:
            return date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return default

    start, end = arg("from", today - timedelta(days=90)), arg("to", today)
    return (start, end) if start <= end else (end, start)


@bp.route("/")
@requires("crm.analytics.read")
def index() -> str:
    ctx = web_ctx()
    start, end = period()
    lo = datetime.combine(start, time.min, SHANGHAI)
    hi = datetime.combine(end + timedelta(days=1), time.min, SHANGHAI)
    funnel_rows = funnel(ctx, lo, hi)
    perf = performance(ctx, lo, hi)
    months = by_month(ctx, lo, hi)
    return render_template(
        "crm/analytics.html", funnel=funnel_rows, perf=perf, months=months, start=start,
        end=end, top=max([r["count"] for r in funnel_rows] + [1]),
        top_amount=max([r["won_amount"] for r in perf] + [Decimal(1)]),
        top_month=max([m["won_amount"] for m in months] + [Decimal(1)]),
    )
