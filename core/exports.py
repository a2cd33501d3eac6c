"""Streamed CSV / Excel exports of any list, in constant memory, safe to open in a spreadsheet.

The list pages (:class:`core.web.listview.ListView`, ``?export=csv|xlsx``) and the API lists
(:class:`core.api.listing.Listing`, ``?format=csv|xlsx``) both answer with
:func:`export_response`: the rows come from a server-side cursor (``yield_per``, so the ORM
and the driver hold one batch at a time), and every text cell goes through :func:`safe_cell`.

- CSV is written and sent row batch by row batch (UTF-8 with a BOM, so Excel reads it).
- XLSX uses openpyxl's write-only workbook, which writes each row to a temporary file as it
  comes (no cell objects kept); the finished file is then sent in chunks and removed. A
  1,000,000-row export stays flat in memory (``bench/bench_imports.py`` measures it).
"""

from __future__ import annotations

import csv
import itertools
import os
import re
import tempfile
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any

from flask import Response
from flask import stream_with_context

YIELD_PER = 1000  # rows fetched from the server-side cursor at a time
CHUNK = 64 * 1024  # bytes of the finished XLSX sent at a time
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")  # "-120.50" is an amount, not a formula
# What XML 1.0 (so XLSX) cannot hold: C0 controls except tab, newline and carriage return.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


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
                    name: str) -> Response:
    """A streamed download of ``rows`` as ``fmt`` (``csv`` or ``xlsx``) named ``name``.

    ``rows`` is consumed while the response is sent (within the request's context, so a
    database cursor behind it stays usable)."""
    if fmt == "csv":
        body = csv_chunks(header, rows)
        mimetype, ext = "text/csv; charset=utf-8", "csv"
    else:
        body = xlsx_chunks(header, rows, name)
        mimetype, ext = XLSX_MIME, "xlsx"
    safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "export"
    return Response(stream_with_context(body), mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename={safe_name}.{ext}",
        "X-Content-Type-Options": "nosniff"})


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
