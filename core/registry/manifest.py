"""Module manifests: a dict literal in ``__manifest__.py`` read without importing the module."""

from __future__ import annotations

import ast
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
}
REQUIRED_KEYS = {"name", "version"}


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
    extra: dict = field(default_factory=dict)

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
    )
