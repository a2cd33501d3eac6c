"""A live Tandem (the rebuilding WSGI dispatcher) on a loopback port, and a Chromium page
driven by Playwright. Debian's /usr/bin/chromium is used: Playwright's own download is not
possible here."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from core.wsgi import TandemDispatcher
from tests.conftest import base_config
from tests.conftest import build_installed_app
from tests.modules.wecom.conftest import BOT_KEY
from tests.modules.wecom.conftest import BOT_TOKEN

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


class Live:
    def __init__(self, dispatcher: TandemDispatcher, url: str) -> None:
        self.dispatcher = dispatcher
        self.url = url

    def app_context(self) -> Any:
        return self.dispatcher.current_app().app_context()

    def user(self, username: str, *roles: str, **kwargs: Any) -> Any:
        from core.security.services import create_user

        with self.app_context():
            ctx = ServiceContext.system("cli")
            with unit_of_work(ctx):
                user = create_user(ctx, username, roles=roles, password="secret-pass-1",
                                   **kwargs)
            db.session.remove()
        return user


def _live(databases: Any, instance_dir: Any, extra_modules: list[str]) -> Iterator[Live]:
    from tests.conftest import builtin_modules

    url = databases.new_url()
    extra = {"WECOM_CORP_ID": "ww_live", "WECOM_BOT_TOKEN": BOT_TOKEN,
             "WECOM_BOT_AES_KEY": BOT_KEY}
    build_installed_app(url, instance_dir, builtin_modules() + extra_modules, **extra)
    dispatcher = TandemDispatcher(config=base_config(url, instance_dir, **extra))
    server = make_server("127.0.0.1", 0, dispatcher, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Live(dispatcher, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(5)
    with dispatcher.app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live(databases: Any, instance_dir: Any) -> Iterator[Live]:
    """The built-in modules on a fresh database; fixture add-ons discoverable, not installed."""
    yield from _live(databases, instance_dir, [])


@pytest.fixture
def live_widgets(databases: Any, instance_dir: Any) -> Iterator[Live]:
    """As ``live`` with the ``demo_a`` fixture module (a widget list and bot command)."""
    yield from _live(databases, instance_dir, ["demo_a"])


@pytest.fixture
def browser() -> Iterator[Any]:
    """Per test: Playwright's sync API cannot run twice at once (other modules' browser
    tests start their own)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"Chromium at {CHROMIUM} could not start: {exc}")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10000)
    yield page
    context.close()


def log_in(page: Any, live: Live, username: str) -> None:
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "secret-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/")
