"""The scheduler's lease (real Redis): one scheduler enqueues, a standby takes over when the
holder dies and catches up the slots it missed — each slot once, whoever holds it."""

from __future__ import annotations

import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from rq import Queue

from core.app import create_app
from core.extensions import db
from core.jobs import redis_connection
from core.jobs.scheduler import Scheduler
from tests.conftest import base_config

pytestmark = pytest.mark.redis
BASE = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def rq_app(jobs_app, redis_server):
    app = create_app(base_config(jobs_app.config["SQLALCHEMY_DATABASE_URI"],
                                 jobs_app.instance_path, REDIS_URL=redis_server.url,
                                 TANDEM_JOBS_EAGER=False))
    yield app
    with app.app_context():
        db.engine.dispose()


def _at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


def _ticks(scheduler: Scheduler, now: datetime) -> list[str]:
    """What a tick enqueued of demo_a's job (every 5 minutes; core's own run each minute)."""
    return [name for name in scheduler.tick(now) if name == "demo_a.tick"]


def _queued(app) -> list[str]:
    with app.app_context():
        queue = Queue("default", connection=redis_connection(app))
        return [job.args[0] for job in queue.get_jobs()]


def test_a_standby_takes_over_a_dead_scheduler_and_each_slot_runs_once(rq_app):
    first = Scheduler(lambda: rq_app, lease=1)
    standby = Scheduler(lambda: rq_app, lease=1)
    first._last = standby._last = BASE

    assert _ticks(first, _at(6)) == ["demo_a.tick"]  # slot 00:05
    assert _ticks(standby, _at(6)) == []  # the lease is held
    assert _ticks(standby, _at(11)) == []  # still held: the holder only stopped ticking
    time.sleep(1.3)  # the dead holder's lease expires
    assert _ticks(standby, _at(11)) == ["demo_a.tick"]  # slot 00:10, caught up from the cursor
    assert standby.leader
    # the old holder wakes up: its lease is gone and it does not take it back
    assert _ticks(first, _at(16)) == [] and not first.leader
    assert _ticks(standby, _at(16)) == ["demo_a.tick"]  # 00:15
    assert _queued(rq_app).count("demo_a.tick") == 3


def test_overlapping_schedulers_never_enqueue_a_slot_twice(rq_app):
    one = Scheduler(lambda: rq_app, lease=30)
    two = Scheduler(lambda: rq_app, lease=30)
    one._last = two._last = BASE
    assert _ticks(one, _at(6)) == ["demo_a.tick"]
    # a paused holder and a new one both believe they hold the lease: the slot key decides
    two.leader = True
    two._lock = redis_connection(rq_app).lock("tandem:scheduler:other", timeout=30)
    two._lock.acquire(blocking=False)
    assert _ticks(two, _at(6)) == []
    assert _queued(rq_app).count("demo_a.tick") == 1


def test_a_clean_stop_hands_the_lease_over_at_once(rq_app):
    first = Scheduler(lambda: rq_app, lease=30)
    standby = Scheduler(lambda: rq_app, lease=30)
    first._last = standby._last = BASE
    assert _ticks(first, _at(6)) == ["demo_a.tick"]
    with rq_app.app_context():
        first.release()
    assert _ticks(standby, _at(11)) == ["demo_a.tick"]


def test_slots_due_while_redis_is_down_run_when_it_returns(rq_app, redis_server):
    scheduler = Scheduler(lambda: rq_app, lease=30)
    scheduler._last = BASE
    assert _ticks(scheduler, _at(1)) == []
    assert scheduler.leader
    redis_server.stop()
    assert _ticks(scheduler, _at(6)) == []  # nothing enqueued, nothing lost
    redis_server.start()  # an empty Redis: lease and cursor are gone
    assert _ticks(scheduler, _at(7)) == ["demo_a.tick"]  # the 00:05 slot, once
    assert _ticks(scheduler, _at(8)) == []
    assert _queued(rq_app).count("demo_a.tick") == 1


def test_a_takeover_catches_up_at_most_an_hour(rq_app):
    scheduler = Scheduler(lambda: rq_app, lease=30)
    scheduler._last = BASE  # nobody scheduled for three hours
    assert len(_ticks(scheduler, _at(180))) == 12  # the last hour's slots, every 5 minutes


class _DroppingRedis:
    """A Redis connection that drops after the slot's claim: what the scheduler sends next
    (the enqueue, the claim's release) fails; the server keeps its data."""

    def __init__(self, real) -> None:
        self.real = real

    def __getattr__(self, name):
        if name in ("delete", "expire"):
            def dropped(*args, **kwargs):
                import redis

                raise redis.exceptions.ConnectionError("Connection reset by peer")
            return dropped
        return getattr(self.real, name)


def test_a_slot_claimed_when_redis_dropped_mid_tick_runs_later(rq_app, monkeypatch):
    import core.jobs.scheduler as scheduler_module

    scheduler = Scheduler(lambda: rq_app, lease=1)
    scheduler._last = BASE
    real = scheduler_module.redis_connection
    monkeypatch.setattr(scheduler_module, "redis_connection",
                        lambda app=None: _DroppingRedis(real(app)))
    monkeypatch.setattr(scheduler_module, "enqueue_now", lambda name, *a, **k: False)
    assert _ticks(scheduler, _at(6)) == []  # claimed 00:05, the enqueue and release failed
    monkeypatch.undo()  # Redis is back
    time.sleep(1.3)  # the claim lapses with the lease
    assert _ticks(scheduler, _at(7)) == ["demo_a.tick"]  # the 00:05 slot, once
    assert _ticks(scheduler, _at(8)) == []
    assert _queued(rq_app).count("demo_a.tick") == 1
