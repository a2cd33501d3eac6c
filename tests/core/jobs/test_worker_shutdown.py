"""SIGTERM to ``manage.py worker`` while a job runs: the job finishes, then the worker exits
cleanly (RQ's warm shutdown) — what systemd's stop does (docs/deploy.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import jobs
from core.app import create_app
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import FIXTURE_ADDONS
from tests.conftest import base_config
from tests.conftest import installed_app

ROOT = Path(__file__).parents[3]
pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]


def slow_widget(name: str, marker: str) -> None:
    """Job (by path): says it started, takes two seconds, then saves a widget."""
    Path(marker).write_text("started")
    time.sleep(2)
    db.session.execute(db.metadata.tables["demo_a_widget"].insert().values(name=name))


def test_sigterm_lets_the_running_job_finish(databases, instance_dir, redis_server, tmp_path):
    # a database of its own: no other test's connection may hold SQLite's write lock
    with installed_app(databases, instance_dir, ["demo_a"]) as own:
        url = own.config["SQLALCHEMY_DATABASE_URI"]
    rq_app = create_app(base_config(url, instance_dir, REDIS_URL=redis_server.url,
                                    TANDEM_JOBS_EAGER=False))
    marker = tmp_path / "started"
    with rq_app.app_context(), unit_of_work(ServiceContext.system("cli")):
        jobs.enqueue("tests.core.jobs.test_worker_shutdown:slow_widget", "drained",
                     str(marker))
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_server.url,
               TANDEM_MODULE_PATHS=f'["{FIXTURE_ADDONS}"]', SECRET_KEY="test",
               PYTHONFAULTHANDLER="1")
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen([sys.executable, "manage.py", "worker", "--no-scheduler"],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline and worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)  # mid-job
        stopping = time.monotonic()
        worker.wait(timeout=30)
        stopped_after = time.monotonic() - stopping
    finally:
        if worker.poll() is None:  # hung: its threads' stacks into the log (faulthandler)
            worker.send_signal(signal.SIGABRT)
            time.sleep(1)
            worker.kill()
            worker.wait()
    output = log.read_text()
    assert worker.returncode == 0, output[-2000:]
    assert stopped_after < 10, output[-2000:]  # the job's 2 s, then out (not RQ's 60 s wait)
    with rq_app.app_context():
        table = db.metadata.tables["demo_a_widget"]
        names = list(db.session.scalars(db.select(table.c.name)))
        db.session.remove()
        db.engine.dispose()
    assert names == ["drained"]


def test_a_running_worker_runs_jobs_of_a_module_installed_after_it_started(
        databases, instance_dir, redis_server, tmp_path):
    """Another process installs a module (the registry version moves): the worker's next
    job runs in an app rebuilt for it, as web processes do — no restart."""
    from core.registry import installer

    with installed_app(databases, instance_dir, []) as bare:
        url = bare.config["SQLALCHEMY_DATABASE_URI"]
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_server.url,
               TANDEM_MODULE_PATHS=f'["{FIXTURE_ADDONS}"]', SECRET_KEY="test")
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen([sys.executable, "manage.py", "worker", "--no-scheduler"],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while b"Listening on" not in log.read_bytes():
            assert time.monotonic() < deadline and worker.poll() is None, log.read_text()
            time.sleep(0.1)
        config = base_config(url, instance_dir, REDIS_URL=redis_server.url,
                             TANDEM_JOBS_EAGER=False)
        with create_app(config).app_context():
            installer.install(["demo_a"])
            db.engine.dispose()
        app = create_app(config)
        with app.app_context():
            assert jobs.enqueue_now("demo_a.make_widget", "late")
            table = db.metadata.tables["demo_a_widget"]
            deadline = time.monotonic() + 8  # well before RQ's first retry (10 s)
            names: list[str] = []
            while not names and time.monotonic() < deadline:
                time.sleep(0.2)
                names = list(db.session.scalars(db.select(table.c.name)))
                db.session.rollback()
            db.session.remove()
            db.engine.dispose()
        assert names == ["late"], log.read_text()[-3000:]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
