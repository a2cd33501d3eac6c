"""The RQ worker: ``manage.py worker`` and what its jobs run (an app per process, then
:func:`core.jobs.run_job`). An entry point, like :mod:`core.wsgi`: it builds the app."""

from __future__ import annotations

import sys
import time
from typing import Any

import click
import redis
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _
from rq import Queue
from rq import SimpleWorker
from rq import get_current_job

from core import hooks
from core.app import create_app
from core.jobs import enqueue_now
from core.jobs import redis_connection
from core.jobs import run_job
from core.jobs.scheduler import start_worker_scheduler

_app: Flask | None = None
REDIS_RETRY_SECONDS = 5


def worker_app() -> Flask:
    global _app
    if _app is None:
        _app = create_app()
    return _app


def rq_entry(name: str, args: list, kwargs: dict) -> Any:
    """What RQ runs for every Tandem job (enqueued by :func:`core.jobs.enqueue_now`)."""
    job = get_current_job()
    final = job is None or not (job.retries_left or 0)
    with worker_app().app_context():
        return run_job(name, args, kwargs, runner="rq", final=final)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--queue", "queues", multiple=True, help="Queues to listen on (default: all).")
@click.option("--no-scheduler", is_flag=True, help="Do not run the periodic-job scheduler.")
@with_appcontext
def worker(burst: bool, queues: tuple[str, ...], no_scheduler: bool) -> None:
    """Run an RQ worker (needs REDIS_URL) with the periodic-job scheduler."""
    global _app
    if not current_app.config.get("REDIS_URL"):
        click.echo(_("未设置 REDIS_URL：嵌入模式下任务在 Web 进程内运行，无需 worker。"), err=True)
        sys.exit(1)
    _app = current_app._get_current_object()
    names = list(queues) or sorted(
        {spec.queue for spec in hooks.registry().jobs.values()} | {"default"}
    )
    connection = redis_connection()
    click.echo(f"worker listening on {', '.join(names)} ({current_app.config['REDIS_URL']})")
    if not burst and not no_scheduler:
        start_worker_scheduler(current_app._get_current_object())
    reconnected = False
    while True:
        if reconnected:  # Redis is back: send what the outage kept in the outbox now
            enqueue_now("core.outbox.relay")
        try:
            # with_scheduler: RQ's own scheduler moves due retries (``Retry(interval=…)``, an
            # abandoned job's retry) and ``enqueue_in`` jobs back to their queue.
            rq_worker = SimpleWorker([Queue(n, connection=connection) for n in names],
                                     connection=connection)
            rq_worker.max_connection_wait_time = REDIS_RETRY_SECONDS  # RQ waits up to 60 s
            rq_worker.work(burst=burst, with_scheduler=True)
            return
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            # RQ's worker gives up when Redis goes away (a restart, a failover): this one
            # waits for it and starts a new RQ worker (issue 20: a Redis outage loses nothing;
            # the outbox relay sends what could not be enqueued meanwhile).
            if burst:
                raise
            click.echo(f"Redis unreachable ({exc}); retrying in {REDIS_RETRY_SECONDS} s",
                       err=True)
            time.sleep(REDIS_RETRY_SECONDS)
            reconnected = True
