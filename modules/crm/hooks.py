"""crm's hook implementations. Each area (customers, opportunities, handover) keeps its
registrations in ``hooks_<area>.py`` as plain functions named like the hooks; this module
concatenates them, so pluggy sees one plugin per module."""

from __future__ import annotations

from typing import Any

import modules.crm.models  # noqa: F401  (registers the tables)
from core import hookimpl
from modules.crm.util import import_optional_parts

_PARTS = import_optional_parts(
    "modules.crm", ("hooks_customers", "hooks_opportunities", "hooks_handover")
)


def _gather(name: str, **kwargs: Any) -> list:
    out: list = []
    for part in _PARTS:
        fn = getattr(part, name, None)
        if fn is not None:
            out.extend(fn(**kwargs) or [])
    return out


@hookimpl
def register_models() -> list:
    return _gather("register_models")


@hookimpl
def register_blueprints() -> list:
    return _gather("register_blueprints")


@hookimpl
def register_permissions() -> list:
    return _gather("register_permissions")


@hookimpl
def register_record_rules() -> list:
    return _gather("register_record_rules")


@hookimpl
def register_menus() -> list:
    return _gather("register_menus")


@hookimpl
def register_bot_commands() -> list:
    return _gather("register_bot_commands")


@hookimpl
def register_card_actions() -> list:
    return _gather("register_card_actions")


@hookimpl
def register_jobs() -> list:
    return _gather("register_jobs")


@hookimpl
def register_settings() -> list:
    return _gather("register_settings")


@hookimpl
def register_customer_sections() -> list:
    return _gather("register_customer_sections")


@hookimpl
def load_demo_data(ctx: Any) -> None:
    for part in _PARTS:
        fn = getattr(part, "load_demo_data", None)
        if fn is not None:
            fn(ctx=ctx)
