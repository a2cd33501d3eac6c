"""Fixtures of the equipment tests: crm's people (team 一组: manager, a, b; 二组: c; admin)
plus an engineer ``e`` and a warehouse clerk ``w``, on the shared app (all built-in modules,
so ``service`` answers equipment's hooks with tickets) or, as ``bare_people`` and
``bare_client``, on an app with equipment but without ``service`` (nobody answers the hooks:
equipment's fallback records)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.hooks import registry
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import cleaned_context
from tests.conftest import installed_app
from tests.modules.crm.factories import api_callers
from tests.modules.crm.factories import make_people
from tests.modules.wecom.conftest import driver  # noqa: F401 - needs the test module's ctx_app


def _cast(make_user: Any) -> dict[str, Any]:
    cast = make_people(make_user)
    cast["e"] = make_user("engineer")
    cast["w"] = make_user("warehouse")
    return cast


@pytest.fixture
def people(app_ctx: Any, make_user: Any) -> dict[str, Any]:
    return _cast(make_user)


@pytest.fixture
def api(client: Any, people: dict[str, Any]) -> Any:
    return api_callers(client, people)


@pytest.fixture(scope="module")
def no_service_app(databases: Any, instance_dir: Any) -> Iterator[Any]:
    """Equipment (with crm and sales) without ``service``: equipment's hooks go unanswered."""
    with installed_app(databases, instance_dir, ["equipment"]) as app:
        assert "service" not in registry(app).installed
        yield app


@pytest.fixture
def bare_people(no_service_app: Any) -> Iterator[dict[str, Any]]:
    """``people`` on ``no_service_app``; its data is deleted after the test."""
    from core.security.services import create_user

    made: list[Any] = []

    def make_user(*roles: str, **kwargs: Any) -> Any:
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            user = create_user(ctx, f"{roles[0]}{len(made) + 1}", roles=roles,
                               password="secret-pass-1", **kwargs)
        made.append(user)
        return user

    with cleaned_context(no_service_app):
        yield _cast(make_user)


@pytest.fixture
def bare_client(no_service_app: Any, bare_people: dict[str, Any]) -> Any:
    return no_service_app.test_client()
