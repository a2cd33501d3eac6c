"""Installing and uninstalling from the Apps page takes effect without a restart."""

from __future__ import annotations

from werkzeug.test import Client

from core.services import ServiceContext
from core.services import unit_of_work
from core.wsgi import TandemDispatcher
from tests.conftest import base_config


def _admin(app):
    from core.security.services import create_user

    with app.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            create_user(ctx, "root", roles=["admin"], password="secret-pass-1")


def test_apps_page_install_and_uninstall_without_restart(make_app):
    app = make_app()
    _admin(app)
    config = base_config(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    dispatcher = TandemDispatcher(config=config)
    client = Client(dispatcher)
    assert (
        client.post("/login", data={"username": "root", "password": "secret-pass-1"}).status_code
        == 302
    )

    assert client.get("/demo-a/").status_code == 404
    apps_page = client.get("/admin/apps").get_data(as_text=True)
    assert 'data-module="demo_a" data-state="uninstalled"' in apps_page

    assert client.post("/admin/apps/demo_a/install").status_code == 302
    assert client.get("/demo-a/").status_code == 200
    assert 'data-menu="demo_a"' in client.get("/").get_data(as_text=True)
    assert "demo_a.tick" in dispatcher.app.extensions["tandem_registry"].jobs

    confirm = client.get("/admin/apps/demo_a/uninstall").get_data(as_text=True)
    assert "demo_a_widget" in confirm  # says what it will drop before dropping it
    assert client.post("/admin/apps/demo_a/uninstall", data={"confirm": "yes"}).status_code == 302
    assert client.get("/demo-a/").status_code == 404
    assert 'data-menu="demo_a"' not in client.get("/").get_data(as_text=True)
    assert "demo_a.tick" not in dispatcher.app.extensions["tandem_registry"].jobs


def test_uninstall_refused_on_the_apps_page_names_the_dependents(make_app):
    app = make_app(modules=["demo_b"])
    _admin(app)
    dispatcher = TandemDispatcher(
        config=base_config(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    )
    client = Client(dispatcher)
    client.post("/login", data={"username": "root", "password": "secret-pass-1"})
    response = client.get("/admin/apps/demo_a/uninstall", follow_redirects=True)
    assert "无法卸载 demo_a" in response.get_data(as_text=True)
    assert client.get("/demo-a/").status_code == 200


def test_a_request_that_finds_other_modules_is_answered_by_a_fresh_app(make_app):
    """A module installed elsewhere (``manage.py``, another worker): the next request, a form
    post included, is answered by an app built for it, with its body intact."""
    from core.registry import installer

    app = make_app()
    _admin(app)
    dispatcher = TandemDispatcher(
        config=base_config(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    )
    client = Client(dispatcher)
    before = dispatcher.app
    # First of all: before the CSRF check or anything else reads the form.
    assert before.before_request_funcs[None][0].__name__ == "read_request_state"
    with app.app_context():
        installer.install(["demo_a"])
    response = client.post("/login", data={"username": "root", "password": "secret-pass-1"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert dispatcher.app is not before
    assert client.get("/demo-a/").status_code == 200
