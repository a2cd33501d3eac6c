"""One scheduler for periodic jobs (cron expressions via croniter).

With Redis, any number of schedulers may run (``manage.py scheduler`` on two hosts, or the
thread of every ``manage.py worker``): one holds a **lease** — a Redis lock with an expiry,
renewed on every tick — and the others wait. A scheduler that dies (``kill -9``, a lost
host) stops renewing; when its lease expires another takes it over and catches up the slots
since the **cursor** the last holder wrote (bounded by ``CATCH_UP``). Each slot is enqueued
once: a ``SET NX`` key per (job, slot) guards it even when two schedulers overlap (a paused
holder waking up after its lease expired). A slot whose enqueue fails (Redis down) is
released and retried on the next tick; its claim expires with the lease until the enqueue
succeeded, so a claim that could not be released (Redis dropped mid-tick) lapses.

Embedded mode (no Redis) runs one scheduler in the web process (``manage.py run``) or in
``manage.py scheduler``; jobs then run in that process.
"""

from __future__ import annotations

import contextlib
import logging
import threading
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

LEASE_KEY = "tandem:scheduler:lease"
CURSOR_KEY = "tandem:scheduler:cursor"
SLOT_KEY = "tandem:schedule:{name}:{slot}"
CATCH_UP = timedelta(hours=1)  # slots missed longer ago than this (no scheduler ran) are skipped
DEFAULT_LEASE = 60.0  # seconds; TANDEM_SCHEDULER_LEASE
DEFAULT_INTERVAL = 20.0  # seconds between ticks; TANDEM_SCHEDULER_INTERVAL


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
    """Enqueues periodic jobs as their slots come due; with Redis, only while it holds the
    lease."""

    def __init__(self, app_provider: Any, lease: float | None = None) -> None:
        self._app_provider = app_provider  # callable returning the current Flask app
        self._last = utcnow().replace(second=0, microsecond=0)
        self._seen: set[tuple[str, str]] = set()
        self._lease_seconds = lease
        self._lock: Any = None
        self.leader = False
        self._redis_lost = False  # a tick failed: Redis was unreachable

    # ----------------------------------------------------------------------------- the lease
    def lease_seconds(self, app: Flask) -> float:
        return float(self._lease_seconds or app.config.get("TANDEM_SCHEDULER_LEASE")
                     or DEFAULT_LEASE)

    def _hold_lease(self, app: Flask, now: datetime) -> bool:
        """Renew the lease this scheduler holds, or take it when it is free. Raises when
        Redis cannot be reached."""
        from redis.exceptions import LockError

        if self._lock is None:
            self._lock = redis_connection(app).lock(
                LEASE_KEY, timeout=self.lease_seconds(app), blocking=False, thread_local=False)
        if self.leader:
            try:
                self._lock.reacquire()
                return True
            except LockError:
                log.warning("scheduler lease lost (expired); another scheduler may hold it")
                self.leader = False
        if not self._lock.acquire(blocking=False):
            return False
        self.leader = True
        cursor = redis_connection(app).get(CURSOR_KEY)
        floor = (now - CATCH_UP).replace(second=0, microsecond=0)
        # from the last holder's cursor; without one (Redis emptied) from this scheduler's
        # own last tick — never further back than CATCH_UP
        start = datetime.fromisoformat(cursor.decode()) if cursor else self._last
        self._last = max(start, floor)
        log.info("scheduler lease taken; slots after %s are mine", self._last.isoformat())
        return True

    def release(self) -> None:
        """Give the lease up (on a clean stop), so a standby takes over at once."""
        if self._lock is not None and self.leader:
            # expired or Redis gone: nothing to give up
            with contextlib.suppress(Exception):
                self._lock.release()
        self.leader = False

    # ----------------------------------------------------------------------------- the slots
    def _claim(self, app: Flask, name: str, slot: datetime) -> bool:
        """Take ``slot`` of job ``name`` for this tick. With Redis the claim is a ``SET NX``
        key that expires with the lease until the job is enqueued (:meth:`_confirm`): when
        Redis drops between the claim and the enqueue, and the claim cannot be released,
        it lapses and a later tick (this scheduler or a standby) runs the slot."""
        key = (name, slot.isoformat())
        if key in self._seen:  # enqueued by this scheduler (its confirmation may have failed)
            return False
        if app.config.get("REDIS_URL"):
            return bool(redis_connection(app).set(
                SLOT_KEY.format(name=name, slot=slot.isoformat()), "claimed", nx=True,
                ex=max(1, int(self.lease_seconds(app)))))
        self._seen.add(key)
        return True

    def _confirm(self, app: Flask, name: str, slot: datetime) -> None:
        """The slot's job is enqueued: its claim is kept a day (never enqueued twice)."""
        if not app.config.get("REDIS_URL"):
            return
        self._seen.add((name, slot.isoformat()))  # whatever Redis does now, not again here
        try:
            redis_connection(app).set(SLOT_KEY.format(name=name, slot=slot.isoformat()),
                                      "enqueued", ex=86400)
        except Exception:  # noqa: BLE001 - Redis dropped after the enqueue
            log.warning("could not confirm the slot %s of %s", slot, name)

    def _unclaim(self, app: Flask, name: str, slot: datetime) -> None:
        if app.config.get("REDIS_URL"):
            try:
                redis_connection(app).delete(SLOT_KEY.format(name=name, slot=slot.isoformat()))
            except Exception:  # noqa: BLE001 - Redis down: the claim lapses with the lease
                log.warning("could not release the slot %s of %s; it lapses in %s s",
                            slot, name, self.lease_seconds(app))
        else:
            self._seen.discard((name, slot.isoformat()))

    def tick(self, now: datetime | None = None) -> list[str]:
        """Enqueue every job whose slot came due since the last tick (with Redis: only while
        holding the lease)."""
        now = now or utcnow()
        app = self._app_provider()
        started: list[str] = []
        with app.app_context():
            redis_mode = bool(app.config.get("REDIS_URL"))
            try:
                if redis_mode and not self._hold_lease(app, now):
                    return started
                if self._redis_lost and enqueue_now("core.outbox.relay"):
                    # Redis is back: what the outage kept in the outbox goes now, not at
                    # the relay's next slot.
                    self._redis_lost = False
                    started.append("core.outbox.relay")
                complete = True
                for spec in hooks.registry(app).jobs.values():
                    if not spec.schedule:
                        continue
                    for slot in due(spec.schedule, self._last, now):
                        if not self._claim(app, spec.name, slot):
                            continue
                        if enqueue_now(spec.name) or not redis_mode:
                            self._confirm(app, spec.name, slot)
                            started.append(spec.name)
                        else:  # not queued: the slot stays open for the next tick
                            self._unclaim(app, spec.name, slot)
                            complete = False
            except Exception:  # noqa: BLE001 - Redis down: the same window next tick
                self._redis_lost = True
                log.exception("scheduler tick failed")
                return started
            if complete:
                self._last = now
                if redis_mode:
                    try:
                        redis_connection(app).set(CURSOR_KEY, now.isoformat(), ex=7 * 86400)
                    except Exception:  # noqa: BLE001 - written again next tick
                        log.warning("could not write the scheduler cursor")
        if len(self._seen) > 10000:
            self._seen.clear()
        return started

    def run_forever(self, interval: float | None = None,
                    stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        app = self._app_provider()
        interval = float(interval or app.config.get("TANDEM_SCHEDULER_INTERVAL")
                         or DEFAULT_INTERVAL)
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - keep scheduling
                    log.exception("scheduler tick failed")
                stop.wait(interval)
        finally:
            with app.app_context():
                self.release()


def start_embedded_scheduler(dispatcher: Any) -> threading.Thread | None:
    """Embedded mode: periodic jobs in a daemon thread of the web process."""
    if dispatcher.app.config.get("REDIS_URL") or dispatcher.app.config.get("TESTING"):
        return None
    scheduler = Scheduler(dispatcher.current_app)
    thread = threading.Thread(target=scheduler.run_forever, name="tandem-scheduler", daemon=True)
    thread.start()
    return thread


class SchedulerThread:
    """The scheduler thread of ``manage.py worker``: :meth:`stop` ends it cleanly."""

    def __init__(self, scheduler: Scheduler, thread: threading.Thread,
                 stop_event: threading.Event) -> None:
        self.scheduler = scheduler
        self.thread = thread
        self.stop_event = stop_event

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the thread, wait for a tick in progress, then give the lease up (so a
        standby takes over at once). The lease is given up only once no tick can run any
        more: released earlier, a standby would take it while this tick still enqueues (two
        schedulers). A tick still running after ``timeout`` keeps the lease, which then
        expires; returns whether the thread ended."""
        self.stop_event.set()
        self.thread.join(timeout)
        if self.thread.is_alive():
            log.warning("scheduler thread still busy after %s s; its lease will expire", timeout)
            return False
        self.scheduler.release()  # run_forever released it already; a no-op then
        return True


def start_worker_scheduler(app_provider: Any) -> SchedulerThread:
    """The scheduler thread of ``manage.py worker`` (``app_provider``: the current app);
    :meth:`SchedulerThread.stop` stops it."""
    scheduler = Scheduler(app_provider)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run_forever, kwargs={"stop": stop},
                              name="tandem-scheduler", daemon=True)
    thread.start()
    return SchedulerThread(scheduler, thread, stop)


__all__ = [
    "Scheduler",
    "SchedulerThread",
    "due",
    "start_embedded_scheduler",
    "start_worker_scheduler",
]
