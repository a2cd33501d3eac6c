"""The sales analytics page: the conversion funnel by stage, won amounts and counts by month
and performance by owner (figures from :mod:`modules.crm.queries`, read through the record
rules: a salesperson sees his own, a manager his team's), drawn with the chart component
(:mod:`core.web.charts`), each chart with its table and CSV/Excel export. Quick ranges
本月 / 本季 / 本年, or any dates.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask import abort
from flask import render_template
from flask import request
from flask_babel import gettext as _

from core.security.access import requires
from core.web.charts import bar_option
from core.web.charts import chart_export
from core.web.charts import funnel_option
from core.web.context import web_ctx
from core.web.templating import money
from modules.crm.queries import SHANGHAI
from modules.crm.queries import by_month
from modules.crm.queries import funnel
from modules.crm.queries import performance

bp = Blueprint(
    "crm_analytics", __name__, url_prefix="/crm/analytics", template_folder="templates"
)

RANGES = {"month": "本月", "quarter": "本季", "year": "本年", "90d": "近 90 天"}


def quick_range(name: str, today: date) -> tuple[date, date] | None:
    """本月 / 本季 / 本年 (to today) or the last 90 days; None for an unknown name."""
    if name == "month":
        return today.replace(day=1), today
    if name == "quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), today
    if name == "year":
        return today.replace(month=1, day=1), today
    if name == "90d":
        return today - timedelta(days=90), today
    return None


def period() -> tuple[date, date, str | None]:
    """``?range=month|quarter|year|90d`` or ``?from=&to=`` (local dates, inclusive); this
    month by default. Returns the dates and the quick range's name (None for dates)."""
    today = datetime.now(SHANGHAI).date()
    name = request.args.get("range")
    if name is None and not (request.args.get("from") or request.args.get("to")):
        name = "month"
    chosen = quick_range(name or "", today)
    if chosen is not None:
        return chosen[0], chosen[1], name

    def arg(key: str, default: date) -> date:
        try:
            return date.fromisoformat(request.args.get(key, ""))
        except ValueError:
            return default

    start, end = arg("from", today - timedelta(days=90)), arg("to", today)
    return (*((start, end) if start <= end else (end, start)), None)


def _percent(value: float | None) -> str:
    return f"{value * 100:.0f}%" if value is not None else "—"


def _tables(funnel_rows: list[dict], months: list[dict], perf: list[dict]) -> dict[str, Any]:
    """Each chart's figures as a table (first row the heading): shown beside the chart and
    exported as CSV/Excel."""
    return {
        "funnel": [[_("阶段"), _("商机数"), _("占比")]]
        + [[_(r["label"]), r["count"], _percent(r["rate"])] for r in funnel_rows],
        "months": [[_("月份"), _("成交数量"), _("成交金额")]]
        + [[m["month"], m["won"], money(m["won_amount"])] for m in months],
        "owners": [[_("负责人"), _("成交金额"), _("新建"), _("成交"), _("丢单"), _("赢单率"),
                    _("平均周期（天）")]]
        + [[r["owner"], money(r["won_amount"]), r["created"], r["won"], r["lost"],
            _percent(r["win_rate"]),
            r["avg_cycle_days"] if r["avg_cycle_days"] is not None else "—"] for r in perf],
    }


@bp.route("/")
@requires("crm.opportunity.read")
def index() -> Any:
    ctx = web_ctx()
    start, end, range_name = period()
    lo = datetime.combine(start, time.min, SHANGHAI)
    hi = datetime.combine(end + timedelta(days=1), time.min, SHANGHAI)
    funnel_rows = funnel(ctx, lo, hi)
    perf = performance(ctx, lo, hi)
    months = by_month(ctx, lo, hi)
    tables = _tables(funnel_rows, months, perf)
    fmt = request.args.get("export")
    if fmt:
        chart = request.args.get("chart", "")
        if fmt not in ("csv", "xlsx") or chart not in tables:
            abort(400)
        return chart_export(tables[chart], fmt, f"crm_{chart}_{start}_{end}")
    options = {
        "funnel": funnel_option([(_(r["label"]), r["count"]) for r in funnel_rows
                                 if r["status"] != "lost"]),
        "amounts": bar_option([m["month"] for m in months],
                              [(_("成交金额"), [m["won_amount"] for m in months])], money=True),
        "counts": bar_option([m["month"] for m in months],
                             [(_("成交数量"), [m["won"] for m in months])], kind="line"),
        "owners": bar_option([r["owner"] for r in perf],
                             [(_("成交金额"), [r["won_amount"] for r in perf])], money=True),
    }
    return render_template(
        "crm/analytics.html", funnel=funnel_rows, perf=perf, months=months, start=start,
        end=end, range_name=range_name, ranges=RANGES, options=options, tables=tables,
        mine_only=not ctx.can("crm.opportunity.assign"),
    )
