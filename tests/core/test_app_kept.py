"""``core.cache.app_kept``: computed once per app and key, again after its time."""

from __future__ import annotations

import time

from core.cache import app_kept


def test_kept_until_its_time_then_computed_again(app_ctx, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert app_kept("test.kept", compute, 60) == 1
    now[0] += 59
    assert app_kept("test.kept", compute, 60) == 1
    now[0] += 2
    assert app_kept("test.kept", compute, 60) == 2
    assert app_kept("test.other", compute, 60) == 3
