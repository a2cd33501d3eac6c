"""Upgrade of SQLite databases made before ids were never reused (issue 14 #1).

New SQLite tables are ``AUTOINCREMENT`` (``core.db``); a database created before keeps
tables on which SQLite hands a deleted row's id to the next insert, so history kept by table
and id (audit rows, comments, notifications) would show on the new record. This rebuilds
each such table into an ``AUTOINCREMENT`` one, following SQLite's documented procedure for
schema changes ALTER TABLE cannot make (https://www.sqlite.org/lang_altertable.html#otheralter):
foreign keys off (outside any transaction: the pragma is a no-op inside one, and with them on
``DROP TABLE`` deletes, cascading to the rows that reference the table), one transaction,
new table, copy, drop, rename, the table's indexes and triggers again from their saved SQL,
``PRAGMA foreign_key_check`` before commit, foreign keys back on. The new table's definition
is SQLAlchemy's rendering of the reflected table, so it is what ``create_all`` or a migration
makes today. ``sqlite_sequence`` starts at the highest id the table ever used as far as the
database still knows: its rows, and the history rows of deleted records
(:data:`core.audit.HISTORY_TABLES`).

Run by ``ensure_core`` (``db upgrade``, ``modules upgrade|install|list``); does nothing on
PostgreSQL (sequences never go back) or when every table is already ``AUTOINCREMENT``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData
from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateTable

from core.audit import HISTORY_TABLES

_TMP_PREFIX = "_tandem_rebuild_"


class ForeignKeyViolation(RuntimeError):
    """``PRAGMA foreign_key_check`` found rows after the rebuild: nothing was committed."""


def _rowid_tables(conn: Connection) -> list[str]:
    """Tables without ``AUTOINCREMENT`` whose key is one ``INTEGER`` column (a rowid alias:
    the only kind SQLite reuses and the only kind ``AUTOINCREMENT`` applies to)."""
    rows = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").all()
    names = []
    for name, sql in rows:
        if "AUTOINCREMENT" in (sql or "").upper():
            continue
        info = conn.exec_driver_sql(f"PRAGMA table_info({_quote(conn, name)})").all()
        keys = [row for row in info if row[5]]
        if len(keys) == 1 and str(keys[0][2]).upper() == "INTEGER":
            names.append(name)
    return names


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _autoincrement_ddl(conn: Connection, name: str) -> str | None:
    """The table's ``CREATE TABLE`` as SQLAlchemy renders it with ``AUTOINCREMENT``, or None
    when it would not be (a key that is also a foreign key, as ``create_all`` does)."""
    table = Table(name, MetaData(), autoload_with=conn, sqlite_autoincrement=True)
    ddl = str(CreateTable(table).compile(dialect=conn.dialect)).strip()
    return ddl if "AUTOINCREMENT" in ddl.upper() else None


def tables_reusing_ids(conn: Connection) -> list[str]:
    """Names of the tables :func:`rebuild` would rebuild."""
    return [name for name in _rowid_tables(conn) if _autoincrement_ddl(conn, name)]


def _highest_id(conn: Connection, name: str, key: str) -> int:
    """The highest id the table's rows or the history of its deleted rows ever held."""
    q = _quote(conn, key)
    highest = conn.exec_driver_sql(
        f"SELECT max({q}) FROM {_quote(conn, name)}").scalar() or 0
    existing = {row[0] for row in conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    for history, model_column in HISTORY_TABLES:
        if history not in existing:
            continue
        value = conn.exec_driver_sql(
            f"SELECT max(CAST(record_id AS INTEGER)) FROM {history} "
            f"WHERE {model_column} = ? AND record_id <> '' "
            "AND record_id NOT GLOB '*[^0-9]*' AND length(record_id) < 19", (name,)).scalar()
        highest = max(highest, value or 0)
    return int(highest)


def _rebuild_one(conn: Connection, name: str, ddl: str) -> None:
    quoted = _quote(conn, name)
    tmp = _quote(conn, _TMP_PREFIX + name)
    header = f"CREATE TABLE {quoted} ("
    if not ddl.startswith(header):
        raise RuntimeError(f"unexpected CREATE TABLE for {name}: {ddl[:80]!r}")
    ddl = f"CREATE TABLE {tmp} (" + ddl[len(header):]
    # Explicit indexes (partial ones included) and triggers, verbatim; the indexes of
    # UNIQUE constraints (sql IS NULL) come back with the table definition.
    saved = [row[0] for row in conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL ORDER BY type, name", (name,))]
    key = next(row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({quoted})") if row[5])
    highest = _highest_id(conn, name, key)
    columns = ", ".join(_quote(conn, row[1])
                        for row in conn.exec_driver_sql(f"PRAGMA table_info({quoted})"))
    conn.exec_driver_sql(ddl)
    conn.exec_driver_sql(
        f"INSERT INTO {tmp} ({columns}) SELECT {columns} FROM {quoted}")
    conn.exec_driver_sql(f"DROP TABLE {quoted}")
    # Legacy rename: only the new table's own name changes; nothing refers to the temporary
    # name, and triggers or views elsewhere that name the table are not re-checked while it
    # is absent.
    conn.exec_driver_sql("PRAGMA legacy_alter_table=ON")
    try:
        conn.exec_driver_sql(f"ALTER TABLE {tmp} RENAME TO {quoted}")
    finally:
        conn.exec_driver_sql("PRAGMA legacy_alter_table=OFF")
    for sql in saved:
        conn.exec_driver_sql(sql)
    seq = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?",
                               (name,)).scalar()
    if seq is None:
        conn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                             (name, highest))
    elif seq < highest:
        conn.exec_driver_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?",
                             (highest, name))


def rebuild(engine: Engine, progress: Any = None) -> list[str]:
    """Rebuild every SQLite table that may reuse ids into an ``AUTOINCREMENT`` one, keeping
    its rows, constraints, indexes and triggers; all tables in one transaction. Returns the
    names rebuilt. Raises :class:`ForeignKeyViolation` (and commits nothing) if the
    database's foreign keys do not check out afterwards."""
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as conn:
        todo = [(name, ddl) for name in _rowid_tables(conn)
                if (ddl := _autoincrement_ddl(conn, name))]
        conn.rollback()
        if not todo:
            return []
        # Only reads so far, and pysqlite opens a transaction only before a write: the
        # pragma takes effect (checked, since inside a transaction it silently would not).
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            if conn.exec_driver_sql("PRAGMA foreign_keys").scalar() != 0:
                raise RuntimeError("could not turn SQLite foreign keys off (open transaction)")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                for name, ddl in todo:
                    if progress is not None:
                        progress(f"core: 重建 {name}（AUTOINCREMENT，id 不再重用）")
                    _rebuild_one(conn, name, ddl)
                violations = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if violations:
                    raise ForeignKeyViolation(
                        "foreign keys do not check out after rebuilding "
                        f"{', '.join(n for n, _ in todo)}; nothing changed: "
                        + "; ".join(f"{t} rowid {r} -> {p}" for t, r, p, _ in violations[:20]))
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()
    return [name for name, _ in todo]
