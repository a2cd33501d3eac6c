"""Install, upgrade and uninstall modules at run time (CLI and the Apps page share this)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from core import hooks
from core.audit import HISTORY_TABLES
from core.audit import forget_tables
from core.db import utcnow
from core.errors import ModuleError
from core.extensions import db
from core.registry import migrations
from core.registry import sqlite_ids
from core.registry.discovery import ModuleInfo
from core.registry.graph import auto_installable
from core.registry.graph import closure
from core.registry.graph import dependents
from core.registry.graph import topo_order
from core.registry.manager import ModuleRegistry
from core.registry.manager import build_registry
from core.registry.manifest import missing_external_dependencies
from core.registry.models import CoreModule
from core.registry.models import CoreState
from core.security.models import CORE_ROLES
from core.security.models import Role
from core.security.models import RolePermission
from core.services import ServiceContext
from core.services import unit_of_work
from core.settings import SettingValue
from core.storage import StorageError
from core.storage import delete_module_files
from core.storage import module_files

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


def _noop(msg: str) -> None:
    return None


def _extra_paths() -> list[str]:
    return list(current_app.config.get("TANDEM_MODULE_PATHS") or [])


def _registry() -> ModuleRegistry:
    return hooks.registry()


def installed_names() -> list[str]:
    rows = db.session.scalars(select(CoreModule.name).where(CoreModule.state == "installed"))
    return list(rows)


def bump_registry_version() -> int:
    state = db.session.get(CoreState, "registry_version")
    if state is None:
        state = CoreState(key="registry_version", value=0)
        db.session.add(state)
    state.value += 1
    db.session.commit()
    return state.value


def ensure_core(progress: Progress = _noop) -> None:
    """Bring the core schema to head and seed the core roles and grants."""
    progress("core: 升级数据库结构")
    migrations.upgrade_branch("core")
    # SQLite databases made before every table was AUTOINCREMENT (issue 14 #1): the
    # tables of core and of every installed module, once.
    sqlite_ids.rebuild(db.engine, progress)
    for code, label in CORE_ROLES.items():
        if db.session.get(Role, code) is None:
            db.session.add(Role(code=code, label=label, module="core"))
    db.session.flush()
    _seed_grants(_registry(), "core")
    db.session.commit()


def _seed_grants(registry: ModuleRegistry, module: str) -> None:
    """Create the module's roles and grant its permissions to their default roles."""
    for code, role in registry.roles.items():
        if registry.role_owner[code] == module and db.session.get(Role, code) is None:
            db.session.add(Role(code=code, label=role.label, module=module))
    db.session.flush()
    existing_roles = set(db.session.scalars(select(Role.code)))
    existing = {(rp.role_code, rp.permission) for rp in db.session.scalars(select(RolePermission))}
    for code, perm in registry.permissions.items():
        if registry.permission_owner[code] != module:
            continue
        for role in perm.default_roles:
            if role in existing_roles and (role, code) not in existing:
                db.session.add(RolePermission(role_code=role, permission=code))


@dataclass
class UninstallPlan:
    modules: list[str]  # in removal order
    tables: dict[str, int]  # table -> rows that will be dropped
    # core table -> its rows about the modules' records that go too (audit, comments …)
    history: dict[str, int] = field(default_factory=dict)
    # module -> its stored files (uploaded photos …), deleted too unless kept; -1: unknown
    files: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        lines = [_("将卸载：%(modules)s", modules=_("、").join(self.modules))]
        if self.tables:
            lines.append(_("将删除以下数据表及其数据："))
            lines += ["  " + _("%(table)s：%(rows)s 行", table=t, rows=n)
                      for t, n in sorted(self.tables.items())]
        else:
            lines.append(_("没有数据表将被删除。"))
        history = {t: n for t, n in self.history.items() if n}
        if history:
            lines.append(_("这些记录的历史（审计日志、备注、通知等）也将删除："))
            lines += ["  " + _("%(table)s：%(rows)s 行", table=t, rows=n)
                      for t, n in sorted(history.items())]
        files = {m: n for m, n in self.files.items() if n}
        if files:
            lines.append(_("这些模块存储的文件（照片等）也将删除："))
            lines += ["  " + (_("%(module)s：%(n)s 个文件", module=m, n=n) if n > 0 else
                              _("%(module)s：文件数未知（存储不可用）", module=m))
                      for m, n in sorted(files.items())]
        return "\n".join(lines)


def install(
    names: list[str],
    *,
    demo: bool = False,
    progress: Progress = _noop,
    ctx: ServiceContext | None = None,
) -> list[str]:
    """Install ``names`` with their dependencies and any satisfied auto-install bridges."""
    registry = _registry()
    modules = registry.modules
    for name in names:
        if name not in modules:
            raise ModuleError(_("找不到模块 %(name)s", name=name))
        if not modules[name].manifest.installable:
            raise ModuleError(_("模块 %(name)s 不可安装", name=name))
    installed = set(installed_names())
    wanted = closure(names, modules) - installed
    while True:
        bridges = auto_installable(installed | wanted, modules) - wanted
        if not bridges:
            break
        wanted |= closure(bridges, modules) - installed
    order = topo_order(wanted, modules)
    _require_external_dependencies(order, modules)
    done: list[str] = []
    for name in order:
        progress(f"安装 {name}")
        _install_one(modules[name], installed | set(done), demo=demo, ctx=ctx)
        done.append(name)
    if done:
        bump_registry_version()
    return done


def _require_external_dependencies(order: list[str], modules: dict[str, ModuleInfo]) -> None:
    """Refuse the whole installation, before anything is installed, when a module to
    install lacks an external dependency its manifest declares; say which."""
    missing = [(name, found) for name in order
               if (found := missing_external_dependencies(modules[name].manifest))]
    if missing:
        details = _("；").join(
            _("%(module)s 需要 %(packages)s", module=name, packages=_("、").join(found))
            for name, found in missing
        )
        raise ModuleError(_("缺少外部依赖，未安装任何模块：%(details)s。请先安装这些依赖。",
                            details=details))


def _install_one(
    info: ModuleInfo, installed: set[str], *, demo: bool, ctx: ServiceContext | None
) -> None:
    row = db.session.scalar(select(CoreModule).where(CoreModule.name == info.name))
    if row is None:
        row = CoreModule(name=info.name)
        db.session.add(row)
    row.state = "to_install"
    row.depends = list(info.manifest.depends)
    db.session.commit()
    registry = build_registry(
        _extra_paths(), installed=topo_order(installed | {info.name}, _registry().modules)
    )
    if migrations.has_branch(info.name):
        migrations.upgrade_branch(info.name)
    _seed_grants(registry, info.name)
    row = db.session.scalar(select(CoreModule).where(CoreModule.name == info.name))
    row.state = "installed"
    row.installed_version = info.manifest.version
    row.installed_at = utcnow()
    db.session.commit()
    ctx = ctx or ServiceContext.system("cli")
    if demo:
        load_demo(info.name, registry=registry, ctx=ctx)
    registry.hook.module_installed(name=info.name, ctx=ctx)
    db.session.commit()


def load_demo(
    name: str, *, registry: ModuleRegistry | None = None, ctx: ServiceContext | None = None
) -> None:
    """Load one module's demo data in its own transaction."""

    registry = registry or _registry()
    ctx = ctx or ServiceContext.system("cli")
    with unit_of_work(ctx):
        registry.call_for(name, "load_demo_data", ctx=ctx)
        row = db.session.scalar(select(CoreModule).where(CoreModule.name == name))
        if row is not None:
            row.demo = True


def upgrade(names: list[str] | None = None, progress: Progress = _noop) -> list[str]:
    """Bring the named (default: all installed) modules to their migration heads."""
    registry = _registry()
    installed = installed_names()
    targets = names or installed
    for name in targets:
        if name not in installed:
            raise ModuleError(_("模块 %(name)s 未安装", name=name))
    done = []
    for name in topo_order(targets, registry.modules):
        progress(f"升级 {name}")
        info = registry.modules[name]
        if migrations.has_branch(name):
            migrations.upgrade_branch(name)
        row = db.session.scalar(select(CoreModule).where(CoreModule.name == name))
        row.installed_version = info.manifest.version
        row.state = "installed"
        _seed_grants(registry, name)
        db.session.commit()
        done.append(name)
    if done:
        bump_registry_version()
    return done


def uninstall_plan(name: str, *, cascade: bool = False) -> UninstallPlan:
    registry = _registry()
    installed = installed_names()
    if name not in installed:
        raise ModuleError(_("模块 %(name)s 未安装", name=name))
    deps = dependents(name, installed, registry.modules)
    if deps and not cascade:
        raise ModuleError(_("无法卸载 %(name)s：%(dependents)s 依赖它（可使用 --cascade）",
                                name=name, dependents=_("、").join(sorted(deps))))
    order = list(reversed(topo_order(deps | {name}, registry.modules)))
    inspector = sa_inspect(db.engine)
    tables: dict[str, int] = {}
    for module in order:
        for table in inspector.get_table_names():
            if table.startswith(module + "_"):
                tbl = db.metadata.tables.get(table)
                if tbl is not None:
                    tables[table] = db.session.scalar(select(func.count()).select_from(tbl))
                else:
                    tables[table] = -1
    return UninstallPlan(order, tables, _history_counts(order), _file_counts(order))


def _file_counts(modules: list[str]) -> dict[str, int]:
    """Each module's stored files (-1 when the store cannot be read now)."""
    counts: dict[str, int] = {}
    for module in modules:
        try:
            counts[module] = module_files(module)
        except StorageError:
            counts[module] = -1
    return counts


def _history_counts(modules: list[str]) -> dict[str, int]:
    """Rows of core tables keyed by a record of ``modules`` (what uninstall also removes)."""
    counts: dict[str, int] = {}
    for name, column in HISTORY_TABLES:
        table = db.metadata.tables.get(name)
        if table is None:
            continue
        for module in modules:
            pattern = module.replace("_", "\\_") + "\\_%"
            counts[name] = counts.get(name, 0) + (db.session.scalar(
                select(func.count()).select_from(table)
                .where(table.c[column].like(pattern, escape="\\"))) or 0)
    return counts


def uninstall(
    name: str,
    *,
    cascade: bool = False,
    progress: Progress = _noop,
    ctx: ServiceContext | None = None,
    keep_files: bool = False,
) -> UninstallPlan:
    """Uninstall ``name`` (and, with ``cascade``, what depends on it): its tables, core rows
    about its records and, unless ``keep_files``, its stored files go."""
    plan = uninstall_plan(name, cascade=cascade)
    registry = _registry()
    ctx = ctx or ServiceContext.system("cli")
    for module in plan.modules:
        progress(f"卸载 {module}")
        row = db.session.scalar(select(CoreModule).where(CoreModule.name == module))
        row.state = "to_remove"
        db.session.commit()
        if migrations.has_branch(module):
            migrations.downgrade_branch(module)
        perms = [c for c, owner in registry.permission_owner.items() if owner == module]
        if perms:
            db.session.execute(delete(RolePermission).where(RolePermission.permission.in_(perms)))
        # The module's roles stay: users may still hold them, and a reinstall reuses them.
        _cleanup_core_rows(module)
        row = db.session.scalar(select(CoreModule).where(CoreModule.name == module))
        row.state = "uninstalled"
        row.installed_version = None
        row.demo = False
        db.session.commit()
        if not keep_files:
            _delete_files(module, progress)
        registry.hook.module_uninstalled(name=module, ctx=ctx)
    bump_registry_version()
    return plan


def _delete_files(module: str, progress: Progress) -> None:
    """The module's stored files (its rows are gone: nothing points at them any more)."""
    try:
        removed = delete_module_files(module)
    except StorageError as exc:  # the store is down: the module is uninstalled all the same
        log.warning("could not delete the stored files of %s: %s", module, exc)
        progress(_("无法删除 %(module)s 存储的文件：%(error)s", module=module, error=str(exc)))
        return
    if removed:
        progress(_("已删除 %(module)s 存储的 %(n)s 个文件", module=module, n=removed))


def _cleanup_core_rows(module: str) -> None:
    """Remove core rows that belong to the module: its settings, and everything kept about
    its records (audit rows, comments, chat contexts, notifications): a reinstall starts its
    ids again, and the old history must not show on new records (issue 14 #1, #15)."""

    db.session.execute(delete(SettingValue).where(SettingValue.key.like(f"{module}.%")))
    forget_tables(db.session.connection(), module + "_")


def module_states() -> list[dict[str, Any]]:
    """Every discovered module with its state and versions, for ``modules list``/Apps page."""
    registry = _registry()
    rows = {r.name: r for r in db.session.scalars(select(CoreModule))}
    out = []
    for name in sorted(registry.modules, key=lambda n: (registry.modules[n].manifest.sequence, n)):
        info = registry.modules[name]
        row = rows.get(name)
        state = row.state if row else "uninstalled"
        if row and state == "installed" and row.installed_version != info.manifest.version:
            state = "to_upgrade"
        out.append(
            {
                "name": name,
                "title": info.manifest.display_title,
                "summary": info.manifest.summary,
                "category": info.manifest.category,
                "version": info.manifest.version,
                "installed_version": row.installed_version if row else None,
                "state": state,
                "depends": list(info.manifest.depends),
                "auto_install": info.manifest.auto_install,
                "application": info.manifest.application,
                "origin": info.origin,
            }
        )
    for name, row in rows.items():
        if name not in registry.modules and row.state == "installed":
            out.append(
                {
                    "name": name,
                    "title": name,
                    "summary": "",
                    "category": "",
                    "version": None,
                    "installed_version": row.installed_version,
                    "state": "missing",
                    "depends": row.depends,
                    "auto_install": False,
                    "application": False,
                    "origin": "?",
                }
            )
    return out
