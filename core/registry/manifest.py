"""Module manifests: a dict literal in ``__manifest__.py`` read without importing the module."""

from __future__ import annotations

import ast
import importlib.util
import shutil
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from flask_babel import gettext as _

from core.errors import ModuleError

ALLOWED_KEYS = {
    "name",
    "title",
    "version",
    "summary",
    "category",
    "depends",
    "auto_install",
    "application",
    "installable",
    "license",
    "sequence",
    "external_dependencies",
}
REQUIRED_KEYS = {"name", "version"}
# ``external_dependencies`` kinds: Python packages by import name, programs on the PATH.
EXTERNAL_KINDS = ("python", "bin")


@dataclass(frozen=True, slots=True)
class Manifest:
    name: str
    version: str
    title: str = ""
    summary: str = ""
    category: str = ""
    depends: tuple[str, ...] = ()
    auto_install: bool = False
    application: bool = False
    installable: bool = True
    license: str = ""
    sequence: int = 100
    # {"python": ("segno",), "bin": ("wkhtmltopdf",)}: what must be present to install it.
    external_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def display_title(self) -> str:
        return self.title or self.name


def parse_manifest(path: Path) -> Manifest:
    """Parse and validate a manifest file; unknown or missing keys are errors."""
    try:
        data = ast.literal_eval(path.read_text(encoding="utf-8"))
    except (ValueError, SyntaxError) as exc:
        raise ModuleError(
            _("清单文件无法解析：%(path)s（%(error)s）", path=path, error=exc)
        ) from exc
    if not isinstance(data, dict):
        raise ModuleError(_("清单文件必须是一个字典：%(path)s", path=path))
    unknown = set(data) - ALLOWED_KEYS
    if unknown:
        raise ModuleError(
            _("清单文件含未知字段 %(keys)s：%(path)s", keys=sorted(unknown), path=path)
        )
    missing = REQUIRED_KEYS - set(data)
    if missing:
        raise ModuleError(
            _("清单文件缺少字段 %(keys)s：%(path)s", keys=sorted(missing), path=path)
        )
    depends = data.get("depends", [])
    if not isinstance(depends, list | tuple) or not all(isinstance(d, str) for d in depends):
        raise ModuleError(_("depends 必须是模块名列表：%(path)s", path=path))
    return Manifest(
        name=str(data["name"]),
        version=str(data["version"]),
        title=str(data.get("title", "")),
        summary=str(data.get("summary", "")),
        category=str(data.get("category", "")),
        depends=tuple(depends),
        auto_install=bool(data.get("auto_install", False)),
        application=bool(data.get("application", False)),
        installable=bool(data.get("installable", True)),
        license=str(data.get("license", "")),
        sequence=int(data.get("sequence", 100)),
        external_dependencies=_external_dependencies(data.get("external_dependencies", {}), path),
    )


def _external_dependencies(value: object, path: Path) -> dict[str, tuple[str, ...]]:
    """``{"python": ["segno"], "bin": ["wkhtmltopdf"]}``, checked and made immutable."""
    if not isinstance(value, dict) or not all(
        kind in EXTERNAL_KINDS and isinstance(names, list | tuple)
        and all(isinstance(n, str) and n for n in names)
        for kind, names in value.items()
    ):
        raise ModuleError(_("external_dependencies 必须形如 {\"python\": [\"包名\"]}：%(path)s",
                            path=path))
    return {kind: tuple(names) for kind, names in value.items()}


def missing_external_dependencies(manifest: Manifest) -> list[str]:
    """The declared external dependencies that are not present: Python packages that
    cannot be found (by import name, without importing them) and programs not on the
    PATH."""
    missing = []
    for name in manifest.external_dependencies.get("python", ()):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    missing += [name for name in manifest.external_dependencies.get("bin", ())
                if shutil.which(name) is None]
    return missing
