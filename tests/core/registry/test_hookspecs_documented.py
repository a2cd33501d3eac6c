"""Every hookspec — the core's and every module's ``hookspecs.py`` — is documented in
docs/modules.md with its exact signature."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

import core.hookspecs as hookspecs
from core.registry.discovery import discover

DOC = (Path(__file__).parents[3] / "docs" / "modules.md").read_text(encoding="utf-8")


def _specs(module):
    return [(name, fn) for name, fn in inspect.getmembers(module, inspect.isfunction)
            if hasattr(fn, "tandem_spec") and fn.__module__ == module.__name__]


def _undocumented(module):
    return [f"{name}{inspect.signature(fn)}" for name, fn in _specs(module)
            if f"`{name}{inspect.signature(fn)}`" not in DOC]


def test_every_core_hookspec_is_documented_with_its_signature():
    assert len(_specs(hookspecs)) >= 15
    assert _undocumented(hookspecs) == []


MODULES_WITH_SPECS = sorted(
    name for name, info in discover().items()
    if info.origin == "builtin" and (info.path / "hookspecs.py").is_file()
)


def test_the_modules_with_hookspecs_are_found():
    assert {"crm", "pool", "wecom"} <= set(MODULES_WITH_SPECS)


@pytest.mark.parametrize("name", MODULES_WITH_SPECS)
def test_every_module_hookspec_is_documented_with_its_signature(name):
    module = importlib.import_module(f"modules.{name}.hookspecs")
    assert _specs(module), f"modules/{name}/hookspecs.py declares no hookspec"
    assert _undocumented(module) == []
