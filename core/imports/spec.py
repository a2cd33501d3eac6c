"""What a module registers for an import kind (hook ``register_import_kinds``), and what a
kind's batch handler answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any


@dataclass(frozen=True, slots=True)
class ImportColumn:
    """One column of an import file. ``label`` (Chinese, also the template's heading) or its
    English translation or ``key`` may head the column in a file; ``choices`` (``{code:
    label}``) become a dropdown in the template and accept the code or either label;
    ``note`` is the column's explanation (a cell comment in the template)."""

    key: str
    label: str
    required: bool = False
    choices: dict[str, str] | None = None
    note: str = ""
    sample: Any = None
    width: int = 16


@dataclass(frozen=True, slots=True)
class RowError:
    """A refused row: its number in the file (the heading is row 1), the column's label (or
    empty for the whole row) and the message in the importer's language."""

    row: int
    column: str
    message: str


@dataclass
class BatchResult:
    """What a kind's handler did with one batch: how many rows it created (or would create,
    in a dry run) and the rows it refused."""

    created: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportKind:
    """A kind of record a module imports from Excel or CSV (issue 19 #3).

    ``handle(ctx, rows, dry_run)`` gets a batch as ``(row_number, {key: value})`` pairs
    (values as read: text, numbers, dates; ``None`` for empty cells; choice columns already
    turned into their codes) and answers a :class:`BatchResult`: the rows it refused with
    a message each, and how many of the others it created — in bulk, through the module's
    service rules, audited — or would create when ``dry_run``. It reads referenced records
    through ``ctx.scoped`` (record rules) and checks ``permission`` itself like any
    service. ``batch_size`` rows are handed over at a time, each batch committed apart."""

    id: str  # "<module>.<kind>", e.g. "crm.customers"
    label: str
    permission: str
    columns: tuple[ImportColumn, ...]
    handle: Callable[[Any, list[tuple[int, dict[str, Any]]], bool], BatchResult]
    sequence: int = 100
    batch_size: int = 2000
    description: str = ""

    def column(self, key: str) -> ImportColumn:
        return next(c for c in self.columns if c.key == key)
