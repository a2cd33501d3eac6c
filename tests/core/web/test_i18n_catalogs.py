"""English is the second locale: every text a page can show has an English translation.

Two kinds of text reach the screen through gettext: what pybabel finds in templates and in
``_()`` / ``gettext`` / ``lazy_gettext`` calls, and labels declared as data and translated
where they are shown (menus, permissions, list columns and filters with their choices,
kanban columns). Both are checked against the merged English catalogs of core and of every
built-in module, so a page in English does not fall back to Chinese."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from core.web.kanban import Kanban
from core.web.listview import ListView

ROOT = Path(__file__).parents[3]
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2),
            "pgettext": ((1, "c"), 2)}


def _ui_folders() -> list[Path]:
    modules = [p for p in sorted((ROOT / "modules").iterdir()) if (p / "__init__.py").exists()]
    return [ROOT / "core", *modules]


def _english() -> dict[tuple[str | None, str], str]:
    """English by ``(context, msgid)``: ``pgettext("card", "客户")`` is not the menu's 客户."""
    catalogs = [ROOT / "core/translations/en/LC_MESSAGES/messages.po",
                *sorted(ROOT.glob("modules/*/translations/en/LC_MESSAGES/messages.po"))]
    english: dict[tuple[str | None, str], str] = {}
    for path in catalogs:
        with path.open("rb") as fh:
            for message in read_po(fh):
                key = message.id if isinstance(message.id, str) else message.id[0]
                if key and message.string:
                    english[message.context, key] = message.string
    return english


def _extracted(folder: Path) -> Iterator[tuple[tuple[str | None, str], str]]:
    for filename, _line, message, _comments, context in extract_from_dir(
        str(folder), METHODS, keywords=KEYWORDS
    ):
        text = message if isinstance(message, str) else message[0]
        if text and "/tests/" not in filename:
            yield (context, text), f"{folder.name}/{filename}"


def _declared(app: Any) -> Iterator[tuple[str, str]]:
    registry = app.extensions["tandem_registry"]
    for item in registry.menus:
        yield item.label, f"menu {item.id}"
    for perm in registry.permissions.values():
        yield perm.label, f"permission {perm.code}"
    for name, module in list(sys.modules.items()):
        if not name.startswith(("core.", "modules.")) or module is None:
            continue
        for attr, value in list(vars(module).items()):
            where = f"{name}.{attr}"
            if isinstance(value, ListView):
                for col in value.columns:
                    yield col.label, where
                for flt in value.filters:
                    yield flt.label, where
                    if flt.translate and isinstance(flt.choices, dict):
                        yield from ((label, where) for label in flt.choices.values())
            elif isinstance(value, Kanban):
                yield from ((label, where) for label in value.columns.values())


@pytest.mark.parametrize("folder", _ui_folders(), ids=lambda p: p.name)
def test_every_extracted_text_has_an_english_translation(folder: Path):
    english = _english()
    missing = sorted({f"{key[1]!r} ({where})" for key, where in _extracted(folder)
                      if key not in english})
    assert not missing, "no English for:\n" + "\n".join(missing)


def test_every_declared_label_has_an_english_translation(app: Any):
    english = _english()
    missing = sorted({f"{text!r} ({where})" for text, where in _declared(app)
                      if text and (None, text) not in english})
    assert not missing, "no English for:\n" + "\n".join(missing)
