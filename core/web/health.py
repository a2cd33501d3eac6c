"""Probes for load balancers and process managers.

- ``/healthz``: the process answers (no database, no Redis): restart it when this fails.
- ``/readyz``: the database and Redis (when ``REDIS_URL`` is set) answer, and the database's
  migrations of core and of every installed module are at head: send it traffic only then.
  503 with a JSON reason otherwise: ``problems`` (what failed, by kind: for machines) and
  ``message`` (the same in words, in the installation's language: for the person on call).

Both are public, exempt from CSRF (GET only) and from rate limits, and skip the per-request
state read (``core.web.request_state``), so a dead database cannot hang ``/healthz``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import current_app
from flask import jsonify
from flask_babel import gettext
from sqlalchemy import text

from core import hooks
from core.extensions import db
from core.extensions import limiter
from core.security.access import public

log = logging.getLogger("tandem.health")

bp = Blueprint("core_health", __name__)


@bp.route("/healthz")
@limiter.exempt
@public
def healthz() -> Any:
    return jsonify(status="ok")


@bp.route("/readyz")
@limiter.exempt
@public
def readyz() -> Any:
    app = current_app._get_current_object()
    problems: dict[str, str] = {}
    db_heads: set[str] | None = None
    try:
        with db.engine.connect() as conn:
            db_heads = set(conn.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception as exc:  # noqa: BLE001 - any failure is "not ready", never a 500
        problems["database"] = _short(exc)
    if app.config.get("REDIS_URL"):
        try:
            _redis(app).ping()
        except Exception as exc:  # noqa: BLE001
            problems["redis"] = _short(exc)
    if db_heads is not None:
        missing = _missing_heads(app, db_heads)
        if missing:
            problems["migrations"] = "not at head: " + ", ".join(sorted(missing))
    if problems:
        words = _problem_words()
        message = gettext("；").join(words[name] for name in problems)
        response = jsonify(status="unavailable", problems=problems, message=message)
        response.status_code = 503
    else:
        response = jsonify(status="ready")
    response.headers["Cache-Control"] = "no-store"
    return response


def _problem_words() -> dict[str, str]:
    return {"database": gettext("数据库无法连接"),
            "redis": gettext("Redis 无法连接"),
            "migrations": gettext("数据库结构不是最新版本（需要执行迁移）")}


def _short(exc: BaseException) -> str:
    """What an unauthenticated caller is told: the kind of failure only. The message (a
    server's address, a user name) goes to the log."""
    first = (str(exc).strip().splitlines() or [""])[0]
    log.warning("readyz: %s: %s", type(exc).__name__, first[:300])
    return f"{type(exc).__name__}: unavailable"


def _redis(app: Flask) -> Any:
    """One client per app with short timeouts: a hung Redis answers 503 within seconds."""
    client = app.extensions.get("tandem_health_redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2,
                                      socket_timeout=2)
        app.extensions["tandem_health_redis"] = client
    return client


def _missing_heads(app: Flask, db_heads: set[str]) -> set[str]:
    """The branch heads (core and installed modules) the database has not reached."""
    from alembic.script import ScriptDirectory

    from core.registry.migrations import alembic_config

    cache = app.extensions.setdefault("tandem_health_heads", {})
    key = frozenset(db_heads)
    if key in cache:
        return cache[key]
    registry = hooks.registry(app)
    script = ScriptDirectory.from_config(alembic_config(registry.modules.values()))
    expected: set[str] = set()
    for branch in ["core", *registry.installed]:
        try:
            expected |= {r.revision for r in script.get_revisions(f"{branch}@head") if r}
        except Exception:  # noqa: BLE001 - a module without migrations has no branch
            continue
    applied: set[str] = set()
    try:
        applied = {r.revision for r in script.iterate_revisions(tuple(db_heads), "base")}
    except Exception:  # noqa: BLE001 - a revision in the database this code does not know
        applied = set(db_heads)
    missing = expected - applied
    cache.clear()  # one entry: the database's heads change only on upgrades
    cache[key] = missing
    return missing
