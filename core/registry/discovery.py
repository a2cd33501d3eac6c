"""Find modules on disk (``modules/`` and extra add-on paths) and through entry points.

Discovery reads manifests only; nothing is imported until a module is installed.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from flask_babel import gettext as _

from core.config import PROJECT_ROOT
from core.errors import ModuleError
from core.registry.manifest import Manifest
from core.registry.manifest import parse_manifest

ENTRY_POINT_GROUP = "tandem.modules"


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """A discovered module: its manifest, where it lives and how to import it."""

    manifest: Manifest
    path: Path
    import_name: str
    origin: str  # "builtin", "addons_path" or "entry_point"

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def migrations_dir(self) -> Path:
        return self.path / "migrations" / "versions"

    def import_submodule(self, sub: str) -> object | None:
        """Import ``<package>.<sub>`` if it exists, else None."""
        full = f"{self.import_name}.{sub}"
        if importlib.util.find_spec(full) is None:
            return None
        return importlib.import_module(full)


def _scan_dir(root: Path, package_prefix: str | None, origin: str) -> list[ModuleInfo]:
    found = []
    if not root.is_dir():
        return found
    for child in sorted(root.iterdir()):
        manifest_file = child / "__manifest__.py"
        if not manifest_file.is_file():
            continue
        manifest = parse_manifest(manifest_file)
        if manifest.name != child.name:
            raise ModuleError(_("模块目录名 %(folder)s 与清单中的名称 %(name)s 不一致",
                                folder=child.name, name=manifest.name))
        import_name = f"{package_prefix}.{child.name}" if package_prefix else child.name
        found.append(ModuleInfo(manifest, child, import_name, origin))
    return found


def discover(extra_paths: list[str] | tuple[str, ...] = ()) -> dict[str, ModuleInfo]:
    """All modules that could be installed, keyed by name. A name clash is an error."""
    infos: list[ModuleInfo] = _scan_dir(PROJECT_ROOT / "modules", "modules", "builtin")
    for raw in extra_paths:
        path = Path(raw).resolve()
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
        infos.extend(_scan_dir(path, None, "addons_path"))
    third_party = [] if os.environ.get("TANDEM_NO_ENTRY_POINTS") else entry_points(
        group=ENTRY_POINT_GROUP)
    for ep in third_party:
        spec = importlib.util.find_spec(ep.value)
        if spec is None or not spec.submodule_search_locations:
            raise ModuleError(_("入口点 %(name)s 指向的包 %(package)s 不存在",
                                name=ep.name, package=ep.value))
        pkg_path = Path(next(iter(spec.submodule_search_locations)))
        manifest = parse_manifest(pkg_path / "__manifest__.py")
        infos.append(ModuleInfo(manifest, pkg_path, ep.value, "entry_point"))
    result: dict[str, ModuleInfo] = {}
    for info in infos:
        if info.name == "core":
            raise ModuleError(_("模块名 core 为系统保留"))
        if info.name in result:
            other = result[info.name]
            raise ModuleError(_("模块名冲突：%(name)s（%(first)s 与 %(second)s）",
                                name=info.name, first=other.path, second=info.path))
        result[info.name] = info
    return result
