"""``core.cache.app_kept``: computed once per app and key, again after its time."""

from __future__ import annotations

import time

from flask import current_app

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


def test_expired_values_are_dropped_once_many_are_kept(app_ctx, monkeypatch):
    import core.cache

    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(core.cache, "KEPT_SWEEP_AT", 3)
    monkeypatch.setitem(current_app.extensions, "tandem_app_kept", {})  # this test's only
    app_kept(("test.reader", 1), lambda: "a", 10)
    app_kept(("test.reader", 2), lambda: "b", 100)
    now[0] += 50  # reader 1's value has expired, reader 2's has not
    app_kept(("test.reader", 3), lambda: "c", 10)  # 3 kept: no sweep yet
    kept = current_app.extensions["tandem_app_kept"]
    assert ("test.reader", 1) in kept
    app_kept(("test.reader", 4), lambda: "d", 10)  # the fourth sweeps the expired one
    assert ("test.reader", 1) not in kept
    assert {("test.reader", 2), ("test.reader", 3), ("test.reader", 4)} <= set(kept)
    assert app_kept(("test.reader", 2), lambda: "recomputed", 100) == "b"
