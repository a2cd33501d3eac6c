"""``manage.py``: the one command-line interface (also ``flask --app core``)."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup
from flask.cli import with_appcontext
from flask_babel import gettext as _

from core import commands
from core import hooks
from core import worker
from core.app import create_app
from core.bot import cli as bot_cli
from core.commands import echo_progress
from core.commands import fail
from core.errors import TandemError
from core.imports.cli import import_command
from core.jobs import cli as jobs_cli
from core.registry import installer
from core.registry import migrations


class TandemGroup(FlaskGroup):
    """FlaskGroup whose own ``db`` and ``run`` commands win over plugin ones
    (Flask-Migrate's ``db upgrade`` would run ``upgrade head``, which multi-branch
    module migrations must never do)."""

    def _load_plugin_commands(self) -> None:  # type: ignore[override]
        return None


def _create_app() -> Any:
    return create_app()


@click.group(cls=TandemGroup, create_app=_create_app, add_version_option=False)
def cli() -> None:
    """Tandem management commands."""


# ----------------------------------------------------------------------------- db
@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Bring core and every installed module to its migration head."""
    installer.ensure_core(echo_progress)
    done = installer.upgrade(None, echo_progress)
    click.echo(f"数据库已是最新（core{'、' + '、'.join(done) if done else ''}）。")


# ------------------------------------------------------------------------ modules
@cli.group()
def modules() -> None:
    """Install, upgrade and uninstall modules."""


@modules.command("list")
@with_appcontext
def modules_list() -> None:
    """Every discovered module with its state and version."""
    installer.ensure_core()
    rows = installer.module_states()
    click.echo(f"{'NAME':<20} {'STATE':<12} {'VERSION':<10} {'INSTALLED':<10} DEPENDS")
    for r in rows:
        click.echo(
            f"{r['name']:<20} {r['state']:<12} {r['version'] or '-':<10} "
            f"{r['installed_version'] or '-':<10} {','.join(r['depends']) or '-'}"
            f"{'  (auto)' if r['auto_install'] else ''}"
        )


@modules.command("install")
@click.argument("names", nargs=-1)
@click.option("--default", "default", is_flag=True,
              help="The default set: TANDEM_DEFAULT_MODULES, else every built-in module.")
@click.option("--demo", is_flag=True, help="Also load demo data.")
@with_appcontext
def modules_install(names: tuple[str, ...], default: bool, demo: bool) -> None:
    """Install modules with their dependencies."""
    if default:
        registry = hooks.registry()
        names = tuple(current_app.config.get("TANDEM_DEFAULT_MODULES") or sorted(
            n for n, info in registry.modules.items()
            if info.origin == "builtin" and info.manifest.installable
        ))
    if not names:
        raise click.UsageError(_("请指定模块名，或使用 --default"))
    try:
        installer.ensure_core()
        done = installer.install(list(names), demo=demo, progress=echo_progress)
    except TandemError as exc:
        fail(exc)
    click.echo(f"已安装：{'、'.join(done)}" if done else "无需安装：均已安装。")


@modules.command("upgrade")
@click.argument("names", nargs=-1)
@with_appcontext
def modules_upgrade(names: tuple[str, ...]) -> None:
    """Upgrade installed modules (all when none named)."""
    try:
        installer.ensure_core()
        done = installer.upgrade(list(names) or None, progress=echo_progress)
    except TandemError as exc:
        fail(exc)
    click.echo(f"已升级：{'、'.join(done)}" if done else "没有已安装的模块。")


@modules.command("uninstall")
@click.argument("name")
@click.option("--cascade", is_flag=True, help="Also uninstall the modules that depend on it.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--keep-files", is_flag=True, help="Keep the module's stored files (photos …).")
@with_appcontext
def modules_uninstall(name: str, cascade: bool, yes: bool, keep_files: bool) -> None:
    """Uninstall a module, dropping its tables after showing what will be lost."""
    try:
        plan = installer.uninstall_plan(name, cascade=cascade)
    except TandemError as exc:
        fail(exc)
    click.echo(plan.describe())
    if not yes and not click.confirm("确认卸载？", default=False):
        click.echo("已取消。")
        sys.exit(1)
    try:
        installer.uninstall(name, cascade=cascade, progress=echo_progress,
                            keep_files=keep_files)
    except TandemError as exc:
        fail(exc)
    click.echo(f"已卸载：{'、'.join(plan.modules)}")


@modules.command("revision")
@click.argument("name")
@click.option("-m", "--message", required=True)
@click.option("--empty", is_flag=True, help="No autogenerate.")
@with_appcontext
def modules_revision(name: str, message: str, empty: bool) -> None:
    """Create the next migration of a module's branch (``core`` for the core)."""
    registry = hooks.registry()
    info = None if name == "core" else registry.modules[name]
    rev = migrations.make_revision(info, message, autogenerate=not empty)
    click.echo(f"created {rev}")


def add_module_commands(group: click.Group) -> None:
    """Let installed modules add their commands (hook ``register_cli_commands``)."""
    try:
        app = _create_app()
    except Exception as exc:  # noqa: BLE001 - a broken config must not hide `--help`
        click.echo(_("(模块命令不可用：%(error)s)", error=exc), err=True)
        return
    with app.app_context():
        hooks.call("register_cli_commands", cli=group)


def register_commands(group: click.Group) -> None:
    """Add the core's command groups to ``group``, here rather than by import side effects
    (modules add theirs through the ``register_cli_commands`` hook, see
    :func:`add_module_commands`)."""
    for command in (*commands.COMMANDS, bot_cli.bot, jobs_cli.jobs, worker.worker,
                    worker.scheduler, import_command):
        group.add_command(command)


register_commands(cli)


def main() -> None:
    add_module_commands(cli)
    cli(prog_name="manage.py")
