"""Stored files never outlive what points at them: a file stored in a transaction that rolls
back (or in a nested unit of work that does) is deleted again, and uninstalling a module
deletes its files (unless kept). On the local folder and on S3 (moto's server)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from core.registry import installer
from core.services import ServiceContext
from core.services import unit_of_work
from core.storage import StorageError
from core.storage import get_storage
from core.storage import new_key
from core.storage import store_file
from tests.fake_s3 import fake_s3


@contextmanager
def _no_storage_config(tmp: Path) -> Iterator[dict[str, Any]]:
    yield {"TANDEM_STORAGE_PATH": str(tmp / "files")}


@pytest.fixture(params=["local", "s3"])
def storage_config(request, tmp_path) -> Iterator[dict[str, Any]]:
    with (fake_s3() if request.param == "s3" else _no_storage_config(tmp_path)) as config:
        yield config


def _exists(key: str) -> bool:
    try:
        get_storage().get(key)
        return True
    except StorageError:
        return False


class Boom(Exception):
    pass


def test_a_file_stored_in_a_rolled_back_transaction_is_deleted(make_app, storage_config):
    app = make_app(**storage_config)
    with app.app_context():
        kept, dropped, inner = (new_key("demo_a/x", "bin") for _ in range(3))
        with unit_of_work(ServiceContext.system()):
            store_file(kept, b"kept", "application/octet-stream")
        assert _exists(kept)  # committed: stays
        with pytest.raises(Boom), unit_of_work(ServiceContext.system()):
            store_file(dropped, b"dropped", "application/octet-stream")
            assert _exists(dropped)
            raise Boom
        assert not _exists(dropped)  # rolled back: gone
        with unit_of_work(ServiceContext.system()):
            with pytest.raises(Boom), unit_of_work(ServiceContext.system()):
                store_file(inner, b"inner", "application/octet-stream")
                raise Boom  # only the nested unit rolls back
            assert not _exists(inner)
            outer = new_key("demo_a/x", "bin")
            store_file(outer, b"outer", "application/octet-stream")
        assert _exists(outer) and _exists(kept)


def test_uninstalling_a_module_deletes_its_files_unless_kept(make_app, storage_config):
    app = make_app(modules=["demo_b"], **storage_config)
    with app.app_context():
        with unit_of_work(ServiceContext.system()):
            mine = [new_key("demo_b/things/1", "bin") for _ in range(3)]
            for key in mine:
                store_file(key, b"x", "application/octet-stream")
            other = new_key("demo_a/things/1", "bin")
            store_file(other, b"y", "application/octet-stream")
        plan = installer.uninstall_plan("demo_bridge")
        assert plan.files == {"demo_bridge": 0}
        plan = installer.uninstall_plan("demo_b", cascade=True)
        assert plan.files["demo_b"] == 3
        assert "3" in plan.describe()
        installer.uninstall("demo_b", cascade=True)
        assert not any(_exists(key) for key in mine)
        assert _exists(other)  # another module's file
        installer.uninstall("demo_a", keep_files=True)
        assert _exists(other)


def test_the_apps_page_says_how_many_files_go_and_may_keep_them(make_app, tmp_path):
    from werkzeug.test import Client

    from core.security.services import create_user
    from core.wsgi import TandemDispatcher
    from tests.conftest import base_config

    extra = {"TANDEM_STORAGE_PATH": str(tmp_path / "files")}
    app = make_app(modules=["demo_a"], **extra)
    with app.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            create_user(ctx, "root", roles=["admin"], password="secret-pass-1")
            key = new_key("demo_a/widgets", "bin")
            store_file(key, b"x", "application/octet-stream")
    config = base_config(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path, **extra)
    client = Client(TandemDispatcher(config=config))
    client.post("/login", data={"username": "root", "password": "secret-pass-1"})
    page = client.get("/admin/apps/demo_a/uninstall").get_data(as_text=True)
    assert "demo_a：1 个文件" in page and 'name="keep_files"' in page
    done = client.post("/admin/apps/demo_a/uninstall", data={"confirm": "yes", "keep_files": "1"})
    assert done.status_code == 302
    with app.app_context():
        assert _exists(key)  # kept, as asked
