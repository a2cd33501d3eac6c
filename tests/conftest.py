"""Shared fixtures: an app on SQLite or PostgreSQL (``TANDEM_TEST_DB``), per-test cleanup,
factories for users, and helpers to log in."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text

import core.security.passwords as passwords
from core.app import create_app
from core.extensions import db
from core.registry.discovery import discover
from core.services import ServiceContext
from core.services import unit_of_work

TESTS = Path(__file__).parent
FIXTURE_ADDONS = TESTS / "fixtures" / "addons"
PG_ADMIN_URL = os.environ.get(
    "TANDEM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
KEEP_TABLES = {"core_module", "core_state", "core_role", "core_role_permission", "alembic_version"}

# Fast hashing in tests only; production keeps argon2-cffi's defaults.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)


def backend() -> str:
    return os.environ.get("TANDEM_TEST_DB", "sqlite")


def builtin_modules() -> list[str]:
    return sorted(n for n, info in discover().items() if info.origin == "builtin")


class DatabaseFactory:
    """Creates throw-away databases of the backend under test and drops them at the end."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="tandem-test-"))
        self.pg_databases: list[str] = []

    def new_url(self) -> str:
        if backend() == "postgresql":
            name = f"tandem_test_{uuid.uuid4().hex[:12]}"
            engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            engine.dispose()
            self.pg_databases.append(name)
            return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        return f"sqlite:///{self.tmp / (uuid.uuid4().hex[:12] + '.sqlite')}"

    def release(self, url: str) -> None:
        """Drop one database now, closing whatever connections are still open on it (a
        benchmark's engines and worker threads): PostgreSQL allows only 100."""
        name = url.rsplit("/", 1)[1]
        if backend() == "postgresql" and name in self.pg_databases:
            engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()
            self.pg_databases.remove(name)

    def cleanup(self) -> None:
        if self.pg_databases:
            engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                for name in self.pg_databases:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def databases() -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory()
    yield factory
    factory.cleanup()


_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    """Tests talk to this machine only (databases, Redis, the fake WeCom, live servers)."""
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    if name not in ("localhost", "::1", "") and not name.startswith("127."):
        raise OSError(f"tests may not reach {name!r}: only loopback addresses")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only


def base_config(database_url: str, instance: Path, **extra: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "TANDEM_MODULE_PATHS": [str(FIXTURE_ADDONS)],
        "REDIS_URL": None,
        "TANDEM_JOBS_EAGER": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
        # Never the official WeCom host: a test that wants WeCom passes its fake's address.
        "WECOM_API_BASE": "http://127.0.0.1:9",
    }
    config.update(extra)
    return config


@pytest.fixture(scope="session")
def instance_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="tandem-instance-"))
    os.environ["TANDEM_INSTANCE_PATH"] = str(path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def build_installed_app(url: str, instance: Path, modules: list[str], **extra: Any) -> Any:
    """An app on ``url`` with core migrated and ``modules`` installed."""
    from core.registry import installer

    app = create_app(base_config(url, instance, **extra))
    with app.app_context():
        installer.ensure_core()
        if modules:
            installer.install(modules)
            # the installing app is dropped for one that loads the modules: close its
            # connections now, not whenever it is garbage-collected (PostgreSQL's 100)
            db.session.remove()
            db.engine.dispose()
    if modules:
        app = create_app(base_config(url, instance, **extra))
    return app


@contextmanager
def installed_app(databases: DatabaseFactory, instance_dir: Path, modules: list[str],
                  **config: Any) -> Iterator[Any]:
    """An app on a new database with ``modules`` installed; its engine disposed after."""
    application = build_installed_app(databases.new_url(), instance_dir, modules, **config)
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@contextmanager
def cleaned_context(application: Any) -> Iterator[Any]:
    """An app context whose data rows are deleted when it ends (per-test isolation)."""
    with application.app_context():
        yield application
        db.session.remove()
    _clean(application)


@pytest.fixture(scope="session")
def app(databases: DatabaseFactory, instance_dir: Path) -> Iterator[Any]:
    """The shared app: all built-in modules installed on one database for the session."""
    url = databases.new_url()
    application = build_installed_app(url, instance_dir, builtin_modules())
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def make_app(databases: DatabaseFactory, instance_dir: Path) -> Any:
    """Factory: a new app on a new, empty database (for installer and config tests)."""
    apps = []

    def factory(modules: list[str] | None = None, **extra: Any) -> Any:
        application = build_installed_app(databases.new_url(), instance_dir, modules or [], **extra)
        apps.append(application)
        return application

    yield factory
    for application in apps:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def _clean(application: Any) -> None:
    with application.app_context():
        db.session.remove()
        tables = set(sa_inspect(db.engine).get_table_names()) - KEEP_TABLES
        ordered = [t for t in reversed(db.metadata.sorted_tables) if t.name in tables]
        with db.engine.begin() as conn:
            for table in ordered:
                conn.execute(table.delete())
        db.session.remove()


@pytest.fixture
def app_ctx(app: Any) -> Iterator[Any]:
    """An app context on the shared app; the database is emptied after the test."""
    with cleaned_context(app) as application:
        yield application


@pytest.fixture
def client(app_ctx: Any) -> Any:
    return app_ctx.test_client()


def shared_redis_url(db_number: int) -> str:
    """The shared Redis on 127.0.0.1:6379, for a test that needs the real one: database
    ``db_number`` in the SQLite run, ``db_number - 2`` in the PostgreSQL run, since the two
    runs go side by side (scripts/test.sh) and such a test empties its database."""
    offset = 0 if os.environ.get("TANDEM_TEST_DB", "sqlite") == "sqlite" else 2
    return f"redis://127.0.0.1:6379/{db_number - offset}"


@pytest.fixture(autouse=True)
def _empty_robot_windows() -> Iterator[None]:
    """Each test starts with the group robots' 20-a-minute windows empty: they are kept per
    process, and a test run sends more than 20 group messages a minute, so a later test's
    push would wait in the outbox (``RetryLater``) for a reason of another test's making."""
    import sys

    yield
    channels = sys.modules.get("modules.wecom.channels")
    if channels is not None:
        channels.window.clear()


@pytest.fixture
def system_ctx(app_ctx: Any) -> ServiceContext:
    return ServiceContext.system("cli")


@pytest.fixture
def make_user(app_ctx: Any) -> Any:
    """Factory: ``make_user("sales", username=..., team=...)`` creates and commits a user."""
    from core.security.services import create_user

    counter = {"n": 0}

    def factory(
        *roles: str, username: str | None = None, password: str = "secret-pass-1", **kwargs: Any
    ) -> Any:
        counter["n"] += 1
        name = username or f"{(roles or ('user',))[0]}{counter['n']}"
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            user = create_user(ctx, name, roles=roles, password=password, **kwargs)
        return user

    return factory


def audit_changes(client: Any, table: str, record_id: Any) -> tuple[str, list[str]]:
    """A record's audit log as an admin reads it (``/admin/audit`` filtered to it): the
    table's HTML and each change line, none of which may read as a raw ``field_name：``."""
    import re

    page = client.get(f"/admin/audit?model={table}&record_id={record_id}")
    body = page.get_data(as_text=True).split("<tbody>", 1)[1]
    changes = re.findall(r"<li>([^<]*)</li>", body)
    assert not [c for c in changes if re.match(r"[a-z_]+：", c)], changes
    return body, changes


def login(client: Any, user: Any, password: str = "secret-pass-1") -> Any:
    response = client.post("/login", data={"username": user.username, "password": password})
    assert response.status_code == 302, response.data[:500]
    return response


@pytest.fixture
def login_as(client: Any, make_user: Any) -> Any:
    """``login_as("sales")`` creates a user with those roles and logs the client in."""

    def factory(*roles: str, **kwargs: Any) -> Any:
        user = make_user(*roles, **kwargs)
        login(client, user)
        return user

    return factory
