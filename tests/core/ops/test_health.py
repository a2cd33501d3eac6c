"""/healthz and /readyz: public, no database for healthz, 503 with a JSON reason when the
database, Redis or the migrations are not ready — never a crash."""

from __future__ import annotations

import contextlib
import socket

import pytest
from sqlalchemy import event
from sqlalchemy import text

from core.app import create_app
from core.extensions import db
from tests.conftest import base_config


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_without_touching_the_database(app_ctx):
    statements = []

    def seen(*args, **kwargs):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        response = app_ctx.test_client().get("/healthz")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert statements == []


def test_readyz_is_ready_when_everything_is_at_head(app_ctx):
    response = app_ctx.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {"status": "ready"}
    assert response.headers["Cache-Control"] == "no-store"


def _core_head_and_parent() -> tuple[str, str]:
    from alembic.script import ScriptDirectory

    from core.registry.migrations import alembic_config

    script = ScriptDirectory.from_config(alembic_config([]))
    head = script.get_revisions("core@head")[0]
    return head.revision, head.down_revision


def test_readyz_answers_503_when_a_migration_is_missing(app_ctx):
    head, parent = _core_head_and_parent()
    update = text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old")
    with db.engine.begin() as conn:
        assert conn.execute(update, {"new": parent, "old": head}).rowcount == 1
    try:
        response = app_ctx.test_client().get("/readyz")
        assert response.status_code == 503
        assert head in response.json["problems"]["migrations"]
        assert response.json["message"] == "数据库结构不是最新版本（需要执行迁移）"
    finally:
        with db.engine.begin() as conn:
            conn.execute(update, {"new": head, "old": parent})
    assert app_ctx.test_client().get("/readyz").status_code == 200


WORDS = {
    "zh": {"database": "数据库无法连接", "redis": "Redis 无法连接"},
    "en": {"database": "The database cannot be reached", "redis": "Redis cannot be reached"},
}


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_readyz_answers_503_when_redis_is_down(app, instance_dir, locale):
    down = create_app(base_config(app.config["SQLALCHEMY_DATABASE_URI"], instance_dir,
                                  REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0",
                                  BABEL_DEFAULT_LOCALE=locale))
    try:
        response = down.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.json["status"] == "unavailable"
        assert set(response.json["problems"]) == {"redis"}
        assert response.json["message"] == WORDS[locale]["redis"]
        assert down.test_client().get("/healthz").status_code == 200
    finally:
        with down.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_readyz_answers_503_when_the_database_is_down(instance_dir, tmp_path, locale):
    from tests.conftest import backend

    if backend() == "postgresql":
        url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/nowhere"
    else:
        url = f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite'}"
    down = create_app(base_config(url, instance_dir, BABEL_DEFAULT_LOCALE=locale))
    try:
        client = down.test_client()
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert response.status_code == 503
        assert set(response.json["problems"]) == {"database"}
        assert response.json["message"] == WORDS[locale]["database"]
        assert "127.0.0.1" not in response.get_data(as_text=True)  # no address to strangers
    finally:
        with down.app_context():
            db.engine.dispose()


def test_probes_are_public_and_not_rate_limited(app_ctx):
    from core.security.access import view_access

    for endpoint in ("core_health.healthz", "core_health.readyz"):
        assert view_access(app_ctx.view_functions[endpoint]) == "public"
    client = app_ctx.test_client()
    assert all(client.get("/healthz").status_code == 200 for _ in range(30))


def test_login_throttle_keeps_counting_in_memory_while_redis_is_down(make_app):
    """Throttles live in Redis; Redis down must not fail the login page (500), and the
    throttle still holds meanwhile, per process."""
    down = make_app(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0", RATELIMIT_ENABLED=True,
                    TANDEM_LOGIN_RATE_LIMIT="3 per minute")
    from core.extensions import limiter

    client = down.test_client()
    try:
        codes = [client.post("/login", data={"username": "nobody", "password": "x"})
                 .status_code for _ in range(5)]
    finally:
        # Flask-Limiter keeps one switch and one storage for the process: restore them.
        with contextlib.suppress(Exception):
            limiter.reset()
        limiter.enabled = False
    assert codes == [200, 200, 200, 429, 429]
