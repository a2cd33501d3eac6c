"""Hook specifications of the Tandem core. Modules implement them in ``hooks.py``.

Registration hooks are called once per app build, for installed modules only, and return
lists of frozen objects from :mod:`core.registration`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Blueprint
    from flask import Flask

    from core.imports.spec import ImportKind
    from core.registration import BotCommand
    from core.registration import CardAction
    from core.registration import CustomerSection
    from core.registration import DashboardFigure
    from core.registration import JobSpec
    from core.registration import MenuItem
    from core.registration import Permission
    from core.registration import RecordRule
    from core.registration import Role
    from core.registration import Searcher
    from core.registration import Setting
    from core.registration import WorkspaceCard
    from core.services import ServiceContext

hookspec = pluggy.HookspecMarker("tandem")


@hookspec
def register_models() -> list[type]:
    """Model classes of the module; their tables must be prefixed ``<module>_``."""


@hookspec
def register_blueprints() -> list[Blueprint]:
    """Flask blueprints, named ``<module>`` or ``<module>_<suffix>``."""


@hookspec
def register_permissions() -> list[Permission]:
    """Permissions ``<module>.<object>.<verb>`` with their default role grants."""


@hookspec
def register_roles() -> list[Role]:
    """Extra roles the module adds to the core ones."""


@hookspec
def register_record_rules() -> list[RecordRule]:
    """Row-level access rules applied by the query layer to every read path."""


@hookspec
def register_menus() -> list[MenuItem]:
    """Back-office menu entries, filtered by permission when shown."""


@hookspec
def register_bot_commands() -> list[BotCommand]:
    """Chat commands (``#认领`` …) handled by the bot dispatcher."""


@hookspec
def register_card_actions() -> list[CardAction]:
    """Card button handlers (keys ``<module>.…``), the click twin of bot commands."""


@hookspec
def register_jobs() -> list[JobSpec]:
    """Background jobs, periodic ones with a cron schedule."""


@hookspec
def register_settings() -> list[Setting]:
    """Settings shown and edited on the admin settings page."""


@hookspec
def register_notification_channels() -> list[Any]:
    """Notification channels (objects with ``name`` and ``send(notification)``)."""


@hookspec
def register_customer_sections() -> list[CustomerSection]:
    """Sections of the customer 360° view contributed by this module."""


@hookspec
def register_workspace_cards() -> list[WorkspaceCard]:
    """Cards of the home workspace (KPIs, to-do lists, quick actions) from this module."""


@hookspec
def register_dashboard_figures() -> list[DashboardFigure]:
    """Figures of the business overview (驾驶舱) from this module, each computed for the
    user and a period, with its link to the filtered list that makes it."""


@hookspec
def register_searchers() -> list[Searcher]:
    """Kinds of record the navbar's global search finds, from this module."""


@hookspec
def register_import_kinds() -> list[ImportKind]:
    """Kinds of record this module imports from Excel/CSV (template, dry run, bulk import)."""


@hookspec
def register_cli_commands(cli: click.Group) -> None:
    """Add click commands or groups to ``manage.py``."""


@hookspec
def load_demo_data(ctx: ServiceContext) -> None:
    """Create the module's demo records (called for this module only, by ``demo load``)."""


@hookspec
def app_ready(app: Flask) -> None:
    """Last step of app creation: Jinja filters, error handlers, context processors."""


@hookspec
def module_installed(name: str, ctx: ServiceContext) -> None:
    """Broadcast after module ``name`` was installed."""


@hookspec
def module_uninstalled(name: str, ctx: ServiceContext) -> None:
    """Broadcast after module ``name`` was uninstalled."""
