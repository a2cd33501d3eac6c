"""Issue 19 #5 on PostgreSQL: concurrent writers, one long transaction that takes an early
record id and commits late, and a consumer polling all along. The consumer, stopping and
resuming by cursor, gets every event once, and replaying the feed gives the database's
final state (so conflicting writes to one record are served in their commit order)."""

from __future__ import annotations

import itertools
import random
import threading
import time
from typing import Any

import pytest
from sqlalchemy import select

from core.changes import encode_cursor
from core.changes import read_changes
from core.changes.models import ChangeEvent
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm.models.customer import Customer
from tests.conftest import backend
from tests.modules.crm.factories import mobile

pytestmark = pytest.mark.skipif(backend() != "postgresql",
                                reason="commit order under concurrency: PostgreSQL")

WRITERS = 4
ROUNDS = 15
_phones = itertools.count(7000)


def _customer(name: str) -> Customer:
    return Customer(customer_type="individual", customer_name=name, phone=mobile(next(_phones)),
                    customer_level="normal", status="in_pool")


def test_concurrent_writers_and_a_late_long_transaction_miss_and_repeat_nothing(app_ctx):
    app = app_ctx
    with unit_of_work(ServiceContext.system("cli")):
        shared = _customer("共享")
        db.session.add(shared)
    shared_id = shared.id
    start = db.session.scalar(select(db.func.max(ChangeEvent.id))) or 0
    db.session.commit()

    long_flushed = threading.Event()
    release_long = threading.Event()
    writers_done = threading.Event()
    long_committed = threading.Event()
    errors: list[BaseException] = []
    long_id: dict[str, int] = {}
    progress: list[int] = []

    def guarded(fn: Any) -> Any:
        def run() -> None:
            try:
                with app.app_context():
                    fn()
                    db.session.remove()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
        return run

    @guarded
    def long_transaction() -> None:
        with unit_of_work(ServiceContext.system("job")):
            record = _customer("长事务")
            db.session.add(record)
            db.session.flush()  # its id is taken now, before the writers' records
            long_id["id"] = record.id
            long_flushed.set()
            release_long.wait(30)
            record.customer_name = "长事务（提交）"
        long_committed.set()

    def writer(n: int) -> Any:
        @guarded
        def run() -> None:
            rng = random.Random(n)
            mine: list[int] = []
            for i in range(ROUNDS):
                with unit_of_work(ServiceContext.system("api")):
                    if mine and rng.random() < 0.3:
                        db.session.delete(db.session.get(Customer, mine.pop()))
                    elif mine and rng.random() < 0.5:
                        db.session.get(Customer, rng.choice(mine)).customer_name = f"w{n}-{i}"
                    else:
                        record = _customer(f"w{n}-{i}")
                        db.session.add(record)
                        db.session.flush()
                        mine.append(record.id)
                    # Conflicting writes: writers also update one shared record now and
                    # then (not always: that row lock would serialise them entirely).
                    if rng.random() < 0.3:
                        row = db.session.get(Customer, shared_id, with_for_update=True)
                        row.customer_name = f"共享 w{n}-{i}"
                    time.sleep(rng.random() / 200)
                progress.append(n)
                if len(progress) == WRITERS * ROUNDS // 2:
                    release_long.set()  # the long one commits while the others still write
        return run

    consumed: list[dict] = []
    saved = {"cursor": encode_cursor(start)}

    @guarded
    def consumer() -> None:
        """Polls with small pages; every few pages it "restarts", keeping only the cursor."""
        polls = 0
        while True:
            finished = writers_done.is_set() and long_committed.is_set()
            page = read_changes(ServiceContext.system(), saved["cursor"], limit=7)
            db.session.rollback()  # a poll is its own transaction, as an API request
            consumed.extend(page["data"])
            saved["cursor"] = page["meta"]["next_cursor"]
            polls += 1
            if polls % 5 == 0:
                db.session.remove()  # stop and resume: nothing kept but the cursor
            if finished and not page["meta"]["has_more"]:
                return
            if not page["meta"]["has_more"]:
                time.sleep(0.01)

    long_thread = threading.Thread(target=long_transaction)
    long_thread.start()
    assert long_flushed.wait(30)
    threads = [threading.Thread(target=writer(n)) for n in range(WRITERS)]
    reader = threading.Thread(target=consumer)
    for t in [*threads, reader]:
        t.start()
    for t in threads:
        t.join(120)
    writers_done.set()
    release_long.set()
    long_thread.join(60)
    reader.join(120)
    assert not errors, errors

    db.session.expire_all()
    stored = db.session.scalars(select(ChangeEvent).where(ChangeEvent.id > start)
                                .order_by(ChangeEvent.id)).all()
    # Once each, in the stored (commit) order: nothing missed, nothing repeated.
    assert [e["cursor"] for e in consumed] == [encode_cursor(e.id) for e in stored]
    assert len(stored) > WRITERS * ROUNDS
    # The long transaction's record has the smallest new id, yet its event comes after
    # the events of records created later (with larger ids) that committed before it.
    late = [e for e in consumed if e["record_id"] == str(long_id["id"])]
    assert [e["action"] for e in late] == ["create"]
    assert late[0]["data"]["customer_name"] == "长事务（提交）"
    before = consumed[:consumed.index(late[0])]
    newer = [int(e["record_id"]) for e in before
             if e["model"] == "crm_customer" and e["action"] == "create"]
    assert newer and min(newer) > long_id["id"]
    # Replaying the feed gives the database's state: conflicting writes in commit order.
    replica: dict[str, dict | None] = {}
    for e in consumed:
        replica[e["record_id"]] = None if e["action"] == "delete" else e["data"]
    for record_id, data in replica.items():
        row = db.session.get(Customer, int(record_id))
        if data is None:
            assert row is None, record_id
        else:
            assert row is not None and row.customer_name == data["customer_name"], record_id
