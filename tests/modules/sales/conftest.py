"""Fixtures of the sales tests: crm's people (team 一组: manager, a, b; 二组: c; admin) plus
an engineer ``e`` and a warehouse clerk ``w``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.modules.crm.factories import api_callers
from tests.modules.crm.factories import make_people


@pytest.fixture
def people(app_ctx: Any, make_user: Any) -> dict[str, Any]:
    cast = make_people(make_user)
    cast["e"] = make_user("engineer")
    cast["w"] = make_user("warehouse")
    return cast


@pytest.fixture
def api(client: Any, people: dict[str, Any]) -> Any:
    return api_callers(client, people)
