from __future__ import annotations

import importlib.util

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from core.errors import ModuleError
from core.extensions import db
from core.registry import installer
from core.registry.models import CoreModule
from core.security.models import RolePermission


def _states(app):
    with app.app_context():
        return {r["name"]: r["state"] for r in installer.module_states()}


def _tables(app):
    with app.app_context():
        return set(sa_inspect(db.engine).get_table_names())


def test_install_pulls_dependencies_and_auto_installs_bridge(make_app):
    app = make_app()
    with app.app_context():
        done = installer.install(["demo_b"])
    assert done == ["demo_a", "demo_b", "demo_bridge"]
    states = _states(app)
    assert states["demo_a"] == states["demo_b"] == states["demo_bridge"] == "installed"
    assert {"demo_a_widget", "demo_b_gadget"} <= _tables(app)


def test_bridge_waits_for_all_its_dependencies(make_app):
    app = make_app()
    with app.app_context():
        assert installer.install(["demo_a"]) == ["demo_a"]
    assert _states(app)["demo_bridge"] == "uninstalled"


def test_install_seeds_default_grants_and_uninstall_removes_them(make_app):
    from core.security.models import Role

    app = make_app(modules=["demo_a"])
    with app.app_context():
        grants = set(db.session.scalars(select(RolePermission.permission)))
        assert "demo_a.widget.read" in grants
        role = db.session.get(Role, "demo_a_operator")
        assert (role.label, role.module) == ("小部件操作员", "demo_a")
        assert db.session.get(RolePermission, ("demo_a_operator", "demo_a.widget.create"))
        installer.uninstall("demo_a")
        grants = set(db.session.scalars(select(RolePermission.permission)))
        assert "demo_a.widget.read" not in grants


def test_uninstall_is_refused_while_a_dependent_is_installed(make_app):
    app = make_app(modules=["demo_b"])
    with app.app_context(), pytest.raises(ModuleError, match="demo_b"):
        installer.uninstall("demo_a")
    assert "demo_a_widget" in _tables(app)


def test_cascade_uninstall_says_what_it_drops_then_drops_it(make_app):
    app = make_app(modules=["demo_b"])
    with app.app_context():
        db.session.execute(db.metadata.tables["demo_a_widget"].insert(), [{"name": "w"}])
        db.session.commit()
        plan = installer.uninstall_plan("demo_a", cascade=True)
        assert plan.modules == ["demo_bridge", "demo_b", "demo_a"]
        assert plan.tables == {"demo_a_widget": 1, "demo_b_gadget": 0}
        assert "demo_a_widget：1 行" in plan.describe()
        installer.uninstall("demo_a", cascade=True)
    assert not {"demo_a_widget", "demo_b_gadget"} & _tables(app)
    assert _states(app)["demo_a"] == "uninstalled"


def test_install_uninstall_reinstall_round_trip(make_app):
    app = make_app(modules=["demo_a"])
    with app.app_context():
        installer.uninstall("demo_a")
        installer.install(["demo_a"], demo=True)
        count = db.session.execute(
            select(db.func.count()).select_from(db.metadata.tables["demo_a_widget"])
        ).scalar()
        row = db.session.scalar(select(CoreModule).where(CoreModule.name == "demo_a"))
    assert count == 1
    assert row.state == "installed" and row.demo is True


def test_unknown_and_cyclic_modules_are_clear_errors(make_app):
    from tests.conftest import FIXTURE_ADDONS

    app = make_app(
        TANDEM_MODULE_PATHS=[str(FIXTURE_ADDONS), str(FIXTURE_ADDONS.parent / "bad_addons")]
    )
    with app.app_context():
        with pytest.raises(ModuleError, match="找不到模块 nope"):
            installer.install(["nope"])
        with pytest.raises(ModuleError, match="循环"):
            installer.install(["cyc_x"])
        with pytest.raises(ModuleError, match="ghost"):
            installer.install(["needs_ghost"])
    assert _states(app)["cyc_x"] == "uninstalled"


def test_upgrade_brings_a_changed_version_to_installed(make_app):
    app = make_app(modules=["demo_a"])
    with app.app_context():
        row = db.session.scalar(select(CoreModule).where(CoreModule.name == "demo_a"))
        row.installed_version = "0.9"
        db.session.commit()
        assert {r["name"]: r["state"] for r in installer.module_states()}["demo_a"] == "to_upgrade"
        assert installer.upgrade(["demo_a"]) == ["demo_a"]
        assert {r["name"]: r["state"] for r in installer.module_states()}["demo_a"] == "installed"


@pytest.mark.skipif(
    importlib.util.find_spec("tandem_sample_addon") is None,
    reason="the test command pip-installs tests/fixtures/tandem-sample-addon",
)
def test_third_party_module_from_an_entry_point_installs_like_any_other(make_app):
    app = make_app()
    with app.app_context():
        done = installer.install(["sample_addon"])
        assert done == ["demo_a", "sample_addon"]
    assert "sample_addon_note" in _tables(app)
    from core.app import create_app
    from tests.conftest import base_config

    rebuilt = create_app(base_config(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path))
    assert "sample_addon.index" in rebuilt.view_functions
    with rebuilt.app_context():
        installer.uninstall("sample_addon")
    assert "sample_addon_note" not in _tables(app)
