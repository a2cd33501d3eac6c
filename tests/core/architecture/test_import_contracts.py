"""The import contracts of ``.importlinter`` hold, and a violation makes ``lint-imports``
fail (checked on a copy of the code with one bad import written into it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config",
                           str(root / ".importlinter")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def code_copy(tmp_path: Path) -> Path:
    """The Python files of core and modules, and the contracts, in a temporary folder."""
    skip = shutil.ignore_patterns("templates", "static", "translations", "__pycache__",
                                  "*.po", "*.mo", "*.html", "*.js", "*.css")
    for package in ("core", "modules"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=skip)
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def _add_import(path: Path, statement: str) -> None:
    text = path.read_text(encoding="utf-8")
    marker = "from __future__ import annotations\n"
    assert marker in text
    path.write_text(text.replace(marker, f"{marker}\n{statement}\n", 1), encoding="utf-8")


def test_the_code_keeps_its_import_contracts():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("file", "statement", "broken"), [
    ("core/services.py", "import core.web.context  # noqa",
     "core's services, security, bot, jobs, notify and api never import core.web BROKEN"),
    ("core/db.py", "import core.extensions  # noqa",
     "no import cycles in core (between the children of every package of core) BROKEN"),
    ("core/audit.py", "import modules.crm  # noqa", "core never imports modules BROKEN"),
])
def test_a_violating_import_fails_the_check(code_copy, file, statement, broken):
    _add_import(code_copy / file, statement)
    result = _lint(code_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout
