"""Services a fault test may break: its own redis-server, its own PostgreSQL cluster, RQ
workers as separate processes (``manage.py worker``) that it may ``kill -9``, and a fake
WeCom on loopback. The system's Redis and PostgreSQL are never stopped."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.extensions import db
from core.security.services import create_user
from core.services import ServiceContext
from core.services import unit_of_work
from modules.wecom.fake import FakeState
from modules.wecom.fake import FakeWeCom
from tests.conftest import FIXTURE_ADDONS
from tests.conftest import build_installed_app
from tests.core.jobs.conftest import RedisServer
from tests.core.jobs.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]
PG_BIN = Path(os.environ.get("TANDEM_PG_BIN", "/usr/lib/postgresql/15/bin"))
CORP_ID, SECRET = "ww_fault_corp", "fault-secret"


def wait_until(condition: Callable[[], Any], timeout: float, step: float = 0.2) -> Any:
    """``condition()``'s first true value, or ``None`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > end:
            return value
        time.sleep(step)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: a Redis outage cannot be staged")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom(FakeState(corp_id=CORP_ID, secret=SECRET)) as fake:
        yield fake


def wecom_settings(fake: FakeWeCom) -> dict[str, str]:
    return {"WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": "1000002", "WECOM_APP_SECRET": SECRET,
            "WECOM_API_BASE": fake.base_url}


class Workers:
    """``manage.py worker`` processes of one app, each in its own process group (the worker
    and, with a forking worker, its work horse) so that a test can ``kill -9`` it whole."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[subprocess.Popen] = []

    def start(self, *args: str) -> subprocess.Popen:
        # Its log goes to a file, not a pipe nobody reads (a full pipe would stop it).
        log = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "manage.py", "worker", *args], cwd=ROOT, env=self.env,
            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        process.log = log  # type: ignore[attr-defined]
        self.processes.append(process)
        return process

    @staticmethod
    def kill9(process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes:
            process.log.close()
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(5)


@pytest.fixture
def rq_app(databases: Any, instance_dir: Any, redis_server: RedisServer,
           fake_wecom: FakeWeCom) -> Iterator[tuple[Any, Workers]]:
    """An app with ``demo_a`` and ``wecom`` on a new database, RQ on the private Redis, WeCom
    on the fake; and the workers' launcher with the same settings (short outbox lease and
    back-off, so that retries come within the test's time)."""
    url = databases.new_url()
    settings = {**wecom_settings(fake_wecom), "TANDEM_OUTBOX_LEASE_SECONDS": "3",
                "TANDEM_OUTBOX_BACKOFF": "[1]", "WECOM_RATE_LIMIT_RETRY_SECONDS": "2"}
    app = build_installed_app(url, instance_dir, ["demo_a", "wecom"], REDIS_URL=redis_server.url,
                              TANDEM_JOBS_EAGER=False, **wecom_settings(fake_wecom),
                              TANDEM_OUTBOX_LEASE_SECONDS=3, TANDEM_OUTBOX_BACKOFF=[1],
                              WECOM_RATE_LIMIT_RETRY_SECONDS=2)
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_server.url, SECRET_KEY="test",
               TANDEM_MODULE_PATHS=f'["{FIXTURE_ADDONS}"]', **settings)
    workers = Workers(env)
    try:
        yield app, workers
    finally:
        workers.stop_all()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def wecom_members(count: int, prefix: str = "member") -> list[Any]:
    """``count`` users bound to WeCom userids ``<prefix>-<n>``."""
    ctx = ServiceContext.system("cli")
    users = []
    with unit_of_work(ctx):
        for n in range(count):
            user = create_user(ctx, f"{prefix}-{n}", roles=("sales",), password="secret-pass-1")
            user.wecom_userid = f"{prefix}-{n}"
            users.append(user)
    return users


class PostgresCluster:
    """A PostgreSQL cluster of its own (initdb in a temp dir, run as ``postgres``) on a free
    loopback port, which a test may stop and start."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="tandem-pg-"))
        self.data = self.dir / "data"
        shutil.chown(self.dir, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                       capture_output=True, timeout=timeout, cwd=self.dir)

    def init(self) -> None:
        self._pg(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                 "--no-sync", "-E", "UTF8", "--locale", "C")

    def start(self) -> None:
        self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-l",
                 str(self.dir / "log"), "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                 "-c max_connections=50", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", mode, "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def pg_cluster() -> Iterator[PostgresCluster]:
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        pytest.skip(f"no PostgreSQL server binaries in {PG_BIN}: a restart cannot be staged")
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("not root: cannot run a PostgreSQL cluster as the postgres user")
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        cluster.destroy()
        pytest.skip(f"could not start a private PostgreSQL cluster: {exc}")
    yield cluster
    cluster.destroy()
