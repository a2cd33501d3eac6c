"""Every core hookspec is documented in docs/modules.md with its exact signature."""

from __future__ import annotations

import inspect
from pathlib import Path

import core.hookspecs as hookspecs

DOC = (Path(__file__).parents[3] / "docs" / "modules.md").read_text(encoding="utf-8")


def test_every_hookspec_is_documented_with_its_signature():
    specs = [(name, fn) for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(fn, "tandem_spec")]
    assert len(specs) >= 15
    missing = [f"{name}{inspect.signature(fn)}" for name, fn in specs
               if f"`{name}{inspect.signature(fn)}`" not in DOC]
    assert missing == []
