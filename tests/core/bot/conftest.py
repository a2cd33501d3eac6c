"""An app with only the ``demo_a`` fixture module (its bot command and card action), so the
bot tests do not depend on the built-in modules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import _clean
from tests.conftest import build_installed_app


@pytest.fixture(scope="session")
def bot_app(databases: Any, instance_dir: Any) -> Iterator[Any]:
    application = build_installed_app(databases.new_url(), instance_dir, ["demo_a"])
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def bot_ctx(bot_app: Any) -> Iterator[Any]:
    """An app context on ``bot_app``; its data rows are deleted after the test."""
    with bot_app.app_context():
        yield bot_app
        db.session.remove()
    _clean(bot_app)


@pytest.fixture
def bot_user(bot_ctx: Any) -> Any:
    """``bot_user("sales", wecom_userid="zhangsan", display_name="张三")``."""
    from core.security.services import create_user

    counter = {"n": 0}

    def factory(*roles: str, **kwargs: Any) -> Any:
        counter["n"] += 1
        kwargs.setdefault("username", f"{(roles or ('user',))[0]}{counter['n']}")
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            return create_user(ctx, roles=roles, **kwargs)

    return factory
