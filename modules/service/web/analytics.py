"""The service analytics page (售后服务分析): response and resolution times, satisfaction
and reopen rate, failure analysis and engineer performance for a quick range or chosen
dates, headline figures against the previous period; every chart drawn with the shell's
chart component (:mod:`core.web.charts`) with its table and CSV/Excel export beside it.
Figures come from :mod:`modules.service.analytics` (through the record rules)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import render_template
from flask import request
from flask_babel import gettext as _

from core.periods import RANGES
from core.periods import local_today
from core.periods import parse_period
from core.security.access import requires
from core.web.charts import bar_option
from core.web.charts import chart_export
from core.web.context import web_ctx
from modules.service import analytics
from modules.service.models import PRIORITIES
from modules.service.models import TICKET_TYPES

bp = Blueprint("service_analytics", __name__, url_prefix="/service/analytics",
               template_folder="templates")


def hours(minutes: float | None) -> float | None:
    """Working minutes as working hours, one decimal."""
    return round(minutes / 60.0, 1) if minutes is not None else None


def _dash(value: Any) -> Any:
    return "—" if value is None else value


def _percent(value: float | None) -> str:
    return f"{value * 100:.0f}%" if value is not None else "—"


def _time_table(groups: list[dict], heading: str) -> list[list[Any]]:
    rows: list[list[Any]] = [[heading, _("工单数"), _("首次响应中位数（小时）"),
                              _("首次响应 P90（小时）"), _("解决中位数（小时）"),
                              _("解决 P90（小时）"), _("已解决")]]
    for g in groups:
        rows.append([g["label"], g["tickets"], _dash(hours(g["response"]["median"])),
                     _dash(hours(g["response"]["p90"])),
                     _dash(hours(g["resolution"]["median"])),
                     _dash(hours(g["resolution"]["p90"])), g["resolution"]["n"]])
    return rows


def _time_option(groups: list[dict], *, kind: str = "bar") -> dict:
    return bar_option([g["label"] for g in groups], [
        (_("首次响应中位数"), [hours(g["response"]["median"]) for g in groups]),
        (_("解决中位数"), [hours(g["resolution"]["median"]) for g in groups]),
        (_("解决 P90"), [hours(g["resolution"]["p90"]) for g in groups]),
    ], kind=kind)


def headline(groups: dict, sat: dict, engineers: list[dict]) -> dict[str, Any]:
    """The figures compared with the previous period."""
    closed = sum(e["closed"] for e in engineers)
    every = groups["all"]
    return {
        "response": every["response"]["median"],
        "resolution": every["resolution"]["median"],
        "csat": sat["csat"], "average": sat["average"], "reopen_rate": sat["reopen_rate"],
        "first_time": sum(e["first_time"] for e in engineers) / closed if closed else None,
        "tickets": every["tickets"],
    }


def compute(ctx: Any, period: Any) -> dict[str, Any]:
    rows = analytics.time_groups(ctx, period.start, period.end)
    prev_rows = analytics.time_groups(ctx, period.prev_start, period.prev_end)
    sat = analytics.satisfaction(ctx, period.start, period.end)
    prev_sat = analytics.satisfaction(ctx, period.prev_start, period.prev_end)
    engineers = analytics.engineers(ctx, period.start, period.end)
    prev_engineers = analytics.engineers(ctx, period.prev_start, period.prev_end)
    names = analytics.user_names(g["key"] for g in rows["assignee_id"])
    return {
        "by_period": analytics.times_by(rows, "period"),
        "by_type": analytics.times_by(rows, "ticket_type",
                                      lambda k: _(TICKET_TYPES.get(k, k))),
        "by_priority": analytics.times_by(rows, "priority",
                                          lambda k: _(PRIORITIES.get(k, k))),
        "by_engineer": analytics.times_by(rows, "assignee_id",
                                          lambda k: names.get(k) or _("未指派")),
        "satisfaction": sat, "engineers": engineers,
        "failures": analytics.failures(ctx, period.start, period.end),
        "now": headline(rows, sat, engineers),
        "before": headline(prev_rows, prev_sat, prev_engineers),
    }


def tables(data: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """Each chart's figures as a table (first row the heading), shown and exported."""
    sat, fail = data["satisfaction"], data["failures"]
    return {
        "period": _time_table(data["by_period"], _("期间")),
        "type": _time_table(data["by_type"], _("类型")),
        "priority": _time_table(data["by_priority"], _("优先级")),
        "engineer_times": _time_table(data["by_engineer"], _("工程师")),
        "scores": [[_("评分"), _("评价数")]] + [[s, n] for s, n in sat["scores"].items()],
        "brands": [[_("品牌"), _("故障工单")]] + [[b or _("未填"), n] for b, n in fail["brands"]],
        "models": [[_("型号"), _("故障工单")]] + [[m or _("未填"), n] for m, n in fail["models"]],
        "causes": [[_("故障原因"), _("工单数"), _("消耗配件")]]
        + [[c["cause"], c["tickets"], "；".join(f"{p} × {q}" for p, q in c["parts"])]
           for c in fail["causes"]],
        "parts": [[_("配件"), _("数量")]] + [[p, q] for p, q in fail["parts"]],
        "engineers": [[_("工程师"), _("完成工单"), _("现场时长（小时）"), _("一次修复率"),
                       _("平均评分"), _("评价数")]]
        + [[e["engineer"], e["closed"], e["hours"], _percent(e["first_time_rate"]),
            f"{e['rating']:.2f}" if e["rating"] is not None else "—", e["ratings"]]
           for e in data["engineers"]],
    }


def options(data: dict[str, Any]) -> dict[str, dict]:
    sat, fail, eng = data["satisfaction"], data["failures"], data["engineers"]
    return {
        "period": _time_option(data["by_period"], kind="line"),
        "type": _time_option(data["by_type"]),
        "priority": _time_option(data["by_priority"]),
        "engineer_times": _time_option(data["by_engineer"]),
        "scores": bar_option([str(s) for s in sat["scores"]],
                             [(_("评价数"), list(sat["scores"].values()))]),
        "brands": bar_option([b or _("未填") for b, _n in fail["brands"]],
                             [(_("故障工单"), [n for _b, n in fail["brands"]])]),
        "models": bar_option([m or _("未填") for m, _n in fail["models"]],
                             [(_("故障工单"), [n for _m, n in fail["models"]])]),
        "causes": bar_option([c["cause"] for c in fail["causes"]],
                             [(_("工单数"), [c["tickets"] for c in fail["causes"]])]),
        "parts": bar_option([p for p, _q in fail["parts"]],
                            [(_("数量"), [q for _p, q in fail["parts"]])]),
        "engineers": bar_option([e["engineer"] for e in eng],
                                [(_("完成工单"), [e["closed"] for e in eng]),
                                 (_("现场时长（小时）"), [e["hours"] for e in eng])]),
    }


@bp.route("/")
@requires("service.analytics.read")
def index() -> Any:
    ctx = web_ctx()
    period = parse_period(request.args, local_today(ctx.now))
    data = compute(ctx, period)
    shown = tables(data)
    fmt = request.args.get("export")
    if fmt:
        chart = request.args.get("chart", "")
        if fmt not in ("csv", "xlsx") or chart not in shown:
            abort(400)
        return chart_export(shown[chart], fmt,
                            f"service_{chart}_{period.first_day}_{period.last_day}")
    return render_template("service/analytics.html", data=data, tables=shown,
                           options=options(data), period=period, ranges=RANGES,
                           hours=hours, percent=_percent)
