"""Demo equipment: the delivered demo orders get installed (serial numbers, locations),
some units have maintenance history, and a few are due or overdue for maintenance."""

from __future__ import annotations

from typing import Any


def load(ctx: Any) -> None:
    return None
