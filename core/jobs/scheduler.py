"""One scheduler for periodic jobs (cron expressions via croniter).

With Redis, every worker may run a scheduler thread: a ``SET NX`` key per (job, minute)
makes sure a slot is enqueued once. Embedded mode (no Redis) runs one thread in the web
process, started by ``manage.py run``.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from datetime import timedelta
from typing import Any

from croniter import croniter
from flask import Flask

from core import hooks
from core.db import utcnow
from core.jobs import enqueue_now
from core.jobs import redis_connection

log = logging.getLogger(__name__)


def due(schedule: str, since: datetime, now: datetime) -> list[datetime]:
    """The slots of ``schedule`` in ``(since, now]``, in UTC."""
    out = []
    it = croniter(schedule, since)
    while True:
        slot = it.get_next(datetime)
        if slot > now:
            return out
        out.append(slot)


class Scheduler:
    def __init__(self, app_provider: Any) -> None:
        self._app_provider = app_provider  # callable returning the current Flask app
        self._last = utcnow().replace(second=0, microsecond=0)
        self._seen: set[tuple[str, str]] = set()
        self._redis_lost = False  # a claim failed: Redis was unreachable

    def _claim(self, app: Flask, name: str, slot: datetime) -> bool:
        key = (name, slot.isoformat())
        if app.config.get("REDIS_URL"):

            try:
                return bool(
                    redis_connection(app).set(
                        f"tandem:schedule:{name}:{slot.isoformat()}", 1, nx=True, ex=86400
                    )
                )
            except Exception:  # noqa: BLE001 - Redis down: try again next tick
                self._redis_lost = True
                return False
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def tick(self, now: datetime | None = None) -> list[str]:
        """Enqueue every job whose slot came due since the last tick."""

        now = now or utcnow()
        app = self._app_provider()
        started = []
        with app.app_context():
            if self._redis_lost and enqueue_now("core.outbox.relay"):
                # Redis is back: what the outage kept in the outbox goes now, not at the
                # relay's next slot.
                self._redis_lost = False
                started.append("core.outbox.relay")
            for spec in hooks.registry(app).jobs.values():
                if not spec.schedule:
                    continue
                for slot in due(spec.schedule, self._last, now):
                    if self._claim(app, spec.name, slot):
                        enqueue_now(spec.name)
                        started.append(spec.name)
        self._last = now
        if len(self._seen) > 10000:
            self._seen.clear()
        return started

    def run_forever(self, interval: float = 20.0, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - keep scheduling
                log.exception("scheduler tick failed")
            stop.wait(interval)


def start_embedded_scheduler(dispatcher: Any) -> threading.Thread | None:
    """Embedded mode: periodic jobs in a daemon thread of the web process."""
    if dispatcher.app.config.get("REDIS_URL") or dispatcher.app.config.get("TESTING"):
        return None
    scheduler = Scheduler(dispatcher.current_app)
    thread = threading.Thread(target=scheduler.run_forever, name="tandem-scheduler", daemon=True)
    thread.start()
    return thread


def start_worker_scheduler(app: Flask) -> threading.Thread:
    scheduler = Scheduler(lambda: app)
    thread = threading.Thread(target=scheduler.run_forever, name="tandem-scheduler", daemon=True)
    thread.start()
    return thread


__all__ = [
    "Scheduler",
    "due",
    "start_embedded_scheduler",
    "start_worker_scheduler",
    "time",
    "timedelta",
]
