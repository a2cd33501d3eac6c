"""The equipment module's daily job (run by ``core.jobs`` inside its own unit of work)."""

from __future__ import annotations

from datetime import date

from core.services import ServiceContext
from modules.equipment.services.maintenance import scan


def preventive_scan(on: str | None = None) -> dict[str, int]:
    """Reminders for due maintenance, overdue escalations and warranty alerts (idempotent:
    once per unit and due date). ``on`` (ISO date) scans as of another day."""
    return scan(ServiceContext.system("job"), date.fromisoformat(on) if on else None)
