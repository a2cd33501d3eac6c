"""The RQ worker: ``manage.py worker`` and what its jobs run (an app per process, then
:func:`core.jobs.run_job`). An entry point, like :mod:`core.wsgi`: it builds the app."""

from __future__ import annotations

import logging
import signal
import sys
import threading
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
from core.jobs.scheduler import Scheduler
from core.jobs.scheduler import SchedulerThread
from core.jobs.scheduler import start_worker_scheduler
from core.requestlog import configure_logging_from_env
from core.requestlog import new_request_id
from core.requestlog import request_id_var

log = logging.getLogger("tandem.worker")

_app: Flask | None = None
_dispatcher: Any = None  # manage.py worker: a core.wsgi.TandemDispatcher
REDIS_RETRY_SECONDS = 5


def worker_app() -> Flask:
    """The app jobs run in. Under ``manage.py worker`` it is rebuilt when another process
    (a web node's Apps page, ``manage.py modules``) installed or removed a module, as web
    processes do: a job of a module installed after the worker started is found."""
    global _app
    if _dispatcher is not None:
        return _dispatcher.current_app()
    if _app is None:
        _app = create_app()
    return _app


def rq_entry(name: str, args: list, kwargs: dict) -> Any:
    """What RQ runs for every Tandem job (enqueued by :func:`core.jobs.enqueue_now`).

    The job runs under the id of the request that enqueued it (its meta), or a new one: its
    log lines carry it, and jobs it enqueues take it along."""
    job = get_current_job()
    final = job is None or not (job.retries_left or 0)
    meta = (job.meta or {}) if job is not None else {}
    request_id = meta.get("request_id") or new_request_id()
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    log.info("job started", extra={"job": name, "rq_job_id": job.id if job else None,
                                   "request_id": request_id})
    try:
        with worker_app().app_context():
            result = run_job(name, args, kwargs, runner="rq", final=final)
        log.info("job finished", extra={
            "job": name, "rq_job_id": job.id if job else None, "request_id": request_id,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
        return result
    finally:
        request_id_var.reset(token)


class TandemWorker(SimpleWorker):
    """RQ's SimpleWorker (jobs in the worker's process: no fork per job), stopping promptly.

    RQ 3.0 stops its pub/sub thread with redis-py's ``stop()``, which (redis-py 8) waits for
    the thread without a bound, and the thread may have gone back to wait up to 60 s for a
    subscription that never comes: a warm shutdown (SIGTERM) then took a minute after the
    job ended. The wait is bounded here; the thread is a daemon."""

    def unsubscribe(self) -> None:
        thread = getattr(self, "pubsub_thread", None)
        if thread is None:
            return
        self.pubsub.unsubscribe()
        thread.stop(timeout=1)
        self.pubsub.close()


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--queue", "queues", multiple=True, help="Queues to listen on (default: all).")
@click.option("--no-scheduler", is_flag=True, help="Do not run the periodic-job scheduler.")
@with_appcontext
def worker(burst: bool, queues: tuple[str, ...], no_scheduler: bool) -> None:
    """Run an RQ worker (needs REDIS_URL) with the periodic-job scheduler.

    SIGTERM is a warm shutdown: the current job finishes, then the worker exits (RQ)."""
    global _dispatcher
    configure_logging_from_env()
    if not current_app.config.get("REDIS_URL"):
        click.echo(_("未设置 REDIS_URL：嵌入模式下任务在 Web 进程内运行，无需 worker。"), err=True)
        sys.exit(1)
    from core.wsgi import TandemDispatcher

    _dispatcher = TandemDispatcher()
    names = list(queues) or sorted(
        {spec.queue for spec in hooks.registry().jobs.values()} | {"default"}
    )
    connection = redis_connection()
    click.echo(f"worker listening on {', '.join(names)} ({current_app.config['REDIS_URL']})")
    scheduler_thread: SchedulerThread | None = None
    if not burst and not no_scheduler:
        scheduler_thread = start_worker_scheduler(_dispatcher.current_app)
    try:
        _work(names, connection, burst)
    finally:
        if scheduler_thread is not None:  # stop it, then give its lease up for a standby
            scheduler_thread.stop()


def _work(names: list[str], connection: Any, burst: bool) -> None:
    """Run the RQ worker; when Redis goes away (a restart, a failover), wait for it and start
    a new one (issue 20: a Redis outage loses nothing; the outbox relay sends what could not be
    enqueued meanwhile)."""
    reconnected = False
    while True:
        if reconnected:  # Redis is back: send what the outage kept in the outbox now
            enqueue_now("core.outbox.relay")
        try:
            # with_scheduler: RQ's own scheduler moves due retries (``Retry(interval=…)``, an
            # abandoned job's retry) and ``enqueue_in`` jobs back to their queue.
            rq_worker = TandemWorker([Queue(n, connection=connection) for n in names],
                                     connection=connection)
            rq_worker.max_connection_wait_time = REDIS_RETRY_SECONDS  # RQ waits up to 60 s
            rq_worker.work(burst=burst, with_scheduler=True)
            return
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            if burst:
                raise
            click.echo(f"Redis unreachable ({exc}); retrying in {REDIS_RETRY_SECONDS} s",
                       err=True)
            time.sleep(REDIS_RETRY_SECONDS)
            reconnected = True


@click.command("scheduler")
@click.option("--interval", type=float, default=None,
              help="Seconds between ticks (default TANDEM_SCHEDULER_INTERVAL or 20).")
@with_appcontext
def scheduler(interval: float | None) -> None:
    """Run the periodic-job scheduler alone. With Redis, start one on two hosts: one holds
    the lease, the other takes over when it dies. Without Redis, run exactly one: jobs then
    run in this process."""
    configure_logging_from_env()
    from core.wsgi import TandemDispatcher

    dispatcher = TandemDispatcher()  # rebuilt when modules are installed or removed
    stop = threading.Event()

    def stop_now(signum: int, _frame: Any) -> None:
        log.info("scheduler stopping (signal %s)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, stop_now)
    signal.signal(signal.SIGINT, stop_now)
    mode = "redis" if dispatcher.app.config.get("REDIS_URL") else "embedded"
    click.echo(f"scheduler running ({mode})")
    Scheduler(dispatcher.current_app).run_forever(interval=interval, stop=stop)
    click.echo("scheduler stopped")
