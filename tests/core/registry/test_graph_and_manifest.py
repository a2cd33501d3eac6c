from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ModuleError
from core.registry.discovery import discover
from core.registry.graph import auto_installable
from core.registry.graph import closure
from core.registry.graph import dependents
from core.registry.graph import topo_order
from core.registry.manifest import parse_manifest

FIXTURES = Path(__file__).parents[2] / "fixtures"


def test_manifest_rejects_unknown_keys(tmp_path):
    path = tmp_path / "__manifest__.py"
    path.write_text('{"name": "x", "version": "1", "colour": "red"}')
    with pytest.raises(ModuleError, match="未知字段"):
        parse_manifest(path)


def test_manifest_requires_name_and_version(tmp_path):
    path = tmp_path / "__manifest__.py"
    path.write_text('{"name": "x"}')
    with pytest.raises(ModuleError, match="缺少字段"):
        parse_manifest(path)


def test_manifest_is_read_without_import(tmp_path):
    path = tmp_path / "__manifest__.py"
    path.write_text('__import__("os").system("false")')
    with pytest.raises(ModuleError, match="无法解析"):
        parse_manifest(path)


def test_discovery_finds_builtin_addons_path_and_entry_point_modules():
    modules = discover([str(FIXTURES / "addons")])
    assert modules["crm"].origin == "builtin"
    assert modules["demo_a"].origin == "addons_path"
    if "sample_addon" in modules:  # installed by the test command with pip
        assert modules["sample_addon"].origin == "entry_point"
        assert modules["sample_addon"].import_name == "tandem_sample_addon"


def test_topological_order_puts_dependencies_first_deterministically():
    modules = discover([str(FIXTURES / "addons")])
    order = topo_order(["demo_bridge", "demo_b", "demo_a"], modules)
    assert order == ["demo_a", "demo_b", "demo_bridge"]
    assert closure(["demo_b"], modules) == {"demo_a", "demo_b"}
    assert dependents("demo_a", ["demo_a", "demo_b", "demo_bridge"], modules) == {
        "demo_b",
        "demo_bridge",
    }


def test_auto_install_bridge_needs_all_its_dependencies():
    modules = discover([str(FIXTURES / "addons")])
    assert "demo_bridge" not in auto_installable({"demo_a"}, modules)
    assert "demo_bridge" in auto_installable({"demo_a", "demo_b"}, modules)


def test_cycle_is_a_clear_error():
    modules = discover([str(FIXTURES / "bad_addons")])
    with pytest.raises(ModuleError, match="循环"):
        topo_order(closure(["cyc_x"], modules), modules)


def test_missing_dependency_is_a_clear_error():
    modules = discover([str(FIXTURES / "bad_addons")])
    with pytest.raises(ModuleError, match="ghost"):
        closure(["needs_ghost"], modules)
