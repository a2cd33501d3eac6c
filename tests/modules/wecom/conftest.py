"""A Tandem app with ``demo_a`` (a bot command and a card action) and ``wecom`` installed,
configured against a fake WeCom on loopback; a driver that posts callbacks like WeCom."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from core.services import ServiceContext
from core.services import unit_of_work
from modules.wecom.crypto import WeComCrypto
from modules.wecom.fake import CallbackDriver
from modules.wecom.fake import FakeState
from modules.wecom.fake import FakeWeCom
from tests.conftest import cleaned_context
from tests.conftest import installed_app

CORP_ID = "ww_fake_corp"
APP_TOKEN, APP_KEY = "apptoken123", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
BOT_TOKEN, BOT_KEY = "bottoken456", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"


@pytest.fixture(scope="session")
def fake_wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom(FakeState(corp_id=CORP_ID, secret="app-secret")) as fake:
        yield fake


def wecom_config(fake: FakeWeCom, **extra: Any) -> dict[str, Any]:
    return {
        "WECOM_CORP_ID": CORP_ID,
        "WECOM_AGENT_ID": "1000002",
        "WECOM_APP_SECRET": "app-secret",
        "WECOM_APP_TOKEN": APP_TOKEN,
        "WECOM_APP_AES_KEY": APP_KEY,
        "WECOM_BOT_TOKEN": BOT_TOKEN,
        "WECOM_BOT_AES_KEY": BOT_KEY,
        "WECOM_API_BASE": fake.base_url,
        "WECOM_WEBHOOK_KEYS": '{"sales": "sales-key", "service": "service-key"}',
        **extra,
    }


@pytest.fixture(scope="session")
def wecom_app(databases: Any, instance_dir: Any, fake_wecom: FakeWeCom) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["demo_a", "wecom"],
                       **wecom_config(fake_wecom)) as app:
        yield app


@pytest.fixture
def wecom_ctx(wecom_app: Any, fake_wecom: FakeWeCom) -> Iterator[Any]:
    with fake_wecom.state.lock:
        fake_wecom.state.requests.clear()
        fake_wecom.state.webhook_times.clear()
    with cleaned_context(wecom_app) as app:
        yield app
    with fake_wecom.state.lock:
        fake_wecom.state.requests.clear()
        fake_wecom.state.webhook_times.clear()


def client_poster(client: Any) -> Any:
    def post(method: str, path: str, params: dict, body: str | None,
             headers: dict) -> tuple[int, str]:
        response = client.open(path, method=method, query_string=params, data=body,
                               headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return post


def callback_driver(target: Any) -> CallbackDriver:
    """The one driver the tests post callbacks with, signed and encrypted as WeCom does with
    this file's app and robot secrets: ``target`` is a Tandem app (through its test client)
    or a poster (e.g. ``CallbackDriver.over_http(url)`` for a live server)."""
    poster = client_poster(target.test_client()) if hasattr(target, "test_client") else target
    return CallbackDriver(
        poster,
        app_crypto=WeComCrypto(APP_TOKEN, APP_KEY, CORP_ID),
        bot_crypto=WeComCrypto(BOT_TOKEN, BOT_KEY, ""),
    )


@pytest.fixture
def ctx_app(wecom_ctx: Any) -> Any:
    """The app under test; a test module with its own app overrides this fixture."""
    return wecom_ctx


@pytest.fixture
def driver(ctx_app: Any) -> CallbackDriver:
    """Callbacks to ``ctx_app``. Test modules elsewhere import this fixture
    (``from tests.modules.wecom.conftest import driver``) and define their ``ctx_app``."""
    return callback_driver(ctx_app)


@pytest.fixture
def chat_user(wecom_ctx: Any) -> Any:
    from core.security.services import create_user

    def factory(userid: str, *roles: str, **kwargs: Any) -> Any:
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            return create_user(ctx, userid, roles=roles or ("sales",), wecom_userid=userid,
                               **kwargs)

    return factory


@contextmanager
def official_account_api(fake_wecom: Any) -> Iterator[Any]:
    """The official account's API (AppID, AppSecret, base address) configured on the fake,
    its sent messages forgotten before and its 48-hour windows reset after."""
    from core.settings import set_setting

    with unit_of_work(ServiceContext.system("cli")):
        set_setting("wecom.oa_app_id", fake_wecom.state.oa_app_id)
        set_setting("wecom.oa_app_secret", fake_wecom.state.oa_secret)
        set_setting("wecom.oa_api_base", fake_wecom.base_url)
    with fake_wecom.state.lock:
        fake_wecom.state.delivered.clear()
    yield fake_wecom
    fake_wecom.state.oa_out_of_window.clear()
