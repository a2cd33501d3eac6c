"""Apply a retried callback once: Redis ``SET NX`` with a TTL, or a unique row in the same
transaction as the business change when there is no Redis."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.exc import IntegrityError

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
    if db.session.get(ProcessedCallback, key) is not None:
        raise Duplicate(key)
    db.session.add(ProcessedCallback(key=key))
    try:
        db.session.flush()  # on PostgreSQL a concurrent delivery waits here, then fails
    except IntegrityError as exc:
        db.session.rollback()
        raise Duplicate(key) from exc
    yield
