"""Registrations of the equipment module."""

from __future__ import annotations

from core import hookimpl
from modules.equipment.models import Equipment
from modules.equipment.models import EquipmentSequence
from modules.equipment.models import MaintenanceRecord
from modules.equipment.models import MaintenanceReminder


@hookimpl
def register_models() -> list:
    return [Equipment, MaintenanceRecord, MaintenanceReminder, EquipmentSequence]
