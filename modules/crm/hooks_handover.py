"""Registrations of handover (collected by ``modules/crm/hooks.py``)."""

from __future__ import annotations

from core.registration import MenuItem
from core.registration import Permission
from modules.crm.models.handover import Handover
from modules.crm.models.handover import HandoverCustomer
from modules.crm.models.handover import HandoverStep


def register_models() -> list:
    return [Handover, HandoverCustomer, HandoverStep]


def register_blueprints() -> list:
    from modules.crm.views_handover import bp

    return [bp]


def register_permissions() -> list[Permission]:
    return [
        Permission("crm.handover.read", "查看客户交接", ("manager", "sales")),
        Permission("crm.handover.start", "发起客户交接", ("manager",)),
        Permission("crm.handover.review", "审核客户交接", ("manager",)),
    ]


def register_menus() -> list[MenuItem]:
    return [MenuItem("customers.handover", "客户交接", "crm_handover.index", "customers", 40,
                     "crm.handover.read")]
