"""Benchmark harness: generate data at scale, then time a page's or an API call's server
time next to the equivalent hand-written SQL, in the same run.

A benchmark module (``bench/bench_<name>.py``) defines ``setup(ctx)`` and ``cases(ctx)``;
``bench/run.py`` creates a throw-away PostgreSQL database (or uses ``--database-url``),
installs the modules the benchmark names, runs ``setup`` and prints a table:
case, median and p95 of the server side, the same for the SQL, and the ratio.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from collections.abc import Iterable
from contextlib import AbstractContextManager
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from flask import has_app_context
from sqlalchemy import text
from tqdm import tqdm

from core.extensions import db


@dataclass
class Case:
    name: str
    run: Callable[[], Any]  # the server side: a test-client request or a service call
    sql: str | list[str] | None = None  # the equivalent hand-written SQL (all statements)
    params: dict | None = None
    # Untimed set-up around each server sample (``run`` is called inside it): e.g. a request
    # already open, its user, grants and rules loaded, as a page has them before each of
    # its figures. With it, the SQL side's statements are timed on a connection whose
    # transaction is already open: both sides time the statements alone, without the
    # checkout, BEGIN, ROLLBACK and user loading a request pays once for all its figures.
    within: Callable[[], AbstractContextManager[Any]] | None = None


@dataclass
class Result:
    name: str
    median_ms: float
    p95_ms: float
    sql_median_ms: float | None
    sql_p95_ms: float | None

    @property
    def ratio(self) -> float | None:
        if not self.sql_median_ms:
            return None
        return self.median_ms / self.sql_median_ms


def _once(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(case: Case, repeat: int = 50, warmup: int = 5, *, app: Any = None) -> Result:
    """Time ``case.run`` (the server side) and ``case.sql`` (in ``app``'s context).

    The two sides alternate, one sample each in turn, so a slow spell of the machine (a
    shared 2-core VM varies by tens of percent from one minute to the next) weighs on both
    and not on the ratio.

    Call it outside an app context: a request reuses an active one, and with it one session
    (every object it loaded) and the logged-in user across all the timed requests, which a
    real server never does."""
    if has_app_context():
        raise RuntimeError("measure() outside an app context (pass app= for the SQL side)")
    # What set-up allocated (the generated rows, the app) leaves the collector's sight, as a
    # server freezes its preloaded app (core.wsgi): the server side is timed as served.
    gc.collect()
    gc.freeze()
    within = case.within or nullcontext
    with within():
        first = case.run()
    status = getattr(first, "status_code", None)
    if status is not None and status >= 300:  # a login redirect or an error is no benchmark
        raise RuntimeError(f"{case.name}: HTTP {status} instead of a page")
    statements = [] if not case.sql else [case.sql] if isinstance(case.sql, str) else case.sql
    engine = None
    if statements:
        with app.app_context():
            engine = db.engine

    def run_statements(conn: Any) -> None:
        for statement in statements:
            conn.execute(text(statement), case.params or {}).fetchall()

    def run_sql() -> None:
        with engine.connect() as conn:
            run_statements(conn)

    def server_once() -> float:
        with within():
            return _once(case.run)

    def sql_once() -> float:
        if case.within is None:
            return _once(run_sql)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))  # the transaction begun, untimed
            return _once(lambda: run_statements(conn))

    server: list[float] = []
    sql: list[float] = []
    for i in range(warmup + repeat):
        server_ms = server_once()
        sql_ms = sql_once() if statements else None
        if i >= warmup:
            server.append(server_ms)
            if sql_ms is not None:
                sql.append(sql_ms)
    return Result(
        case.name,
        statistics.median(server),
        p95(server),
        statistics.median(sql) if sql else None,
        p95(sql) if sql else None,
    )


def settle() -> None:
    """Bring freshly loaded tables to the state of a database in service: statistics, and on
    PostgreSQL a ``VACUUM`` that sets the visibility map and the rows' hint bits. Without it
    the first queries after a bulk load pay for heap visits an index-only scan skips, and
    the hand-written SQL times measure the load, not the query (11 ms instead of 5 ms for the
    customer list's count)."""
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def insert_rows(
    table: Any, rows: Iterable[dict], total: int, label: str, batch: int = 5000
) -> None:
    """Bulk-insert generated rows with a progress bar, committing every ``batch`` rows.

    On PostgreSQL through ``COPY … FROM STDIN`` (about 10× faster than executemany), elsewhere
    with Core executemany. Every row carries the same keys; columns left out get their
    client-side defaults (``default=utcnow`` …) as with an ORM insert."""
    copy = db.engine.dialect.name == "postgresql"
    chunk: list[dict] = []
    with tqdm(total=total, desc=label, unit="rows") as bar:
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                _flush(table, chunk, copy)
                bar.update(len(chunk))
                chunk = []
        if chunk:
            _flush(table, chunk, copy)
            bar.update(len(chunk))


def _flush(table: Any, chunk: list[dict], copy: bool) -> None:
    if copy:
        _copy(table, chunk)
    else:
        db.session.execute(table.insert(), chunk)
    db.session.commit()


def _copy(table: Any, chunk: list[dict]) -> None:
    conn = db.session.connection()
    dialect = conn.dialect
    names = list(chunk[0])
    defaults = {
        c.name: c.default
        for c in table.c
        if c.name not in names and c.default is not None and not c.default.is_sequence
    }
    columns = names + list(defaults)
    processors = [table.c[n].type._cached_bind_processor(dialect) for n in columns]
    quote = dialect.identifier_preparer
    statement = (
        f"COPY {quote.format_table(table)} ({', '.join(quote.quote(n) for n in columns)}) "
        "FROM STDIN"
    )
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(statement) as out:
        for row in chunk:
            values = [row[n] for n in names] + [
                d.arg(None) if d.is_callable else d.arg for d in defaults.values()
            ]
            out.write_row([p(v) if p else v for p, v in zip(processors, values, strict=True)])


def report(results: list[Result], title: str) -> str:
    lines = [
        f"## {title}",
        "",
        "| case | server median ms | server p95 ms | SQL median ms | SQL p95 ms | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        sql_med = f"{r.sql_median_ms:.2f}" if r.sql_median_ms is not None else "—"
        sql_p95 = f"{r.sql_p95_ms:.2f}" if r.sql_p95_ms is not None else "—"
        ratio = f"{r.ratio:.2f}×" if r.ratio is not None else "—"
        lines.append(
            f"| {r.name} | {r.median_ms:.2f} | {r.p95_ms:.2f} | {sql_med} | {sql_p95} | {ratio} |"
        )
    return "\n".join(lines)
