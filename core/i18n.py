"""Translations: Chinese is the source language (msgids); ``en`` catalogs translate it.

Catalogs are compiled from ``.po`` to ``.mo`` on start when stale, so a fresh clone needs
no separate compile step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app


def ensure_compiled(dirs: list[Path]) -> None:
    for root in dirs:
        for po in root.glob("*/LC_MESSAGES/*.po"):
            mo = po.with_suffix(".mo")
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            with po.open("rb") as fh:
                catalog = read_po(fh)
            tmp = mo.with_suffix(".mo.tmp")
            with tmp.open("wb") as fh:
                write_mo(fh, catalog)
            tmp.replace(mo)


def default_locale() -> str:
    """The installation's language (``BABEL_DEFAULT_LOCALE``): jobs, the CLI, shared records."""
    return current_app.config.get("BABEL_DEFAULT_LOCALE") or "zh_CN"


def locale_of(user: Any) -> str:
    """The language ``user`` chose, else the installation's."""
    return getattr(user, "locale", None) or default_locale()
