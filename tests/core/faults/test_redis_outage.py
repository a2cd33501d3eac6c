"""Redis stopped while 1,000 changes are made: nothing lost, everything delivered within two
minutes of its return, nothing twice (issue 20 #3).

Each change is a business write (a widget) that queues a WeCom message to a member in the
same transaction. While Redis is down the delivery jobs cannot be enqueued; the outbox rows
wait in the database and the relay (a periodic job of the worker's scheduler) sends them once
Redis is back. The outage lasts ``TANDEM_FAULT_REDIS_OUTAGE`` seconds (60 by default)."""

from __future__ import annotations

import os
import time

import pytest
import redis
from sqlalchemy import func
from sqlalchemy import select

from core import notify
from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import backend
from tests.core.faults.conftest import wait_until
from tests.core.faults.conftest import wecom_members

OUTAGE_SECONDS = float(os.environ.get("TANDEM_FAULT_REDIS_OUTAGE", "60"))
CHANGES = 1000
DELIVERY_LIMIT_SECONDS = 120

# A deployment with RQ workers runs on PostgreSQL (SQLite is the embedded, one-process
# mode): the minute-long outage runs once, in the PostgreSQL pass of the suite.
pytestmark = [pytest.mark.redis, pytest.mark.timeout(OUTAGE_SECONDS + 240), pytest.mark.skipif(
    backend() != "postgresql", reason="run once, in the PostgreSQL pass (deployments with "
    "workers run on PostgreSQL)")]


def test_redis_down_for_a_minute_loses_nothing_and_sends_nothing_twice(
        rq_app, fake_wecom, redis_server):
    app, workers = rq_app
    from demo_a.models import Widget

    with app.app_context():
        members = wecom_members(50, "outage")
        db.session.remove()
    worker = workers.start()  # a worker with the scheduler, as deployed; it outlives the outage
    connection = redis.Redis.from_url(redis_server.url)
    assert wait_until(lambda: connection.scard("rq:workers"), 60), "the worker did not start"
    connection.close()

    redis_server.stop()
    down_at = time.monotonic()
    with app.app_context():
        ctx = ServiceContext.system("web")
        for n in range(CHANGES):
            with unit_of_work(ctx):  # commits although Redis is down
                member = members[n % len(members)]
                db.session.add(Widget(name=f"outage-{n}", owner_id=member.id))
                notify.notify(ctx, [member.id], f"小部件 outage-{n} 已创建", channels=("wecom",),
                              dedupe_key=f"fault.redis:{n}")
        assert db.session.scalar(select(func.count()).select_from(Notification)
                                 .where(Notification.status == "pending")) == CHANGES
        db.session.remove()
    changes_took = time.monotonic() - down_at
    time.sleep(max(0.0, OUTAGE_SECONDS - changes_took))
    assert fake_wecom.state.delivered_to() == []

    redis_server.start()  # the same port, empty: what was queued in Redis before is gone
    back_at = time.monotonic()

    def delivered() -> bool:
        return len(fake_wecom.state.delivered_to()) >= CHANGES

    assert wait_until(delivered, DELIVERY_LIMIT_SECONDS, step=1), (
        f"{len(fake_wecom.state.delivered_to())} of {CHANGES} delivered "
        f"{DELIVERY_LIMIT_SECONDS} s after Redis came back (worker alive: "
        f"{worker.poll() is None})")
    took = time.monotonic() - back_at
    assert took <= DELIVERY_LIMIT_SECONDS

    sent = fake_wecom.state.received("/cgi-bin/message/send")
    contents = [m["json"]["markdown"]["content"] for m in sent]
    assert len(contents) == CHANGES == len(set(contents))  # none sent twice, none dropped
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Widget)) == CHANGES
        statuses = dict(db.session.execute(
            select(Notification.status, func.count()).group_by(Notification.status)).all())
        assert statuses == {"sent": CHANGES}
        db.session.remove()
    print(f"\n{CHANGES} changes in {changes_took:.1f} s with Redis down for "
          f"{OUTAGE_SECONDS:.0f} s; all delivered {took:.1f} s after it came back")
