"""``manage.py jobs list|run`` (added to ``manage.py`` by :func:`core.cli.register_commands`)."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

from core import hooks
from core.jobs import run_job


@click.group()
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
