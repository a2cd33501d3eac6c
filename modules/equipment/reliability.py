"""Reliability of units and models: MTBF and MTTR from their repair history.

Definitions (also shown on the pages):

- a *failure* is a repair: a service ticket of type ``repair`` on the unit (not cancelled or
  rejected) when the service module is installed — it answers the ``equipment_repairs``
  hook —, otherwise a maintenance record of type ``repair``;
- **MTBF** (mean time between failures) = the unit's operating time since installation (from
  ``install_date`` to today, or to the day it was retired) / its number of failures, in
  days; with no failure it is not known (shown as "—");
- **MTTR** (mean time to repair) = the mean time from a failure's report to its resolution,
  in hours, over the failures resolved: a ticket's ``created_at`` → ``resolved_at``; a
  maintenance record's creation (the fault report) → its maintenance date, in whole days;
- for a model (brand + model), the operating time and failures of all its units add up:
  MTBF = Σ operating days / Σ failures, MTTR = the mean over all its resolved failures. A
  unit without an install date has no known operating time: its failures count (failures,
  MTTR) but not in the MTBF, which would otherwise divide the other units' days by them.

:func:`compute` is the pure arithmetic; :func:`unit_reliability` and
:func:`model_reliability` read what it needs in a fixed number of queries (two for a model
table, one for a unit, whatever the history's length)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.hooks import call
from core.services import ServiceContext
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceRecord

# (install date, end date or None for "still in use", number of units with these dates)
Span = tuple[date | None, date | None, int]
# (reported at, resolved at or None): datetimes, or dates for maintenance records
Failure = tuple[date | datetime | None, date | datetime | None]


@dataclass(frozen=True, slots=True)
class Reliability:
    units: int
    operating_days: int
    failures: int
    resolved: int
    mtbf_days: float | None
    mttr_hours: float | None


def repair_hours(reported: date | datetime | None,
                 resolved: date | datetime | None) -> float | None:
    """Hours from a failure's report to its resolution (None when not resolved). Two
    datetimes give exact hours; with a date on either side, whole days × 24. Never
    negative (a record entered after the repair counts 0)."""
    if reported is None or resolved is None:
        return None
    if isinstance(reported, datetime) and isinstance(resolved, datetime):
        return max((resolved - reported).total_seconds() / 3600, 0.0)
    start = reported.date() if isinstance(reported, datetime) else reported
    end = resolved.date() if isinstance(resolved, datetime) else resolved
    return max((end - start).days, 0) * 24.0


def compute(spans: Iterable[Span], failures: Iterable[Failure], on: date, *,
            undated_failures: int = 0) -> Reliability:
    """MTBF and MTTR of a unit or a set of units (see the module's docstring);
    ``undated_failures`` of ``failures`` are of units without an install date (no MTBF)."""
    units = days = 0
    for installed, ended, count in spans:
        units += count
        if installed is not None:
            days += max(((ended or on) - installed).days, 0) * count
    n = resolved = 0
    hours = 0.0
    for reported, fixed in failures:
        n += 1
        spent = repair_hours(reported, fixed)
        if spent is not None:
            resolved += 1
            hours += spent
    dated = n - undated_failures  # failures of units with a known operating time
    return Reliability(units=units, operating_days=days, failures=n, resolved=resolved,
                       mtbf_days=days / dated if dated > 0 and days else None,
                       mttr_hours=hours / resolved if resolved else None)


def repairs(units: Any) -> Any:
    """A statement of (equipment_id, reported, resolved) rows, one per failure of the units
    whose ids ``units`` selects: the service module's repair tickets, or maintenance
    records of type repair when nobody answers."""
    answer = call("equipment_repairs", units=units)
    if answer is not None:
        return answer
    record = MaintenanceRecord
    return (select(record.equipment_id, record.created_at,
                   case((record.status == "done", record.maintenance_date), else_=None))
            .where(record.maintenance_type == "repair", record.equipment_id.in_(units)))


def _end_date() -> Any:
    return case((Equipment.status == "retired", Equipment.status_date), else_=None)


def unit_reliability(equipment: Equipment, on: date,
                     records: list[MaintenanceRecord] | None = None) -> Reliability:
    """One unit's MTBF and MTTR: one query (its failures), or none when no module answers
    ``equipment_repairs`` and the unit's ``records`` (all of them) are given."""
    ended = equipment.status_date if equipment.status == "retired" else None
    units = select(Equipment.id).where(Equipment.id == equipment.id)
    answer = call("equipment_repairs", units=units)
    if answer is not None:
        failures = [(r[1], r[2]) for r in db.session.execute(answer)]
    elif records is not None:
        failures = [(r.created_at, r.maintenance_date if r.status == "done" else None)
                    for r in records if r.maintenance_type == "repair"]
    else:
        failures = [(r[1], r[2]) for r in db.session.execute(repairs(units))]
    return compute([(equipment.install_date, ended, 1)], failures, on)


@dataclass(frozen=True, slots=True)
class ModelReliability:
    brand: str | None
    model: str | None
    stats: Reliability


def model_reliability(ctx: ServiceContext, on: date, *,
                      brand: str | None = None) -> list[ModelReliability]:
    """Per model (brand + model) of the units ``ctx`` may see: two queries, the units'
    install spans grouped by model and dates, and their failures. Most failures first."""
    from modules.equipment.services.equipment import equipment_select

    visible = equipment_select(ctx)
    if brand:
        visible = visible.where(Equipment.brand == brand)
    ids = visible.with_only_columns(Equipment.id).order_by(None)
    ended = _end_date()
    spans: dict[tuple[Any, Any], list[Span]] = {}
    for row in db.session.execute(
            visible.with_only_columns(Equipment.brand, Equipment.model, Equipment.install_date,
                                      ended, func.count()).order_by(None)
            .group_by(Equipment.brand, Equipment.model, Equipment.install_date, ended)):
        spans.setdefault((row[0], row[1]), []).append((row[2], row[3], row[4]))
    failures: dict[tuple[Any, Any], list[Failure]] = {}
    undated: dict[tuple[Any, Any], int] = {}
    found = repairs(ids).subquery()
    columns = list(found.c)
    for row in db.session.execute(
            select(Equipment.brand, Equipment.model, columns[1], columns[2],
                   Equipment.install_date.is_(None))
            .join_from(found, Equipment, Equipment.id == columns[0])):
        failures.setdefault((row[0], row[1]), []).append((row[2], row[3]))
        if row[4]:
            undated[row[0], row[1]] = undated.get((row[0], row[1]), 0) + 1
    out = [ModelReliability(key[0], key[1], compute(value, failures.get(key, ()), on,
                                                    undated_failures=undated.get(key, 0)))
           for key, value in spans.items()]
    out.sort(key=lambda m: (-m.stats.failures, m.brand or "", m.model or ""))
    return out
