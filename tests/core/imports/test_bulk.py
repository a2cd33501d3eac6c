"""``core.imports.bulk``: rows written in bulk (COPY on PostgreSQL) read back as given —
texts with tabs, newlines and backslashes, NULLs, JSON, times — and their audit rows."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy import select

from core.audit import AuditLog
from core.extensions import db
from core.imports.bulk import bulk_audit
from core.imports.bulk import bulk_insert
from core.services import ServiceContext


def test_bulk_insert_round_trips_awkward_values(app_ctx):
    table = AuditLog.__table__
    at = datetime(2026, 12, 5, 1, 2, 3, tzinfo=UTC)
    rows = [{"at": at, "source": "cli", "model": "m", "record_id": str(i), "action": "x",
             "changes": {"a": ["\t", "引号\"\\"]}, "message": text}
            for i, text in enumerate(["tab\there", "line\nbreak\r", "back\\slash \\N", None])]
    ids = bulk_insert(table, rows)
    assert len(ids) == 4 and ids == sorted(ids)
    stored = db.session.execute(select(table.c.id, table.c.message, table.c.changes,
                                       table.c.at, table.c.actor_id)
                                .order_by(table.c.id)).all()
    assert [r.id for r in stored] == ids
    assert [r.message for r in stored] == ["tab\there", "line\nbreak\r", "back\\slash \\N",
                                           None]
    assert stored[0].changes == {"a": ["\t", "引号\"\\"]}
    assert stored[0].at.astimezone(UTC) == at and stored[0].actor_id is None


def test_bulk_audit_writes_one_create_row_per_record_with_its_source(app_ctx):
    ctx = ServiceContext.system("job")
    bulk_audit(ctx, AuditLog.__table__, [7, 8], [{"name": "甲", "n": 1}, {"name": "乙", "n": None}],
               "导入 #1", fields=("name", "n"))
    rows = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert [(r.record_id, r.action, r.source, r.message) for r in rows] == [
        ("7", "create", "job", "导入 #1"), ("8", "create", "job", "导入 #1")]
    assert rows[0].changes == {"name": [None, "甲"], "n": [None, 1]}
    assert rows[1].changes == {"name": [None, "乙"]}


def test_bulk_ticket_numbers_stay_unique_across_crowded_seconds(app_ctx):
    from modules.service.services.bulk import _numbers

    ctx = ServiceContext.system("job")
    first, second = _numbers(ctx, 10_000), _numbers(ctx, 10_000)  # two batches of one import
    numbers = first + second
    assert len(set(numbers)) == 20_000
    assert all(n.startswith("AS") and len(n) == 19 for n in numbers)
    assert len({n[:16] for n in numbers}) == 2  # 17,576 suffixes a second, then the next one
