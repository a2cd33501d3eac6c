"""The business overview page (驾驶舱, ``/overview``): the figures of
:mod:`core.dashboard` for a quick range (本周 / 本月 / 本季 / 本年) or chosen dates, each
against the previous period and linking to the filtered list that makes it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import render_template
from flask import request

from core.dashboard import compute_figures
from core.periods import RANGES
from core.periods import local_today
from core.periods import parse_period
from core.security.access import requires
from core.web.context import web_ctx

bp = Blueprint("core_overview", __name__)


@bp.route("/overview")
@requires()
def overview() -> Any:
    ctx = web_ctx()
    period = parse_period(request.args, local_today(ctx.now))
    shown = compute_figures(ctx, period)
    groups: dict[str, list] = {}
    for item in shown:
        groups.setdefault(item.spec.group, []).append(item)
    return render_template("core/overview.html", groups=groups, period=period,
                           ranges=RANGES)
