"""An app with only the ``demo_a`` fixture module (its bot command and card action), so the
bot tests do not depend on the built-in modules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import cleaned_context
from tests.conftest import installed_app


@pytest.fixture(scope="session")
def bot_app(databases: Any, instance_dir: Any) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["demo_a"]) as application:
        yield application


@pytest.fixture
def bot_ctx(bot_app: Any) -> Iterator[Any]:
    """An app context on ``bot_app``; its data rows are deleted after the test."""
    with cleaned_context(bot_app) as application:
        yield application


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
