"""Messages a user reads (errors, flashed notices, bot replies) go through gettext, so an
English user reads them in English, whichever way he came: a page, the API, the bot.

A Chinese literal handed straight to ``raise SomeError(...)``, to ``flash(...)``, to a bot
reply or to an error's ``fields={...}`` cannot be translated; this test names each one."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parents[2]
HAN = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
GETTEXT = {"_", "gettext", "_l", "lazy_gettext", "ngettext", "lazy_ngettext", "pgettext"}
MESSAGE_CALLS = {"flash", "TextReply", "MarkdownReply"}
SKIPPED_PARTS = {"tests", "migrations", "translations"}


def _sources() -> Iterator[Path]:
    for folder in (ROOT / "core", ROOT / "modules"):
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(ROOT)
            if SKIPPED_PARTS & set(rel.parts) or path.stem.startswith("demo"):
                continue
            yield path


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _untranslated(node: ast.AST) -> Iterator[ast.Constant]:
    """Chinese string constants in ``node`` that are not inside a gettext call."""
    if isinstance(node, ast.Call) and _name(node.func) in GETTEXT:
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and HAN.search(node.value):
        yield node
        return
    for child in ast.iter_child_nodes(node):
        yield from _untranslated(child)


def _messages(tree: ast.AST) -> Iterator[ast.expr]:
    """The expressions that end up in front of a user."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            yield from node.exc.args[:1]
            yield from (k.value for k in node.exc.keywords if k.arg in ("fields", "message"))
        elif isinstance(node, ast.Call) and _name(node.func) in MESSAGE_CALLS:
            yield from node.args[:1]


def test_user_facing_messages_go_through_gettext() -> None:
    offences = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for expr in _messages(tree):
            for const in _untranslated(expr):
                offences.append(f"{path.relative_to(ROOT)}:{const.lineno}: {const.value[:40]}")
    assert not offences, "untranslatable messages:\n" + "\n".join(offences)


def test_the_check_sees_a_raw_message_and_accepts_a_translated_one() -> None:
    raw = ast.parse('raise UserError("客户不存在")\nflash(f"已保存{n}")')
    translated = ast.parse('raise UserError(_("客户不存在"))\nflash(_("已保存%(n)s", n=n))')
    assert [c.value for e in _messages(raw) for c in _untranslated(e)] == ["客户不存在", "已保存"]
    assert [c for e in _messages(translated) for c in _untranslated(e)] == []
