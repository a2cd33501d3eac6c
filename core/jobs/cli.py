"""``manage.py worker`` and ``manage.py jobs list|run``."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _

from core import hooks
from core.cli import cli


@cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--queue", "queues", multiple=True, help="Queues to listen on (default: all).")
@click.option("--no-scheduler", is_flag=True, help="Do not run the periodic-job scheduler.")
@with_appcontext
def worker(burst: bool, queues: tuple[str, ...], no_scheduler: bool) -> None:
    """Run an RQ worker (needs REDIS_URL) with the periodic-job scheduler."""
    from rq import Queue
    from rq import SimpleWorker

    from core.jobs import redis_connection
    from core.jobs import worker as worker_module
    from core.jobs.scheduler import start_worker_scheduler

    if not current_app.config.get("REDIS_URL"):
        click.echo(_("未设置 REDIS_URL：嵌入模式下任务在 Web 进程内运行，无需 worker。"), err=True)
        sys.exit(1)
    worker_module._app = current_app._get_current_object()
    names = list(queues) or sorted(
        {spec.queue for spec in hooks.registry().jobs.values()}
        | {"default"}
    )
    connection = redis_connection()
    click.echo(f"worker listening on {', '.join(names)} ({current_app.config['REDIS_URL']})")
    if not burst and not no_scheduler:
        start_worker_scheduler(current_app._get_current_object())
    SimpleWorker([Queue(n, connection=connection) for n in names], connection=connection).work(
        burst=burst
    )


@cli.group()
def jobs() -> None:
    """Background jobs."""


@jobs.command("list")
@with_appcontext
def jobs_list() -> None:
    """Registered jobs and their schedules."""
    for spec in sorted(
        hooks.registry().jobs.values(), key=lambda s: s.name
    ):
        click.echo(
            f"{spec.name:<36} {spec.schedule or '-':<16} {spec.queue:<10} {spec.description}"
        )


@jobs.command("run")
@click.argument("name")
@click.argument("args", nargs=-1)
@with_appcontext
def jobs_run(name: str, args: tuple[str, ...]) -> None:
    """Run one job now, in this process (ARGS are JSON values or strings)."""
    from core.jobs import run_job

    def value(raw: str) -> object:
        try:
            return json.loads(raw)
        except ValueError:
            return raw

    try:
        result = run_job(name, [value(a) for a in args])
    except LookupError as exc:
        click.echo(_("错误：%(message)s", message=exc), err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - reported, recorded as failed
        click.echo(_("任务失败：%(error)s", error=exc), err=True)
        sys.exit(1)
    click.echo(f"{name}: {result!r}")
