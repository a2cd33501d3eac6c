"""The job runners: in-process after commit, RQ with a real worker against real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from core import jobs
from core.extensions import db
from core.jobs.failures import list_failed
from core.jobs.scheduler import Scheduler
from core.jobs.scheduler import due
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import FIXTURE_ADDONS
from tests.conftest import base_config

ROOT = Path(__file__).parents[3]


def _widget_names():
    table = db.metadata.tables["demo_a_widget"]
    return [r.name for r in db.session.execute(select(table.c.name).order_by(table.c.id))]


def test_in_process_job_runs_after_commit(jobs_ctx):
    with unit_of_work(ServiceContext.system("cli")):
        jobs.enqueue("demo_a.make_widget", "after-commit")
        assert _widget_names() == []  # not before the transaction commits
    assert _widget_names() == ["after-commit"]


def test_job_is_dropped_when_the_transaction_rolls_back(jobs_ctx):
    with pytest.raises(RuntimeError), unit_of_work(ServiceContext.system("cli")):
        jobs.enqueue("demo_a.make_widget", "never")
        raise RuntimeError("business rule failed")
    assert _widget_names() == []


def test_failures_are_recorded_for_the_admin_page(jobs_ctx):
    with unit_of_work(ServiceContext.system("cli")):
        jobs.enqueue("demo_a.fail")
    failed = list_failed()
    assert [f.name for f in failed] == ["demo_a.fail"]
    assert "boom" in failed[0].error


def test_cli_runs_a_job_now(jobs_ctx):
    import core.commands  # noqa: F401
    from core.cli import cli

    result = jobs_ctx.test_cli_runner().invoke(cli, ["jobs", "run", "demo_a.make_widget", "cli"])
    assert result.exit_code == 0, result.output
    assert _widget_names() == ["cli"]
    result = jobs_ctx.test_cli_runner().invoke(cli, ["jobs", "run", "nope"])
    assert result.exit_code == 1 and "未知的后台任务" in result.output


def test_cron_slots_and_a_slot_runs_once(jobs_ctx):
    from datetime import UTC
    from datetime import datetime

    start = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert due("*/5 * * * *", start, datetime(2026, 1, 1, 0, 12, tzinfo=UTC)) == [
        datetime(2026, 1, 1, 0, 5, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 10, tzinfo=UTC),
    ]
    scheduler = Scheduler(lambda: jobs_ctx)
    scheduler._last = start
    started = scheduler.tick(datetime(2026, 1, 1, 0, 6, tzinfo=UTC))
    assert started.count("demo_a.tick") == 1
    scheduler._last = start  # a second scheduler looking at the same window
    assert "demo_a.tick" not in scheduler.tick(datetime(2026, 1, 1, 0, 6, tzinfo=UTC))


@pytest.mark.redis
def test_rq_job_run_by_a_real_worker_against_real_redis(jobs_app, redis_server):
    url = jobs_app.config["SQLALCHEMY_DATABASE_URI"]
    app = jobs.__class__  # noqa: F841  (keep flake quiet about unused import patterns)
    from core.app import create_app

    rq_app = create_app(
        base_config(
            url, jobs_app.instance_path, REDIS_URL=redis_server.url, TANDEM_JOBS_EAGER=False
        )
    )
    with rq_app.app_context():
        with unit_of_work(ServiceContext.system("cli")):
            jobs.enqueue("demo_a.make_widget", "from-rq")
        assert _widget_names() == []  # queued, not run here
    env = dict(
        os.environ,
        DATABASE_URL=url,
        REDIS_URL=redis_server.url,
        TANDEM_MODULE_PATHS=f'["{FIXTURE_ADDONS}"]',
        SECRET_KEY="test",
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "worker", "--burst"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with rq_app.app_context():
        assert _widget_names() == ["from-rq"]
        db.session.execute(db.metadata.tables["demo_a_widget"].delete())
        db.session.commit()
        db.session.remove()
    with jobs_app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(db.metadata.tables["demo_a_widget"]))
            == 0
        )


SEEN: list = []


def record_context(value, ctx):
    """Job (by path): keeps what it was given."""
    from core.services import current_context

    SEEN.append((value, ctx.source, current_context() is ctx))


def test_a_job_gets_its_service_context_passed_in(jobs_ctx):
    SEEN.clear()
    jobs.run_job("tests.core.jobs.test_jobs:record_context", ["default"])
    jobs.run_job("tests.core.jobs.test_jobs:record_context", ["given"],
                 ctx=ServiceContext.system("cli"))
    assert SEEN == [("default", "job", True), ("given", "cli", True)]


def test_a_job_without_a_ctx_parameter_is_called_without_one(jobs_ctx):
    assert isinstance(jobs.run_job("demo_a.make_widget", ["plain"]), int)
    assert _widget_names() == ["plain"]
