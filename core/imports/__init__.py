"""Excel / CSV import (issue 19 #3): modules register import kinds (hook
``register_import_kinds``, :class:`core.imports.spec.ImportKind`); the core reads the file
(python-calamine), maps the headings, turns choices into codes, hands the rows to the kind
in batches, keeps the refused rows with their messages (the importer's language) and writes
the import log and the error report.

A run is a dry run (nothing written: what would be refused, and how many would be created)
or the import itself, usually of the same stored file after the dry run was confirmed. It
runs as the job ``core.imports.run`` (RQ with ``REDIS_URL``, in-process otherwise) or, from
``manage.py import``, in the command itself. Each batch is its own transaction, so the log's
progress is visible while the run goes on and a failure keeps the batches before it (the log
then says where it stopped).
"""

from __future__ import annotations

import gc
import os
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext
from sqlalchemy import select

from core import hooks
from core.config import instance_path
from core.db import utcnow
from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.errors import TandemError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.imports import files
from core.imports import reader
from core.imports.models import ImportLog
from core.imports.spec import BatchResult
from core.imports.spec import ImportColumn
from core.imports.spec import ImportKind
from core.imports.spec import RowError
from core.security.models import User
from core.services import ServiceContext
from core.services import unit_of_work

__all__ = ["BatchResult", "ImportColumn", "ImportKind", "ImportLog", "RowError",
           "per_row"]

MAX_BYTES = 50 * 1024 * 1024
Progress = Callable[[ImportLog], None]


def kinds() -> dict[str, ImportKind]:
    """The import kinds of the installed modules, by id, in menu order."""
    found = [k for items in (hooks.call("register_import_kinds") or []) for k in items or []]
    return {k.id: k for k in sorted(found, key=lambda k: (k.sequence, k.id))}


def kinds_for(ctx: ServiceContext) -> list[ImportKind]:
    return [k for k in kinds().values() if ctx.can(k.permission)]


def get_kind(ctx: ServiceContext, kind_id: str) -> ImportKind:
    kind = kinds().get(kind_id)
    if kind is None:
        raise NotFoundError(gettext("没有这种导入：%(kind)s", kind=kind_id))
    ctx.require(kind.permission)
    return kind


def folder() -> Path:
    path = instance_path() / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def template_file(ctx: ServiceContext, kind_id: str) -> Path:
    """The kind's template in the actor's language, written afresh (the kind's columns may
    have changed with an upgrade)."""
    kind = get_kind(ctx, kind_id)
    path = folder() / f"template-{kind.id}-{ctx.locale}.xlsx"
    # written aside, then renamed: a download at the same moment never reads half a file
    partial = path.with_name(f"{path.stem}.{uuid.uuid4().hex}.partial")
    files.template(kind, partial)
    os.replace(partial, path)
    return path


def visible_logs(ctx: ServiceContext) -> Any:
    """The import runs the actor may see: his own; all with ``core.audit.read``."""
    stmt = select(ImportLog).order_by(ImportLog.id.desc())
    if not ctx.can("core.audit.read"):
        stmt = stmt.where(ImportLog.actor_id == ctx.actor_id)
    return stmt


def get_log(ctx: ServiceContext, log_id: int) -> ImportLog:
    log = db.session.scalar(visible_logs(ctx).where(ImportLog.id == log_id))
    if log is None:
        raise NotFoundError(gettext("导入记录不存在"))
    return log


def start(ctx: ServiceContext, kind_id: str, file_name: str, data: bytes, *,
          dry_run: bool = True, run: bool = True) -> ImportLog:
    """Store an uploaded file and queue its dry run (or import): the log row, then the job
    ``core.imports.run`` once this transaction commits."""
    kind = get_kind(ctx, kind_id)
    suffix = Path(file_name or "").suffix.lower()
    if suffix not in reader.EXTENSIONS:
        raise ValidationError(gettext("请上传 Excel 或 CSV 文件（%(types)s）",
                                      types="、".join(reader.EXTENSIONS)),
                              fields={"file": gettext("文件类型不支持")})
    if not data:
        raise ValidationError(gettext("文件是空的"), fields={"file": gettext("文件是空的")})
    if len(data) > MAX_BYTES:
        raise ValidationError(gettext("文件过大（最大 50 MB）"),
                              fields={"file": gettext("文件过大")})
    stored = f"{secrets.token_hex(8)}{suffix}"
    (folder() / stored).write_bytes(data)
    log = ImportLog(kind=kind.id, file_name=_file_name(file_name), stored_file=stored,
                    dry_run=dry_run, source=ctx.source, actor_id=ctx.actor_id,
                    locale=ctx.locale, status="pending", created_at=ctx.now)
    db.session.add(log)
    db.session.flush()
    if run:
        _queue(log)
    return log


def confirm(ctx: ServiceContext, dry_run_id: int) -> ImportLog:
    """Import the file a finished dry run checked (a new run, its log linked to the dry run)."""
    checked = get_log(ctx, dry_run_id)
    if not checked.dry_run or checked.status != "done":
        raise UserError(gettext("只能确认已完成的试导入"))
    if checked.actor_id != ctx.actor_id:
        raise PermissionDenied(gettext("只能确认自己的试导入"))
    # Two confirmations at once (two tabs, a double click): the second waits on this row's
    # lock until the first has committed, then finds its run.
    db.session.execute(select(ImportLog.id).where(ImportLog.id == checked.id).with_for_update())
    if db.session.scalar(select(ImportLog.id).where(ImportLog.dry_run_of_id == checked.id)):
        raise UserError(gettext("这次试导入已确认过"))
    get_kind(ctx, checked.kind)
    log = ImportLog(kind=checked.kind, file_name=checked.file_name,
                    stored_file=checked.stored_file, dry_run=False, source=ctx.source,
                    actor_id=ctx.actor_id, locale=ctx.locale, status="pending",
                    dry_run_of_id=checked.id, created_at=ctx.now)
    db.session.add(log)
    db.session.flush()
    _queue(log)
    return log


def _queue(log: ImportLog) -> None:
    from core.jobs import enqueue

    enqueue("core.imports.run", log.id)


def _file_name(name: str) -> str:
    name = re.sub(r"[\x00-\x1f/\\]", "", Path(name or "").name)
    return name[-255:] or "import"


def run_job(log_id: int) -> None:
    """The job: run the logged import as its importer (source ``job``)."""
    log = db.session.get(ImportLog, log_id)
    if log is None or log.status != "pending":
        return
    actor = db.session.get(User, log.actor_id) if log.actor_id else None
    ctx = ServiceContext(actor=actor, source="job", locale=log.locale)
    execute(ctx, log)


def execute(ctx: ServiceContext, log: ImportLog, progress: Progress | None = None) -> ImportLog:
    """Run ``log``'s file through its kind, batch by batch (each committed), in the
    importer's language; the log ends ``done`` (or ``failed`` with the message)."""
    with force_locale(ctx.locale), _without_cyclic_gc():
        try:
            _execute(ctx, log, progress)
        except TandemError as exc:
            _fail(log, exc.message)
        except Exception as exc:
            _fail(log, gettext("导入中断：%(error)s", error=str(exc)[:500]))
            raise
    return log


_gc_lock = threading.Lock()
_gc_paused_by = 0  # imports of this process running with the cyclic collector paused
_gc_was_enabled = True


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an import runs (reference counting
    still frees what it drops). The file's rows stay alive for the whole run, and each
    full collection walks all of them: at 100,000 rows that was several CPU seconds,
    growing faster than the file. Resumed (if it ran before) when the last import of the
    process ends."""
    global _gc_paused_by, _gc_was_enabled
    with _gc_lock:
        if _gc_paused_by == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_paused_by += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_paused_by -= 1
            if _gc_paused_by == 0 and _gc_was_enabled:
                gc.enable()


def _fail(log: ImportLog, message: str) -> None:
    db.session.rollback()
    log = db.session.merge(log)
    log.status, log.message, log.finished_at = "failed", message, utcnow()
    db.session.commit()


def _execute(ctx: ServiceContext, log: ImportLog, progress: Progress | None) -> None:
    kind = get_kind(ctx, log.kind)
    log.status, log.started_at = "running", utcnow()
    db.session.commit()
    table = reader.read_table(folder() / log.stored_file)
    header, body = (table[0] if table else []), table[1:]
    mapping, errors = reader.map_header(kind, header)
    numbered = [(n, cells) for n, cells in enumerate(body, start=2)
                if not reader.is_blank(cells)]
    log.total_rows = len(numbered)
    raw: dict[int, list[Any]] = {}
    if errors:  # a missing required column: every row would fail alike
        log.error_rows = log.total_rows
        _finish(log, header, errors, raw, progress)
        return
    rows = reader.RowReader(kind, mapping)
    ctx.extra["import_log_id"] = log.id
    db.session.commit()
    for start_at in range(0, len(numbered), kind.batch_size):
        chunk = numbered[start_at:start_at + kind.batch_size]
        good, bad = rows.read(chunk)
        result = BatchResult()
        if good:
            with unit_of_work(ctx):
                result = kind.handle(ctx, good, log.dry_run)
        batch_errors = bad + result.errors
        if batch_errors:
            refused = {e.row for e in batch_errors}
            raw.update((n, list(cells)) for n, cells in chunk if n in refused)
            errors.extend(batch_errors)
        log.processed_rows += len(chunk)
        log.created_rows += result.created
        log.error_rows = len({e.row for e in errors})
        db.session.commit()  # this batch's rows and the progress, together
        if progress is not None:
            progress(log)
    _finish(log, header, errors, raw, progress)


def _finish(log: ImportLog, header: list[Any], errors: list[RowError],
            raw: dict[int, list[Any]], progress: Progress | None) -> None:
    if errors:
        name = f"errors-{log.id}.xlsx"
        files.error_report(header, errors, raw, folder() / name)
        log.error_report = name
    log.status, log.finished_at = "done", utcnow()
    log.processed_rows = log.total_rows
    db.session.commit()
    if progress is not None:
        progress(log)


def report_rows(log: ImportLog, limit: int = 200) -> list[list[Any]]:
    """The first refused rows of a run (row, messages), read back from its report."""
    if not log.error_report:
        return []
    table = reader.read_table(folder() / log.error_report)
    return [[reader.cell_value(c) for c in row[:2]] for row in table[1:limit + 1]]


# ----------------------------------------------------------------- helpers for the kinds


def per_row(ctx: ServiceContext, rows: list[tuple[int, dict[str, Any]]], dry_run: bool,
            kind: ImportKind, create: Callable[[ServiceContext, dict[str, Any]], Any],
            fields: dict[str, str] | None = None) -> BatchResult:
    """A batch through a module's own create service, row by row, each in a savepoint (so a
    refused row leaves no trace; in a dry run every row is rolled back): for kinds whose
    rules live in one service call (uniqueness, owners, numbering) and whose files are a
    few thousand rows. ``fields`` maps the service's error field names to column keys."""
    result = BatchResult()
    if not dry_run:
        _rows(ctx, rows, kind, create, fields, result)
        return result
    try:  # the whole batch, then rolled back: a row is checked against the rows above it
        with unit_of_work(ctx):
            _rows(ctx, rows, kind, create, fields, result)
            raise _DryRun
    except _DryRun:
        pass
    return result


def _rows(ctx: ServiceContext, rows: list[tuple[int, dict[str, Any]]], kind: ImportKind,
          create: Callable[[ServiceContext, dict[str, Any]], Any],
          fields: dict[str, str] | None, result: BatchResult) -> None:
    labels = {c.key: gettext(c.label) for c in kind.columns}
    for number, data in rows:
        try:
            with unit_of_work(ctx):
                create(ctx, data)
            result.created += 1
        except ValidationError as exc:
            if exc.fields:
                for field, message in exc.fields.items():
                    key = (fields or {}).get(field, field)
                    result.errors.append(RowError(number, labels.get(key, ""), message))
            else:
                result.errors.append(RowError(number, "", exc.message))
        except TandemError as exc:
            result.errors.append(RowError(number, "", exc.message))


class _DryRun(Exception):
    """Rolls a dry run's row back."""
