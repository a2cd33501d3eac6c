"""docs/deploy.md read as the tests' script: its files (``# file: PATH`` blocks), its
command blocks (``# deploy: NAME``) and its systemd units, with the paths of this checkout
and this interpreter put in for ``/opt/tandem``."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).parents[3]
DOC = ROOT / "docs" / "deploy.md"
_BLOCK = re.compile(r"^```[a-z]*\n(.*?)^```", re.S | re.M)


def _blocks() -> list[list[str]]:
    return [m.group(1).splitlines() for m in _BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


def doc_file(path: str) -> list[str]:
    """The lines of the block that starts with ``# file: PATH``."""
    for lines in _blocks():
        if lines and lines[0].strip() == f"# file: {path}":
            return lines[1:]
    raise LookupError(f"docs/deploy.md has no block for {path}")


def doc_commands(name: str) -> list[str]:
    """The commands of the ``# deploy: NAME`` block (its ``cd`` and ``set -a`` lines are
    what the test does by running in the checkout with the environment file)."""
    for lines in _blocks():
        if lines and lines[0].strip() == f"# deploy: {name}":
            return [local_paths(line) for line in lines[1:]
                    if line.strip() and not line.startswith(("cd ", "set -a", "#"))]
    raise LookupError(f"docs/deploy.md has no '# deploy: {name}' block")


def environment_file() -> dict[str, str]:
    env = {}
    for line in doc_file("/etc/tandem/tandem.env"):
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


def unit(name: str, instance: str = "", environ: dict[str, str] | None = None,
         ) -> tuple[list[str], dict[str, str]]:
    """A unit's ``ExecStart`` (split, local paths, ``${VAR}`` from ``environ`` as systemd
    expands them) and its ``Environment=`` settings, with ``%i`` replaced by ``instance``."""
    argv: list[str] = []
    env: dict[str, str] = {}
    for line in doc_file(f"/etc/systemd/system/{name}"):
        line = line.replace("%i", instance)
        if line.startswith("ExecStart="):
            command = re.sub(r"\$\{(\w+)\}", lambda m: (environ or {})[m.group(1)],
                             line.removeprefix("ExecStart="))
            argv = shlex.split(local_paths(command))
        elif line.startswith("Environment="):
            key, _, value = line.removeprefix("Environment=").partition("=")
            env[key] = value
        elif line.startswith("WorkingDirectory="):
            assert line.removeprefix("WorkingDirectory=") == "/opt/tandem"
    assert argv, f"{name} has no ExecStart"
    return argv, env


def local_paths(command: str) -> str:
    bindir = str(Path(sys.executable).parent)
    command = re.sub(r"(?<![\w/])(/opt/tandem/)?\.venv/bin/python\b", sys.executable, command)
    command = command.replace("/opt/tandem/.venv/bin", bindir)
    return command.replace("/opt/tandem", str(ROOT))
