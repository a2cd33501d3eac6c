"""Fixtures of the cross-module security guards: crm's two teams and their API callers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.modules.crm.factories import api_callers
from tests.modules.crm.factories import make_people


@pytest.fixture
def people(app_ctx: Any, make_user: Any) -> dict[str, Any]:
    """Team 一组 (``manager`` + sales ``a``, ``b``), team 二组 (sales ``c``), an ``admin``."""
    return make_people(make_user)


@pytest.fixture
def api(client: Any, people: dict[str, Any]) -> Any:
    return api_callers(client, people)
