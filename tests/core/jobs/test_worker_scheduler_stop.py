"""Stopping ``manage.py worker``: its scheduler thread is stopped and joined before its lease
is given up, so a tick still running never overlaps a standby that took the lease over."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from core import worker as worker_module
from core.app import create_app
from core.extensions import db
from core.jobs.scheduler import Scheduler
from tests.conftest import base_config

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]


class _Dispatcher:
    def __init__(self, app: Any) -> None:
        self.app = app

    def current_app(self) -> Any:
        return self.app


def test_the_lease_is_released_only_after_the_running_tick_ended(
        jobs_app, redis_server, monkeypatch):
    app = create_app(base_config(jobs_app.config["SQLALCHEMY_DATABASE_URI"],
                                 jobs_app.instance_path, REDIS_URL=redis_server.url,
                                 TANDEM_JOBS_EAGER=False))
    events: list[str] = []
    ticking = threading.Event()

    def slow_tick(self: Scheduler, now: Any = None) -> list[str]:
        events.append("tick started")
        ticking.set()
        time.sleep(0.5)  # still enqueueing when the worker is told to stop
        events.append("tick ended")
        return []

    def release(self: Scheduler) -> None:
        events.append("release")

    def work(names: list[str], connection: Any, burst: bool) -> None:
        assert ticking.wait(10)  # the worker stops while its scheduler ticks

    monkeypatch.setattr(Scheduler, "tick", slow_tick)
    monkeypatch.setattr(Scheduler, "release", release)
    monkeypatch.setattr(worker_module, "_work", work)
    monkeypatch.setattr("core.wsgi.TandemDispatcher", lambda: _Dispatcher(app))
    monkeypatch.setattr(worker_module, "configure_logging_from_env", lambda: None)
    # Set before the command sets it: monkeypatch then restores None, not its dispatcher
    # (a later test's worker would run jobs in this test's app).
    monkeypatch.setattr(worker_module, "_dispatcher", None)
    try:
        result = app.test_cli_runner().invoke(worker_module.worker, [])
        assert result.exit_code == 0, result.output
        assert events.index("tick ended") < events.index("release"), events
    finally:
        with app.app_context():
            db.engine.dispose()
