"""Charts: Apache ECharts (vendored, ``scripts/vendor_assets.sh``) fed from a JSON data
island, each chart with its table and CSV/Excel export beside it.

In a view::

    from core.web.charts import bar_option, chart_export

    option = bar_option(["9月", "10月", "11月"], [("成交金额", [120000, 185000, 92000])],
                        money=True)
    rows = [["月份", "成交金额"], ["9月", "¥120,000.00"], …]
    if request.args.get("export") in ("csv", "xlsx"):
        return chart_export(rows, request.args["export"], "monthly_won")
    return render_template("crm/analytics.html", option=option, rows=rows)

and in the template::

    {% from "core/components/chart.html" import chart %}
    {{ chart("monthly-won", option, rows, csv_url=url_for(".index", export="csv"),
             xlsx_url=url_for(".index", export="xlsx"), title=_("每月成交金额")) }}

``chart`` writes the option as JSON (``<script type="application/json">``, no inline code:
the CSP forbids it), a table of ``rows`` (the first row is the heading) and the export links;
``static/charts.js`` loads ECharts once and draws every chart of the page.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from flask import Response
from markupsafe import Markup

PALETTE = ["#0d6efd", "#20c997", "#fd7e14", "#6f42c1", "#dc3545", "#6c757d"]


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def option_json(option: dict) -> Markup:
    """An ECharts option as JSON safe inside ``<script type="application/json">``."""
    text = json.dumps(option, ensure_ascii=False, default=_number, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def has_figures(option: dict) -> bool:
    """Whether any series of ``option`` carries a figure other than nothing or zero: a chart
    without one shows "no data" instead of bare axes (its table and exports stay)."""
    for series in option.get("series") or ():
        for point in series.get("data") or ():
            value = point.get("value") if isinstance(point, dict) else point
            if isinstance(value, (list, tuple)):  # [x, y] points
                value = value[-1] if value else None
            if value not in (None, 0, "", "-"):
                return True
    return False


def bar_option(categories: Sequence[str], series: Sequence[tuple[str, Sequence[Any]]], *,
               kind: str = "bar", money: bool = False, stack: bool = False) -> dict:
    """A bar (or ``kind="line"``) chart of one or more named series over ``categories``;
    ``money`` marks amounts (the axis and tooltips show ¥)."""
    return {
        "color": PALETTE,
        "tooltip": {"trigger": "axis"},
        "legend": {"show": len(series) > 1, "top": 0},
        "grid": {"left": 8, "right": 16, "top": 32 if len(series) > 1 else 16, "bottom": 8,
                 "containLabel": True},
        "xAxis": {"type": "category", "data": list(categories)},
        "yAxis": {"type": "value", "tandemMoney": money},
        "series": [{"name": name, "type": kind, "data": [_number(v) for v in values],
                    **({"stack": "total"} if stack else {})} for name, values in series],
    }


def funnel_option(stages: Sequence[tuple[str, Any]]) -> dict:
    """A funnel of ``(label, count)`` stages, widest first."""
    return {
        "color": PALETTE,
        "tooltip": {"trigger": "item"},
        "series": [{"type": "funnel", "left": "5%", "width": "90%", "sort": "none",
                    "label": {"show": True, "position": "inside"},
                    "data": [{"name": n, "value": _number(v)} for n, v in stages]}],
    }


def pie_option(parts: Sequence[tuple[str, Any]]) -> dict:
    return {
        "color": PALETTE,
        "tooltip": {"trigger": "item"},
        "series": [{"type": "pie", "radius": ["40%", "70%"],
                    "data": [{"name": n, "value": _number(v)} for n, v in parts]}],
    }


def chart_export(rows: Sequence[Sequence[Any]], fmt: str, name: str) -> Response:
    """A chart's table (first row: the heading) as CSV (UTF-8 with BOM, for Excel) or
    ``.xlsx``."""
    values = [[_number(v) for v in row] for row in rows]
    if fmt == "csv":
        buffer = io.StringIO()
        buffer.write("\ufeff")
        csv.writer(buffer).writerows(values)
        return Response(buffer.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(name[:31])
    for row in values:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return Response(out.getvalue(), headers={
        "Content-Disposition": f"attachment; filename={name}.xlsx"},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
