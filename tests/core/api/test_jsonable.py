"""``jsonable``: a dict's values are converted by their exact type or, for any other type,
as ``jsonable`` converts it alone (nested dicts and lists, enums, subclasses)."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from decimal import Decimal

import pytest

from core.api.schemas import jsonable


class Colour(enum.Enum):
    RED = "red"


class Flag(enum.IntEnum):
    ON = 1


def test_a_dicts_values_of_every_kind() -> None:
    key = uuid.UUID(int=1)
    value = {
        "text": "x", "n": 3, "f": 1.5, "yes": True, "none": None,
        "amount": Decimal("12.30"), "at": datetime(2026, 12, 5, 6), "on": date(2026, 12, 5),
        "time": time(8, 30), "aware": datetime(2026, 12, 5, 6, tzinfo=UTC),
        "colour": Colour.RED, "flag": Flag.ON, "id": key,
        "nested": {"amount": Decimal("1"), 7: [Decimal("2"), {"d": date(2026, 1, 1)}]},
        "tuple": (Decimal("3"),),
    }
    assert jsonable(value) == {
        "text": "x", "n": 3, "f": 1.5, "yes": True, "none": None,
        "amount": "12.30", "at": "2026-12-05T06:00:00+00:00", "on": "2026-12-05",
        "time": "08:30:00", "aware": "2026-12-05T06:00:00+00:00",
        "colour": "red", "flag": 1, "id": str(key),
        "nested": {"amount": "1", "7": ["2", {"d": "2026-01-01"}]},
        "tuple": ["3"],
    }


def test_keys_become_text() -> None:
    assert list(jsonable({1: "a", Colour.RED: "b"})) == ["1", "Colour.RED"]


def test_an_unknown_type_is_refused_inside_a_dict() -> None:
    with pytest.raises(TypeError):
        jsonable({"x": object()})
