"""Record-change events for open pages: Redis pub/sub when ``REDIS_URL`` is set, an
in-process broadcaster otherwise. Events carry only (model, id, action) — never field data —
so a page that hears one refetches through the normal, rule-checked views."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

from flask import current_app
from flask import has_app_context

log = logging.getLogger(__name__)

CHANNEL = "tandem:changes"


class _LocalBroker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[queue.Queue] = set()

    def publish(self, event: dict) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            with contextlib.suppress(queue.Full):
                q.put_nowait(event)

    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=1000)
        with self._lock:
            self._subscribers.add(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            self._subscribers.discard(q)


local_broker = _LocalBroker()


def _redis_url() -> str | None:
    return current_app.config.get("REDIS_URL") if has_app_context() else None


_publishers: dict[str, Any] = {}


def _publisher(url: str) -> Any:
    """One client (connection pool) per URL and process, not a connection per commit."""
    import redis

    client = _publishers.get(url)
    if client is None:
        client = _publishers.setdefault(url, redis.Redis.from_url(url))
    return client


def publish_changes(changes: list[tuple[str, str, str]]) -> None:
    """Publish (model, record_id, action) tuples after a commit; never raises."""
    events = [
        {"model": m, "id": str(i), "action": a}
        for m, i, a in changes
        if not m.startswith(("core_audit", "core_notification", "core_inbox"))
    ]
    if not events:
        return
    url = _redis_url()
    if url:
        try:
            client = _publisher(url)
            for event in events:
                client.publish(CHANNEL, json.dumps(event))
            return
        except Exception as exc:  # noqa: BLE001 - pages refresh later; never fail a commit
            log.warning("realtime publish failed: %s", exc)
            return
    for event in events:
        local_broker.publish(event)


def subscribe(redis_url: str | None, heartbeat: float = 15.0) -> Iterator[dict | None]:
    """Yield events as they come; ``None`` every ``heartbeat`` seconds of silence."""
    if redis_url:
        import redis

        pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(CHANNEL)
        try:
            while True:
                message = pubsub.get_message(timeout=heartbeat)
                yield json.loads(message["data"]) if message else None
        finally:
            pubsub.close()
    q = local_broker.subscribe()
    try:
        while True:
            try:
                yield q.get(timeout=heartbeat)
            except queue.Empty:
                yield None
    finally:
        local_broker.unsubscribe(q)
