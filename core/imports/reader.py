"""Reading an import file: python-calamine for spreadsheets (xlsx, xlsm, xls, ods — Rust,
far faster than openpyxl and without its per-cell objects), the csv module for CSV (UTF-8
with or without a BOM, else GB18030 as Excel writes it on Chinese systems)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext

from core.errors import UserError
from core.imports.spec import ImportColumn
from core.imports.spec import ImportKind
from core.imports.spec import RowError

SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
EXTENSIONS = (*SPREADSHEETS, ".csv")


def read_table(path: Path) -> list[list[Any]]:
    """Every row of the file's first sheet (or the CSV), as cell values."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030", errors="replace")
        return list(csv.reader(io.StringIO(text)))
    if suffix not in SPREADSHEETS:
        raise UserError(gettext("不支持的文件类型（可用：%(types)s）",
                                types="、".join(EXTENSIONS)))
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        return workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise UserError(gettext("无法读取文件：%(error)s", error=str(exc)[:200])) from exc


def _norm(text: Any) -> str:
    return str(text or "").strip().rstrip("*＊").strip().lower()


def _aliases(column: ImportColumn) -> set[str]:
    with force_locale("en"):
        english = gettext(column.label)
    return {_norm(column.label), _norm(english), _norm(column.key)}


def map_header(kind: ImportKind, header: list[Any]) -> tuple[dict[int, ImportColumn],
                                                            list[RowError]]:
    """Which file column holds which import column (by its Chinese or English label, or its
    key); missing required columns are row-1 errors."""
    by_name: dict[str, ImportColumn] = {}
    for column in kind.columns:
        for alias in _aliases(column):
            by_name[alias] = column
    mapping: dict[int, ImportColumn] = {}
    for index, cell in enumerate(header):
        column = by_name.get(_norm(cell))
        if column is not None and column.key not in {c.key for c in mapping.values()}:
            mapping[index] = column
    found = {c.key for c in mapping.values()}
    errors = [RowError(1, gettext(c.label), gettext("缺少必填列“%(label)s”",
                                                     label=gettext(c.label)))
              for c in kind.columns if c.required and c.key not in found]
    return mapping, errors


def _choice_lookup(column: ImportColumn) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, label in (column.choices or {}).items():
        with force_locale("en"):
            english = gettext(label)
        for alias in (code, label, english):
            out[_norm(alias)] = code
    return out


def cell_value(value: Any) -> Any:
    """A read cell as the handlers get it: blank → None, texts stripped, whole floats as
    ints (Excel keeps 13800138000 as 1.3800138e10), dates and numbers as they are."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime | date | int | float | bool):
        return value
    return str(value)


class RowReader:
    """Turns the file's data rows into ``(row_number, {key: value})`` for a kind; a choice
    that is none of its codes or labels is an error of that row."""

    def __init__(self, kind: ImportKind, mapping: dict[int, ImportColumn]) -> None:
        self.mapping = mapping
        self.choices = {c.key: _choice_lookup(c) for c in kind.columns if c.choices}

    def read(self, rows: Iterable[tuple[int, list[Any]]]) -> tuple[
            list[tuple[int, dict[str, Any]]], list[RowError]]:
        good: list[tuple[int, dict[str, Any]]] = []
        errors: list[RowError] = []
        plan = [(index, column, self.choices.get(column.key), column.required)
                for index, column in self.mapping.items()]
        for number, cells in rows:
            data: dict[str, Any] = {}
            bad = False
            width = len(cells)
            for index, column, lookup, required in plan:
                value = cells[index] if index < width else None
                if type(value) is str:  # the usual cell: a text (calamine, CSV)
                    value = value.strip() or None
                elif value is not None:
                    value = cell_value(value)
                if lookup is not None and value is not None:
                    code = lookup.get(value) or lookup.get(_norm(value))
                    if code is None:
                        bad = True
                        errors.append(self._not_a_choice(number, column, value))
                    value = code
                if value is None and required:
                    bad = True
                    errors.append(RowError(number, gettext(column.label), gettext("必填")))
                data[column.key] = value
            if not bad:
                good.append((number, data))
        return good, errors

    @staticmethod
    def _not_a_choice(number: int, column: ImportColumn, value: Any) -> RowError:
        return RowError(number, gettext(column.label), gettext(
            "“%(value)s”不是可选值（可选：%(choices)s）", value=value,
            choices=gettext("、").join(gettext(v) for v in (column.choices or {}).values())))


def is_blank(cells: list[Any]) -> bool:
    for cell in cells:
        if cell is None or cell == "":
            continue
        if type(cell) is not str or cell.strip():
            return False
    return True
