"""``core.imports.bulk``: rows written in bulk (COPY on PostgreSQL) read back as given —
texts with tabs, newlines and backslashes, NULLs, JSON, times — and their audit rows."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy import select

from core.audit import AuditLog
from core.audit import jsonable
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


def test_bulk_rows_feed_their_values_unless_changed_again_before_the_commit(app_ctx):
    """A bulk row's changes-feed event carries its values as inserted (no read-back), in
    the form a read-back gives; a row updated again in the same transaction is read back."""


    from sqlalchemy import update

    from core.changes.models import ChangeEvent
    from modules.crm.models.customer import Customer

    at = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
    rows = [{"customer_type": "enterprise", "customer_name": name, "customer_level": "normal",
             "status": "active", "locked": False, "created_at": at, "updated_at": at}
            for name in ("甲公司", "乙公司")]
    ids = bulk_insert(Customer.__table__, rows)
    db.session.execute(update(Customer).where(Customer.id == ids[1])
                       .values(customer_name="乙公司（改）"))
    db.session.commit()
    events = {e.record_id: e for e in db.session.scalars(
        select(ChangeEvent).where(ChangeEvent.model == "crm_customer"))}
    assert [events[str(i)].action for i in ids] == ["create", "create"]
    stored = {str(r["id"]): {k: jsonable(v) for k, v in r.items()}
              for r in db.session.execute(select(Customer.__table__)).mappings()}
    assert {i: e.data for i, e in events.items()} == stored
    assert events[str(ids[1])].data["customer_name"] == "乙公司（改）"
    assert events[str(ids[0])].data["created_at"] == at.isoformat()



def test_a_large_transaction_writes_its_events_in_the_records_order(app_ctx):
    """Past ``COPY_FROM`` events (an import's batch) the events go in by COPY on PostgreSQL:
    one per record, in the order the records were created, each with its values."""
    from core.changes.capture import COPY_FROM
    from core.changes.models import ChangeEvent
    from modules.crm.models.customer import Customer

    at = datetime(2026, 12, 5, 9, 30, 0, 250000, tzinfo=UTC)
    rows = [{"customer_type": "enterprise", "customer_name": f"客户\t{i}\\", "phone": None,
             "customer_level": "normal", "status": "active", "locked": False,
             "created_at": at, "updated_at": at} for i in range(COPY_FROM + 50)]
    ids = bulk_insert(Customer.__table__, rows)
    db.session.commit()
    events = db.session.scalars(select(ChangeEvent).where(ChangeEvent.model == "crm_customer")
                                .order_by(ChangeEvent.id)).all()
    assert [(e.record_id, e.action, e.changed) for e in events] == \
        [(str(i), "create", []) for i in ids]
    stored = {str(r["id"]): {k: jsonable(v) for k, v in r.items()}
              for r in db.session.execute(select(Customer.__table__)).mappings()}
    assert {e.record_id: e.data for e in events} == stored
    assert events[3].data["customer_name"] == "客户\t3\\"


def test_imports_pause_the_cyclic_collector_until_the_last_one_ends():
    import gc

    from core.imports import _without_cyclic_gc

    assert gc.isenabled()
    with _without_cyclic_gc():
        assert not gc.isenabled()
        with _without_cyclic_gc():  # a second import of the same process
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()  # switched off by someone else: left off
    try:
        with _without_cyclic_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
