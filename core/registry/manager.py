"""The per-app registry: a pluggy PluginManager holding core and the installed modules,
and everything they registered, validated once."""

from __future__ import annotations

import importlib
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import pluggy
from flask import Blueprint
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import ProgrammingError

from core import hookspecs
from core.bot.parser import normalize_trigger
from core.errors import StartupError
from core.extensions import db
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
from core.registry.discovery import ModuleInfo
from core.registry.discovery import discover
from core.registry.graph import topo_order
from core.registry.models import CoreModule


def new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("tandem")
    pm.add_hookspecs(hookspecs)
    return pm


@dataclass
class ModuleRegistry:
    """What the installed modules registered, for one app build."""

    modules: dict[str, ModuleInfo]
    installed: list[str]
    pm: pluggy.PluginManager
    permissions: dict[str, Permission] = field(default_factory=dict)
    permission_owner: dict[str, str] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    role_owner: dict[str, str] = field(default_factory=dict)
    record_rules: dict[type, list[RecordRule]] = field(default_factory=lambda: defaultdict(list))
    menus: list[MenuItem] = field(default_factory=list)
    bot_commands: dict[str, BotCommand] = field(default_factory=dict)  # trigger without "#"
    bot_command_owner: dict[str, str] = field(default_factory=dict)
    bot_command_variants: dict[str, list[BotCommand]] = field(default_factory=dict)
    card_actions: dict[str, CardAction] = field(default_factory=dict)
    jobs: dict[str, JobSpec] = field(default_factory=dict)
    settings: dict[str, Setting] = field(default_factory=dict)
    customer_sections: list[CustomerSection] = field(default_factory=list)
    workspace_cards: list[WorkspaceCard] = field(default_factory=list)
    searchers: list[Searcher] = field(default_factory=list)
    dashboard_figures: list[DashboardFigure] = field(default_factory=list)
    notification_channels: dict[str, Any] = field(default_factory=dict)
    blueprints: list[tuple[str, Blueprint]] = field(default_factory=list)
    models: dict[str, list[type]] = field(default_factory=dict)

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def is_installed(self, name: str) -> bool:
        return name == "core" or name in self.installed

    def plugin(self, name: str) -> Any:
        return self.pm.get_plugin(name)

    def call_for(self, module: str, hook_name: str, **kwargs: Any) -> Any:
        """Call one hook of one module only (demo data, lifecycle)."""
        plugin = self.pm.get_plugin(module)
        impl = getattr(plugin, hook_name, None) if plugin is not None else None
        return impl(**kwargs) if impl is not None else None

    def _collect(self, hook_name: str) -> list[tuple[str, Any]]:
        """(module name, item) for every item returned by ``hook_name``, in install order."""
        caller = getattr(self.pm.hook, hook_name)
        out = []
        for impl in caller.get_hookimpls():
            items = impl.function() or []
            out.extend((impl.plugin_name, item) for item in items)
        order = {name: i for i, name in enumerate(["core", *self.installed])}
        out.sort(key=lambda pair: order.get(pair[0], 10**6))
        return out

    def load(self) -> None:
        self._load_models()
        self._load_permissions()
        for owner, role in self._collect("register_roles"):
            self.roles[role.code] = role
            self.role_owner[role.code] = owner
        for _owner, rule in self._collect("register_record_rules"):
            self.record_rules[rule.model].append(rule)
        menus = [m for _o, m in self._collect("register_menus")]
        ids = [m.id for m in menus]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise StartupError(f"duplicate menu ids: {sorted(dupes)}")
        self.menus = sorted(menus, key=lambda m: (m.sequence, m.id))
        for owner, cmd in self._collect("register_bot_commands"):
            for trig in (cmd.trigger, *cmd.aliases):
                key = normalize_trigger(trig)
                if not key:
                    raise StartupError(f"empty bot command trigger ({owner})")
                variants = self.bot_command_variants.setdefault(key, [])
                # One trigger may serve several record types, each naming its own model.
                models = [c.model for c in variants]
                if variants and (cmd.model is None or None in models or cmd.model in models):
                    raise StartupError(f"bot command {trig} registered twice ({owner})")
                variants.append(cmd)
                self.bot_commands.setdefault(key, cmd)
                self.bot_command_owner.setdefault(key, owner)
        for owner, action in self._collect("register_card_actions"):
            if not action.key.startswith(owner + ".") or ":" in action.key:
                raise StartupError(f"card action {action.key} of {owner} must be {owner}.*")
            if action.key in self.card_actions:
                raise StartupError(f"card action {action.key} registered twice ({owner})")
            self.card_actions[action.key] = action
        for owner, job in self._collect("register_jobs"):
            if job.name in self.jobs:
                raise StartupError(f"job {job.name} registered twice ({owner})")
            self.jobs[job.name] = job
        for owner, setting in self._collect("register_settings"):
            if setting.key in self.settings:
                raise StartupError(f"setting {setting.key} registered twice ({owner})")
            self.settings[setting.key] = setting
        self.customer_sections = sorted(
            (s for _o, s in self._collect("register_customer_sections")),
            key=lambda s: (s.sequence, s.id),
        )
        self.workspace_cards = sorted(
            (c for _o, c in self._collect("register_workspace_cards")),
            key=lambda c: (c.sequence, c.id),
        )
        self.searchers = sorted(
            (s for _o, s in self._collect("register_searchers")),
            key=lambda s: (s.sequence, s.id),
        )
        self.dashboard_figures = sorted(
            (f for _o, f in self._collect("register_dashboard_figures")),
            key=lambda f: (f.sequence, f.id),
        )
        for _owner, channel in self._collect("register_notification_channels"):
            self.notification_channels[channel.name] = channel
        for owner, bp in self._collect("register_blueprints"):
            if bp.name != owner and not bp.name.startswith(owner + "_"):
                raise StartupError(f"blueprint {bp.name} of {owner} must be named {owner}[_*]")
            self.blueprints.append((owner, bp))

    def _load_models(self) -> None:
        for owner, model in self._collect("register_models"):
            table = model.__table__.name
            if not table.startswith(owner + "_"):
                raise StartupError(f"table {table} of module {owner} must start with {owner}_")
            self.models.setdefault(owner, []).append(model)

    def _load_permissions(self) -> None:
        for owner, perm in self._collect("register_permissions"):
            if not perm.code.startswith(owner + "."):
                raise StartupError(f"permission {perm.code} of {owner} must start with {owner}.")
            if perm.code in self.permissions:
                raise StartupError(f"permission {perm.code} declared twice")
            self.permissions[perm.code] = perm
            self.permission_owner[perm.code] = owner


# The core's own registrations, loaded by name like a module's ``hooks``.
CORE_PLUGIN = "core.plugin"



def import_hooks(info: ModuleInfo) -> Any:
    """Import a module's ``hooks`` (and its own ``hookspecs`` when present)."""
    return importlib.import_module(f"{info.import_name}.hooks")


def read_installed(modules: dict[str, ModuleInfo]) -> list[str]:
    """Names of installed modules whose code is present, in dependency order."""

    try:
        if not sa_inspect(db.engine).has_table("core_module"):
            return []
        names = db.session.scalars(
            select(CoreModule.name).where(CoreModule.state.in_(("installed", "to_upgrade")))
        ).all()
    except (OperationalError, ProgrammingError):
        db.session.rollback()
        return []
    finally:
        db.session.remove()
    present = [n for n in names if n in modules]
    return topo_order(present, modules)


def build_registry(extra_paths: list[str], installed: list[str] | None = None) -> ModuleRegistry:
    """Discover modules, register core and the installed ones, and collect registrations."""
    modules = discover(extra_paths)
    if installed is None:
        installed = read_installed(modules)
    pm = new_plugin_manager()
    hook_modules = []
    for name in installed:
        spec_mod = modules[name].import_submodule("hookspecs")
        if spec_mod is not None:
            pm.add_hookspecs(spec_mod)
        hook_modules.append((name, import_hooks(modules[name])))
    pm.register(importlib.import_module(CORE_PLUGIN), name="core")
    for name, mod in hook_modules:
        pm.register(mod, name=name)
    pm.check_pending()
    registry = ModuleRegistry(modules=modules, installed=installed, pm=pm)
    registry.load()
    return registry
