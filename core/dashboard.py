"""The business overview (驾驶舱): the figures installed modules contribute through
``register_dashboard_figures()``, computed for one user and one period.

Each figure reads through its module's scoped selects, so a salesperson's overview counts
his own records, a manager's his team's; figures the user may not see are left out, and a
figure that fails is logged and shown as unavailable (the page still answers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.extensions import db
from core.hooks import registry
from core.periods import Period
from core.registration import DashboardFigure
from core.registration import Figure
from core.services import ServiceContext

log = logging.getLogger("tandem.dashboard")


@dataclass(frozen=True)
class ShownFigure:
    spec: DashboardFigure
    figure: Figure | None
    failed: bool = False

    @property
    def change(self) -> float | None:
        """The relative change against the previous period (None when not comparable)."""
        figure = self.figure
        if figure is None or figure.previous is None or figure.value is None:
            return None
        if not figure.previous:
            return None
        return (float(figure.value) - float(figure.previous)) / abs(float(figure.previous))


def visible_figures(ctx: ServiceContext) -> list[DashboardFigure]:
    return [f for f in registry().dashboard_figures
            if f.permission is None or ctx.can(f.permission)]


def compute_figures(ctx: ServiceContext, period: Period) -> list[ShownFigure]:
    """Each visible figure for ``period``; one that raises is logged and marked failed."""
    shown = []
    for spec in visible_figures(ctx):
        try:
            figure = spec.compute(ctx, period)
        except Exception:  # noqa: BLE001 - one broken figure must not take the page down
            log.exception("dashboard figure %s failed", spec.id)
            db.session.rollback()
            shown.append(ShownFigure(spec, None, failed=True))
            continue
        if figure is not None:
            shown.append(ShownFigure(spec, figure))
    return shown
