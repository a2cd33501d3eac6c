"""docs/modules.md cannot drift from the code: the files of its minimal module (the code
blocks marked ``<!-- minimal-module: path -->``) are written into an add-on folder, the
module is installed from there, its page is opened and its chat command run, in Chinese
and through its English catalog."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from core.bot import IncomingMessage
from core.bot.dispatcher import dispatch
from core.extensions import db
from core.security.services import create_user
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import FIXTURE_ADDONS
from tests.conftest import login

DOC = Path(__file__).parents[3] / "docs" / "modules.md"
BLOCK = re.compile(r"<!-- minimal-module: (?P<path>\S+) -->\n```\w*\n(?P<code>.*?)\n```", re.S)


def _files() -> dict[str, str]:
    return {m["path"]: m["code"] + "\n" for m in BLOCK.finditer(DOC.read_text("utf-8"))}


def test_the_document_marks_every_file_of_the_minimal_module():
    files = _files()
    assert set(files) >= {
        "notes/__manifest__.py", "notes/models.py", "notes/services/notes.py",
        "notes/web/views.py", "notes/bot.py", "notes/hooks.py",
        "notes/migrations/versions/notes_0001_notes_schema.py",
        "notes/translations/en/LC_MESSAGES/messages.po",
    }
    assert "empty, as every __init__.py below" in DOC.read_text("utf-8")


@pytest.fixture
def notes_app(tmp_path: Path, make_app: Any) -> Any:
    addons = tmp_path / "addons"
    for rel, code in _files().items():
        path = addons / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code, encoding="utf-8")
    # "__init__.py: empty, as every __init__.py below" (migrations are not packages)
    for folder in {p.parent for p in addons.rglob("*.py")}:
        if "migrations" not in folder.parts:
            (folder / "__init__.py").touch()
    return make_app(modules=["notes"], TANDEM_MODULE_PATHS=[str(FIXTURE_ADDONS), str(addons)])


def _say(user: Any, text: str) -> str:
    ctx = ServiceContext(actor=user, source="bot", locale=user.locale or "zh_CN")
    return dispatch(IncomingMessage(text, sender_userid=""), ctx=ctx).to_text()


def test_the_minimal_module_installs_shows_its_page_and_runs_its_command(notes_app):
    with notes_app.app_context():
        assert "notes" in notes_app.extensions["tandem_registry"].installed
        with unit_of_work(ServiceContext.system("cli")):
            li = create_user(ServiceContext.system("cli"), "li", roles=["sales"],
                             password="secret-pass-1")
            en = create_user(ServiceContext.system("cli"), "amy", roles=["sales"],
                             password="secret-pass-1")
            en.locale = "en"
        assert _say(li, "#便签 周五前回访王总") == "已记下便签 1：周五前回访王总"
        assert _say(li, "#便签") == "请写便签内容"
        assert _say(en, "#便签 call Mr Wang") == "Noted 2: call Mr Wang"
        assert "#便签 内容" in _say(li, "#帮助")
        db.session.remove()
    client = notes_app.test_client()
    login(client, li)
    page = client.get("/notes/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "周五前回访王总" in html and "call Mr Wang" in html and "便签" in html
