"""``manage.py import KIND FILE [--dry-run] --user NAME``: an import from the command line,
with a progress bar; the run is logged like a web import (source ``cli``)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _

from core import imports
from core.errors import TandemError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work


@click.command("import")
@click.argument("kind")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check only: report the refused rows.")
@click.option("--user", "username", required=True,
              help="Import as this user (his permissions and record rules).")
@with_appcontext
def import_command(kind: str, file: Path, dry_run: bool, username: str) -> None:
    """Import FILE (xlsx, xls, ods or csv) as KIND (see the list on /imports/)."""
    from tqdm import tqdm

    from core.i18n import locale_of
    from core.security.services import get_user_by_username

    user = get_user_by_username(username)
    if user is None:
        raise click.ClickException(_("用户不存在：%(name)s", name=username))
    ctx = ServiceContext(actor=user, source="cli", locale=locale_of(user))
    try:
        with unit_of_work(ctx):
            log = imports.start(ctx, kind, file.name, file.read_bytes(), dry_run=dry_run,
                                run=False)
        bar = tqdm(total=0, unit=_("行"), disable=None)

        def progress(current: imports.ImportLog) -> None:
            bar.total = current.total_rows
            bar.n = current.processed_rows
            bar.refresh()

        imports.execute(ctx, db.session.merge(log), progress)
        bar.close()
    except TandemError as exc:
        raise click.ClickException(exc.message) from exc
    log = db.session.get(imports.ImportLog, log.id)
    click.echo(_("导入记录 #%(id)s：%(status)s，共 %(total)s 行，%(verb)s %(created)s 行，"
                 "错误 %(errors)s 行", id=log.id, status=log.status, total=log.total_rows,
                 verb=_("可导入") if log.dry_run else _("已导入"), created=log.created_rows,
                 errors=log.error_rows))
    if log.message:
        click.echo(log.message)
    if log.error_report:
        click.echo(_("错误报告：%(path)s", path=imports.folder() / log.error_report))
    if log.status != "done":
        raise SystemExit(1)
