"""Alembic plumbing: one environment (``core/migrations``), one branch per module.

Branch label = module name; revision ids are ``<module>_<NNNN>``. Installing a module is
``upgrade <module>@head``, uninstalling it ``downgrade <module>@base``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from core import hooks
from core.config import PROJECT_ROOT
from core.extensions import db
from core.registry.discovery import ModuleInfo
from core.registry.graph import closure

CORE_MIGRATIONS = PROJECT_ROOT / "core" / "migrations"


def version_locations(modules: Iterable[ModuleInfo]) -> list[str]:
    """Core's versions plus those of every module whose dependencies are all discoverable
    (a module missing a dependency could not be installed, and its revisions would name
    unknown ``depends_on`` revisions)."""
    infos = {m.name: m for m in modules}

    def has_revisions(info: ModuleInfo) -> bool:
        return info.migrations_dir.is_dir() and any(info.migrations_dir.glob("*.py"))

    def complete(name: str, seen: frozenset[str] = frozenset()) -> bool:
        info = infos.get(name)
        if info is None or name in seen:
            return info is not None
        return all(
            complete(dep, seen | {name})
            and (has_revisions(infos[dep]) or not infos[dep].migrations_dir.parent.is_dir())
            for dep in info.manifest.depends
        )

    locations = [str(CORE_MIGRATIONS / "versions")]
    locations += [
        str(m.migrations_dir)
        for m in infos.values()
        if m.migrations_dir.is_dir() and complete(m.name)
    ]
    return locations


def alembic_config(modules: Iterable[ModuleInfo], module_filter: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(CORE_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(version_locations(modules)))
    cfg.attributes["module_filter"] = module_filter
    return cfg


def _config() -> Config:
    registry = hooks.registry()
    return alembic_config(registry.modules.values())


def has_branch(name: str, cfg: Config | None = None) -> bool:
    script = ScriptDirectory.from_config(cfg or _config())
    try:
        return bool(script.get_revisions(f"{name}@head"))
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown label
        return False


def upgrade_branch(name: str, cfg: Config | None = None) -> None:
    db.session.remove()
    command.upgrade(cfg or _config(), f"{name}@head")


def downgrade_branch(name: str, cfg: Config | None = None) -> None:
    db.session.remove()
    command.downgrade(cfg or _config(), f"{name}@base")


def next_revision_id(name: str, versions_dir: Path) -> str:
    numbers = [
        int(p.stem.split("_")[-1])
        for p in versions_dir.glob(f"{name}_*.py")
        if p.stem.split("_")[-1].isdigit()
    ]
    return f"{name}_{(max(numbers) + 1) if numbers else 1:04d}"


def make_revision(info: ModuleInfo | None, message: str, autogenerate: bool = True) -> str:
    """Create the next revision of a module's branch (or core's when ``info`` is None)."""
    registry = hooks.registry()
    if info is not None:
        for dep in [*info.manifest.depends, info.name]:
            dep_info = registry.modules.get(dep)
            if dep_info is not None:
                dep_info.import_submodule("hooks")
    name = info.name if info else "core"
    versions = info.migrations_dir if info else CORE_MIGRATIONS / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    # Only the branches of the module and its dependencies: autogenerate needs the database
    # at every head it knows about, and other modules are not installed here.
    if info is not None:

        relevant = [registry.modules[n] for n in closure([info.name], registry.modules)]
    else:
        relevant = []
    cfg = alembic_config(relevant, module_filter=name)
    first = not has_branch(name, cfg)
    rev_id = next_revision_id(name, versions)
    kwargs: dict = {"message": message, "autogenerate": autogenerate, "rev_id": rev_id}
    if first:
        kwargs.update(head="base", branch_label=name, version_path=str(versions))
        if info is not None:
            script = ScriptDirectory.from_config(cfg)
            # Depend on the direct dependencies' heads only; core when there are none.
            # A redundant ancestor in depends_on (core behind crm) trips Alembic's head
            # bookkeeping on upgrade (it tries to drop a version row that is gone).
            heads = [d for d in info.manifest.depends if has_branch(d, cfg)] or ["core"]
            kwargs["depends_on"] = [
                r.revision for branch in heads for r in script.get_revisions(f"{branch}@head")
            ]
    else:
        kwargs.update(head=f"{name}@head")
    command.revision(cfg, **kwargs)
    return rev_id
