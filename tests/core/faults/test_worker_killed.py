"""``kill -9`` of an RQ worker in the middle of a WeCom send: the job is retried and WeCom
receives one message per outbox key (issue 20 #3)."""

from __future__ import annotations

import threading
import time

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry
from rq.registry import StartedJobRegistry
from sqlalchemy import select

from core import notify
from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from tests.core.faults.conftest import wait_until
from tests.core.faults.conftest import wecom_members

pytestmark = [pytest.mark.redis, pytest.mark.timeout(180)]


def test_a_worker_killed_mid_send_is_retried_and_wecom_gets_each_message_once(
        rq_app, fake_wecom, redis_server):
    app, workers = rq_app
    state = fake_wecom.state
    state.hold = threading.Event()  # WeCom takes the message, its answer waits
    with app.app_context():
        members = wecom_members(3, "killed")
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            for n, member in enumerate(members):
                notify.notify(ctx, [member], f"工单 T-{n} 已指派给你", channels=("wecom",),
                              dedupe_key=f"fault.kill:{n}")
        keys = set(db.session.scalars(select(Notification.dedupe_key)))
    assert len(keys) == 3

    worker = workers.start("--no-scheduler")
    assert wait_until(lambda: state.sends_held, 60), "the worker never sent"
    workers.kill9(worker)  # the worker (and a work horse, if any): its whole process group
    state.hold.set()  # WeCom answers a dead connection: the message itself went out
    assert len(state.delivered_to()) == 1

    with app.app_context():
        rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
        assert [r.status for r in rows] == ["sending", "pending", "pending"]
        db.session.remove()

    # RQ retries the abandoned job when a live worker's maintenance finds it: after the
    # dead worker's heartbeat TTL (``worker_ttl``), moved forward here rather than waited.
    connection = redis_server_connection(redis_server)
    queue = Queue("default", connection=connection)
    registry = StartedJobRegistry(queue=queue)
    assert len(registry.get_job_ids(cleanup=False)) == 1
    registry.cleanup(time.time() + 3600)
    assert len(queue) == 2 and len(ScheduledJobRegistry(queue=queue)) == 1  # retried in 10 s
    # The killed worker's RQ scheduler lock would expire after 61 s: expired here as well.
    for key in connection.scan_iter("rq:scheduler-lock:*"):
        connection.delete(key)
    workers.start("--no-scheduler")  # RQ's scheduler in it enqueues the retry when due

    def all_sent() -> bool:
        with app.app_context():
            statuses = set(db.session.scalars(select(Notification.status)))
            db.session.remove()
        return statuses == {"sent"}

    assert wait_until(all_sent, 60, step=0.5)

    sent = state.delivered_to()
    assert sorted(m["touser"] for m in sent) == ["killed-0", "killed-1", "killed-2"]
    assert len(state.received("/cgi-bin/message/send")) == 4  # the killed send went again
    with app.app_context():
        rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
        assert [r.status for r in rows] == ["sent"] * 3
        assert [r.attempts for r in rows] == [2, 1, 1]
        db.session.remove()


def redis_server_connection(server):  # noqa: ANN001, ANN201
    import redis

    return redis.Redis.from_url(server.url)
