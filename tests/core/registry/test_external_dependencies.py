"""A manifest declares the external packages a module needs (``external_dependencies``);
installing a module whose packages are missing says which and installs nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ModuleError
from core.registry import installer
from core.registry.manifest import missing_external_dependencies
from core.registry.manifest import parse_manifest
from tests.conftest import FIXTURE_ADDONS

EXTERNAL_ADDONS = Path(__file__).parents[2] / "fixtures" / "external_addons"


def _states(app):
    with app.app_context():
        return {r["name"]: r["state"] for r in installer.module_states()}


def test_the_manifest_keeps_its_external_dependencies():
    manifest = parse_manifest(EXTERNAL_ADDONS / "needs_missing_lib" / "__manifest__.py")
    assert manifest.external_dependencies == {"python": ("segno", "tandem_no_such_package")}
    assert missing_external_dependencies(manifest) == ["tandem_no_such_package"]
    present = parse_manifest(EXTERNAL_ADDONS / "needs_present_lib" / "__manifest__.py")
    assert missing_external_dependencies(present) == []


@pytest.mark.parametrize("value", ['["segno"]', '{"python": "segno"}', '{"ruby": ["x"]}',
                                   '{"python": [""]}'])
def test_a_malformed_external_dependencies_entry_is_refused(tmp_path, value):
    path = tmp_path / "__manifest__.py"
    path.write_text(f'{{"name": "x", "version": "1", "external_dependencies": {value}}}')
    with pytest.raises(ModuleError, match="external_dependencies"):
        parse_manifest(path)


def test_a_missing_program_is_reported(tmp_path):
    path = tmp_path / "__manifest__.py"
    path.write_text('{"name": "x", "version": "1", '
                    '"external_dependencies": {"bin": ["sh", "tandem-no-such-program"]}}')
    assert missing_external_dependencies(parse_manifest(path)) == ["tandem-no-such-program"]


def test_installing_a_module_whose_package_is_missing_says_which_and_installs_nothing(make_app):
    app = make_app(TANDEM_MODULE_PATHS=[str(FIXTURE_ADDONS), str(EXTERNAL_ADDONS)])
    with app.app_context(), pytest.raises(ModuleError) as refused:
        installer.install(["needs_missing_lib"])
    message = refused.value.message
    assert "needs_missing_lib" in message and "tandem_no_such_package" in message
    assert "segno" not in message  # present, so not named
    states = _states(app)
    # Nothing installed: not the module, not the dependency it would have pulled in.
    assert states["needs_missing_lib"] == "uninstalled"
    assert states["demo_a"] == "uninstalled"


def test_a_module_whose_packages_are_present_installs(make_app):
    app = make_app(TANDEM_MODULE_PATHS=[str(FIXTURE_ADDONS), str(EXTERNAL_ADDONS)])
    with app.app_context():
        assert installer.install(["needs_present_lib"]) == ["needs_present_lib"]
    assert _states(app)["needs_present_lib"] == "installed"
