"""Streamed CSV / Excel exports of any list, in constant memory, safe to open in a spreadsheet.

The list pages (:class:`core.web.listview.ListView`, ``?export=csv|xlsx``) and the API lists
(:class:`core.api.listing.Listing`, ``?format=csv|xlsx``) both answer with
:func:`export_response`: the rows come from a server-side cursor (``yield_per``, so the ORM
and the driver hold one batch at a time), and every text cell goes through :func:`safe_cell`.

- CSV is written and sent row batch by row batch (UTF-8 with a BOM, so Excel reads it).
- XLSX uses openpyxl's write-only workbook, which writes each row to a temporary file as it
  comes (no cell objects kept); the finished file is then sent in chunks and removed. A
  1,000,000-row export stays flat in memory (``bench/bench_imports.py`` measures it).

An export holds a database connection while it streams, so they are bounded (:class:`Slots`):
at most ``TANDEM_EXPORTS_PER_PROCESS`` at once in a process and ``TANDEM_EXPORTS_PER_USER``
per user (one more is refused with a 429 in the reader's language), and each stops after
``TANDEM_EXPORT_SECONDS`` (the download then ends incomplete; the error is logged).
"""

from __future__ import annotations

import csv
import itertools
import logging
import os
import re
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any

from flask import Response
from flask import current_app
from flask import stream_with_context
from flask_babel import gettext

from core.errors import TandemError

log = logging.getLogger(__name__)

YIELD_PER = 1000  # rows fetched from the server-side cursor at a time
CHUNK = 64 * 1024  # bytes of the finished XLSX sent at a time
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")  # "-120.50" is an amount, not a formula
# What XML 1.0 (so XLSX) cannot hold: C0 controls except tab, newline and carriage return.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
PER_PROCESS = 4  # TANDEM_EXPORTS_PER_PROCESS: exports streaming at once in a process
PER_USER = 2  # TANDEM_EXPORTS_PER_USER
EXPORT_SECONDS = 1800  # TANDEM_EXPORT_SECONDS: stopped after (1M rows as XLSX: ~900 s)


class TooManyExports(TandemError):
    """An export refused: the user's or the process's exports are all in use."""

    code = "too_many_exports"
    http_status = 429


class ExportTimeout(RuntimeError):
    """An export ran past ``TANDEM_EXPORT_SECONDS``: stopped, its cursor closed."""


class Slots:
    """Exports streaming now, per process and per user (a thread-safe count)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running: dict[Any, int] = {}

    def total(self) -> int:
        return sum(self.running.values())

    def take(self, owner: Any, per_process: int, per_user: int) -> Callable[[], None]:
        """One slot for ``owner``, or :class:`TooManyExports`; returns its release (which
        may be called more than once)."""
        with self._lock:
            if self.running.get(owner, 0) >= per_user:
                raise TooManyExports(gettext(
                    "您已有 %(n)s 个导出正在进行，请等待完成后再导出", n=per_user))
            if self.total() >= per_process:
                raise TooManyExports(gettext("服务器正忙于其他导出，请稍后再试"))
            self.running[owner] = self.running.get(owner, 0) + 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if released.is_set():
                    return
                released.set()
                self.running[owner] -= 1
                if not self.running[owner]:
                    del self.running[owner]

        return release


SLOTS = Slots()


def _timed(rows: Iterable[Sequence[Any]], deadline: float) -> Iterator[Sequence[Any]]:
    """``rows``, stopped by :class:`ExportTimeout` once ``deadline`` (monotonic) passed."""
    source = iter(rows)
    try:
        for n, row in enumerate(source):
            if n % 100 == 0 and time.monotonic() > deadline:
                raise ExportTimeout(f"export stopped after {n} rows: time limit reached")
            yield row
    finally:
        close = getattr(source, "close", None)
        if close is not None:  # a server-side cursor: closed now, not when collected
            close()


def _released(body: Iterable[bytes], release: Callable[[], None]) -> Iterator[bytes]:
    try:
        yield from body
    except ExportTimeout:
        log.warning("export stopped: it ran past TANDEM_EXPORT_SECONDS")
        raise
    finally:
        release()


def safe_cell(value: Any) -> Any:
    """An exported cell that a spreadsheet shows as the text it is (issue 14 #7): a text
    starting with ``= + - @``, a tab or a carriage return gets a leading ``'`` (OWASP's CSV
    injection advice), so ``=HYPERLINK(…)`` is not a live formula; control characters an
    XLSX cannot hold (NUL …) are dropped. Numbers and dates stay as they are."""
    if not isinstance(value, str):
        return value
    if not value.isprintable():  # only then can it hold a control character
        value = _UNWRITABLE.sub("", value)
    if value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


class _Line:
    """A file-like sink for ``csv.writer`` that hands back what was written."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        out, self.parts = "".join(self.parts), []
        return out


def _peeked(rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """``rows`` with its first row already read (so a header made from it is complete)."""
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return iter(())
    return itertools.chain((first,), it)


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]],
               batch: int = 500) -> Iterator[bytes]:
    """The CSV (BOM, header, rows) as UTF-8 chunks of about ``batch`` rows."""
    sink = _Line()
    writer = csv.writer(sink)
    rows = _peeked(rows)  # the header may be filled by the first row (API lists)
    sink.write("\ufeff")
    writer.writerow(safe_row(header))
    for n, row in enumerate(rows, 1):
        writer.writerow(safe_row(row))
        if n % batch == 0:
            yield sink.take().encode("utf-8")
    yield sink.take().encode("utf-8")


def xlsx_file(header: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = "data",
              path: str | None = None) -> str:
    """Write an XLSX with a write-only (streaming) workbook to ``path`` (a new temporary file
    by default) and return the path."""
    from openpyxl import Workbook

    temporary = path is None
    if path is None:
        handle, path = tempfile.mkstemp(prefix="tandem-export-", suffix=".xlsx")
        os.close(handle)
    try:
        workbook = Workbook(write_only=True)
        worksheet = workbook.create_sheet(sheet[:31] or "data")
        rows = _peeked(rows)
        worksheet.append(safe_row(header))
        for row in rows:
            worksheet.append(safe_row(row))
        workbook.save(path)
    except BaseException:
        if temporary:  # a failed export leaves no file behind
            os.unlink(path)
        raise
    return path


def xlsx_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]],
                sheet: str = "data") -> Iterator[bytes]:
    """The XLSX in chunks: written to a temporary file first (a zip is finished only at the
    end), then read back ``CHUNK`` bytes at a time; the file is removed afterwards."""
    path = xlsx_file(header, rows, sheet)
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def export_response(header: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str,
                    name: str, owner: Any = None) -> Response:
    """A streamed download of ``rows`` as ``fmt`` (``csv`` or ``xlsx``) named ``name``,
    for ``owner`` (the user's id: his exports are counted, see the module's docstring).

    ``rows`` is consumed while the response is sent (within the request's context, so a
    database cursor behind it stays usable)."""
    config = current_app.config
    release = SLOTS.take(owner,
                         int(config.get("TANDEM_EXPORTS_PER_PROCESS") or PER_PROCESS),
                         int(config.get("TANDEM_EXPORTS_PER_USER") or PER_USER))
    deadline = time.monotonic() + float(config.get("TANDEM_EXPORT_SECONDS")
                                        or EXPORT_SECONDS)
    rows = _timed(rows, deadline)
    if fmt == "csv":
        body = csv_chunks(header, rows)
        mimetype, ext = "text/csv; charset=utf-8", "csv"
    else:
        body = xlsx_chunks(header, rows, name)
        mimetype, ext = XLSX_MIME, "xlsx"
    safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "export"
    response = Response(stream_with_context(_released(body, release)), mimetype=mimetype,
                        headers={"Content-Disposition": f"attachment; filename={safe_name}.{ext}",
                                 "X-Content-Type-Options": "nosniff"})
    response.call_on_close(release)  # also when the download is abandoned before it began
    weakref.finalize(response, release)  # and when a caller drops it without closing it
    return response


def streamed_rows(session: Any, stmt: Any, *, scalars: bool,
                  convert: Callable[[Any], Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """The rows of ``stmt`` through a server-side cursor, ``YIELD_PER`` at a time, each
    turned into cells by ``convert`` (ORM objects when ``scalars``, else plain rows)."""
    result = session.execute(stmt.execution_options(yield_per=YIELD_PER,
                                                    stream_results=True))
    source = result.scalars() if scalars else result
    try:
        for item in source:
            yield convert(item)
    finally:
        result.close()
