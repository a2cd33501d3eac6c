"""The files an import hands out, made with openpyxl (where formatting matters): the template
of a kind (headings, a dropdown for every choice column, a sample row, each column's note as
a cell comment and on a 说明 sheet) and the error report of a run."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any

from flask_babel import gettext

from core.exports import safe_cell
from core.imports.spec import ImportKind
from core.imports.spec import RowError


def template(kind: ImportKind, path: Path) -> Path:
    """Write the template of ``kind`` to ``path``."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.styles import PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = gettext(kind.label)[:31]
    options = workbook.create_sheet("options")
    notes = workbook.create_sheet(gettext("说明"))
    notes.append([gettext("列"), gettext("必填"), gettext("说明"), gettext("可选值")])
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
    option_col = 0
    for index, column in enumerate(kind.columns, start=1):
        letter = get_column_letter(index)
        label = gettext(column.label) + ("*" if column.required else "")
        cell = sheet.cell(row=1, column=index, value=label)
        cell.font = bold
        if column.required:
            cell.fill = fill
        note = gettext(column.note) if column.note else ""
        choices = [gettext(v) for v in (column.choices or {}).values()]
        if choices:
            note = (note + "\n" if note else "") + gettext("可选：") + "、".join(choices)
        if note:
            cell.comment = Comment(note, "Tandem", width=260, height=120)
        sheet.cell(row=2, column=index, value=_sample(column.sample, column.choices))
        sheet.column_dimensions[letter].width = column.width
        notes.append([label, gettext("是") if column.required else gettext("否"),
                      gettext(column.note) if column.note else "", "、".join(choices)])
        if choices:  # a dropdown from a list on the hidden options sheet (no 255-char limit)
            option_col += 1
            opt_letter = get_column_letter(option_col)
            for n, choice in enumerate(choices, start=1):
                options.cell(row=n, column=option_col, value=choice)
            validation = DataValidation(
                type="list", formula1=f"options!${opt_letter}$1:${opt_letter}${len(choices)}",
                allow_blank=not column.required, showErrorMessage=True,
                errorTitle=gettext("无效的值"), error=gettext("请从下拉列表中选择"))
            validation.add(f"{letter}2:{letter}100000")
            sheet.add_data_validation(validation)
    options.sheet_state = "hidden"
    sheet.freeze_panes = "A2"
    for letter, width in (("A", 18), ("B", 8), ("C", 60), ("D", 40)):
        notes.column_dimensions[letter].width = width
    workbook.save(path)
    return path


def _sample(value: Any, choices: dict[str, str] | None) -> Any:
    if choices and value in choices:
        return gettext(choices[value])
    return value


def error_report(header: list[Any], errors: list[RowError], raw: dict[int, list[Any]],
                 path: Path) -> Path:
    """The refused rows, each with its messages and its original cells (fix and import it
    again), written with a streaming workbook."""
    from core.exports import xlsx_file

    by_row: dict[int, list[RowError]] = {}
    for error in errors:
        by_row.setdefault(error.row, []).append(error)

    colon = gettext("：")

    def rows() -> Any:
        for number in sorted(by_row):
            messages = gettext("；").join(f"{e.column}{colon}{e.message}" if e.column
                                         else e.message for e in by_row[number])
            yield [number, messages, *(_plain(v) for v in raw.get(number, []))]

    heading = [gettext("行号"), gettext("错误"), *(str(h or "") for h in header)]
    xlsx_file(heading, rows(), gettext("错误"), path=str(path))
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | int | float) or value is None:
        return value
    return safe_cell(str(value))
