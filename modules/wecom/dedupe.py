"""Apply a retried callback once: Redis ``SET NX`` with a TTL, or a unique row in the same
transaction as the business change when there is no Redis."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app

from core.concurrency import dialect_insert
from core.db import utcnow
from core.extensions import db
from modules.wecom.models import ProcessedCallback

TTL_SECONDS = 24 * 3600


class Duplicate(Exception):
    """This callback was applied already (or is being applied by a concurrent delivery)."""


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url)


@contextmanager
def once(key: str) -> Iterator[None]:
    """Run the body once per ``key``; raise :class:`Duplicate` for a repeat.

    Use inside the unit of work that applies the callback: with Redis the key is taken
    first and released if the body fails (so WeCom's retry can succeed); without Redis the
    key is a row flushed before the body and committed (or rolled back) with it.
    """
    client = _redis()
    if client is not None:
        redis_key = f"tandem:wecom:seen:{key}"
        if not client.set(redis_key, 1, nx=True, ex=TTL_SECONDS):
            raise Duplicate(key)
        try:
            yield
        except BaseException:
            client.delete(redis_key)
            raise
        return
    if not _take(key):
        raise Duplicate(key)
    yield


def _take(key: str) -> bool:
    """Insert the key's row; False when it is there already. One ``INSERT … ON CONFLICT DO
    NOTHING`` (on PostgreSQL a concurrent delivery waits for the first one's transaction,
    then inserts nothing): no look-up first, one round trip less per callback."""
    table = ProcessedCallback.__table__
    taken = db.session.execute(dialect_insert(table).values(key=key, created_at=utcnow())
                               .on_conflict_do_nothing().returning(table.c.key))
    return taken.first() is not None
