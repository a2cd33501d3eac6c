"""Record changes reach open pages: in-process broker and Redis pub/sub."""

from __future__ import annotations

import threading
import time

import pytest

from core import realtime
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work


def _change_a_user(app, name):
    from core.security.services import create_user

    with app.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            create_user(ctx, name, roles=["sales"])
        db.session.remove()


def test_commit_reaches_the_stream_in_process(client, login_as, app):
    login_as("sales")
    response = client.get("/events/stream?models=core_user&limit=1")
    # Start reading in a thread, then commit a change from "another channel".
    chunks: list[str] = []

    def reader():
        for chunk in response.response:
            chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if "event: change" in "".join(chunks):
                break

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.3)
    _change_a_user(app, "someone-new")
    thread.join(10)
    text = "".join(chunks)
    assert "event: change" in text and '"model": "core_user"' in text
    assert "someone-new" not in text  # ids and actions only, never field data


def test_stream_requires_login(client):
    assert client.get("/events/stream").status_code == 302


@pytest.mark.redis
def test_redis_pubsub_carries_events_between_processes():
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    events = realtime.subscribe(url, heartbeat=0.2)
    assert next(events) is None  # subscribed; nothing yet
    from flask import Flask

    app = Flask("x")
    app.config["REDIS_URL"] = url
    with app.app_context():
        realtime.publish_changes([("crm_customer", "7", "update")])
    got = None
    for _ in range(20):
        got = next(events)
        if got:
            break
    assert got == {"model": "crm_customer", "id": "7", "action": "update"}
    events.close()
