"""Extension points of equipment: sections of the equipment 360° view, and the maintenance
order the preventive scan asks for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

import pluggy

if TYPE_CHECKING:
    from datetime import date

    from core.services import ServiceContext
    from modules.equipment.models import Equipment

hookspec = pluggy.HookspecMarker("tandem")


@dataclass(frozen=True, slots=True)
class EquipmentSection:
    """A block of the equipment 360° view, like ``core.registration.CustomerSection``.

    ``render(equipment, ctx)`` returns HTML-safe markup; it should cost a fixed number of
    queries whatever the unit's history (load lists in one query each)."""

    id: str
    title: str
    render: Callable[[Any, Any], str]
    sequence: int = 100
    permission: str | None = None


@hookspec
def register_equipment_sections() -> list[EquipmentSection]:
    """Blocks of the equipment 360° view (tickets, parts … from other modules)."""


@hookspec(firstresult=True)
def maintenance_order_requested(equipment: Equipment, due_date: date,
                                ctx: ServiceContext) -> Any:
    """The preventive scan (``#生成维护工单`` or its card button) asks for a maintenance
    order for ``equipment`` due on ``due_date``. ``service`` answers with the ticket it
    created (an object with ``id`` and ``ticket_no``); when nobody answers (None), equipment
    creates a maintenance record to fill in."""


@hookspec(firstresult=True)
def equipment_fault_reported(equipment: Equipment, description: str,
                             contact_phone: str | None, ctx: ServiceContext,
                             photos: list[bytes]) -> Any:
    """A customer reported a fault on the unit's public page (its QR label), with the
    photos he took (raw uploads, possibly none). ``service`` answers with the service
    request or ticket it created (an object with ``id`` and ``ticket_no``); when nobody
    answers, equipment records a repair to fill in and tells the unit's engineer."""


@hookspec(firstresult=True)
def equipment_repairs(units: Any) -> Any:
    """The failures of the units whose ids ``units`` (a SELECT of equipment ids) selects, for
    MTBF and MTTR (``modules.equipment.reliability``): a statement of rows
    ``(equipment_id, reported_at, resolved_at)``, one per repair, ``resolved_at`` None while
    open. ``service`` answers with its repair tickets; when nobody answers, equipment counts
    its maintenance records of type repair."""
