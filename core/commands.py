"""CLI commands beyond modules/db: users, demo data and the server (added to ``manage.py`` by
:func:`core.cli.register_commands`), and the helpers the commands share."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from werkzeug.serving import run_simple

from core.demo import load_all
from core.errors import TandemError
from core.security.services import create_user
from core.security.services import get_user_by_username
from core.security.services import issue_token
from core.services import ServiceContext
from core.services import unit_of_work
from core.wsgi import TandemDispatcher


def fail(exc: TandemError) -> NoReturn:
    """Print ``exc``'s message as an error and exit 1."""
    click.echo(_("错误：%(message)s", message=exc.message), err=True)
    sys.exit(1)


def echo_progress(msg: str) -> None:
    click.echo(f"  → {msg}")


@click.group()
def users() -> None:
    """Users and API tokens."""

@users.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="Role code (repeatable).")
@click.option("--password", default=None)
@click.option("--wecom-userid", default=None)
@click.option("--display-name", default="")
@click.option("--phone", default=None)
@click.option("--email", default=None)
@with_appcontext
def users_create(
    username: str,
    roles: tuple[str, ...],
    password: str | None,
    wecom_userid: str | None,
    display_name: str,
    phone: str | None,
    email: str | None,
) -> None:
    """Create a user."""
    try:
        with unit_of_work(ServiceContext.system("cli")) as _:
            user = create_user(
                ServiceContext.system("cli"),
                username,
                roles=roles,
                password=password,
                wecom_userid=wecom_userid,
                display_name=display_name,
                phone=phone,
                email=email,
            )
            user_id = user.id
    except TandemError as exc:
        fail(exc)
    click.echo(f"已创建用户 {username}（id {user_id}）")


@users.command("token")
@click.argument("username")
@click.option("--label", default="cli")
@with_appcontext
def users_token(username: str, label: str) -> None:
    """Print a new API token for USERNAME on the last line."""
    ctx = ServiceContext.system("cli")
    try:
        with unit_of_work(ctx):
            raw = issue_token(ctx, get_user_by_username(username), label=label)
    except TandemError as exc:
        fail(exc)
    click.echo(f"API token for {username} (shown once):")
    click.echo(raw)


@click.group()
def demo() -> None:
    """Demo data."""


@demo.command("load")
@with_appcontext
def demo_load() -> None:
    """Load the demo users and every installed module's demo data (once)."""
    load_all(progress=lambda m: click.echo(f"  → {m}"))


@click.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--debug/--no-debug", default=False)
def run_server(host: str, port: int, debug: bool) -> None:
    """Serve the back-office (modules installed at run time take effect without restart)."""
    application = TandemDispatcher()
    application.start_background_services()
    click.echo(f"Tandem 正在运行：http://{host}:{port}/")
    run_simple(host, port, application, threaded=True, use_reloader=debug, use_debugger=debug)


COMMANDS = [users, demo, run_server]
