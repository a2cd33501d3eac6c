"""Acceptance: 50 concurrent checkouts of 1 unit against a stock of 10 → exactly 10 issued,
the other 40 refused with a clear message (or queued, through approvals), final on-hand 0,
ledger sum = on-hand. Threads with their own app context and session, on the backend
under test (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading

from sqlalchemy import func
from sqlalchemy import select

from core.errors import TandemError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.stock import queries
from modules.stock.models import PartRequest
from modules.stock.models import StockMove
from modules.stock.services import ledger
from modules.stock.services import requests
from tests.modules.stock.factories import make_part
from tests.modules.stock.factories import make_request
from tests.modules.stock.factories import make_warehouse
from tests.modules.stock.factories import on_hand
from tests.modules.stock.factories import open_ticket
from tests.modules.stock.factories import receive

N, STOCK = 50, 10


def _race(app, work):  # noqa: ANN001, ANN202
    """Run ``work(ctx)`` in N threads at once; return (successes, refusal messages)."""
    barrier = threading.Barrier(N, timeout=60)
    ok, refused, crashed = [], [], []
    lock = threading.Lock()

    def run(i: int) -> None:
        with app.app_context():
            ctx = ServiceContext.system("api")
            try:
                barrier.wait()
                with unit_of_work(ctx):
                    result = work(ctx, i)
                with lock:
                    ok.append(result)
            except TandemError as exc:
                with lock:
                    refused.append(exc.message)
            except Exception as exc:  # noqa: BLE001 - reported below
                with lock:
                    crashed.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not crashed, crashed[:3]
    return ok, refused


def _ledger_equals_on_hand(part, warehouse) -> None:  # noqa: ANN001
    total = db.session.scalar(select(func.sum(StockMove.quantity)).where(
        StockMove.part_id == part.id, StockMove.warehouse_id == warehouse.id))
    assert total == on_hand(part, warehouse)
    sums, table = queries.ledger_sums(), queries.on_hand_table()
    assert all(sums.get(k, 0) == table.get(k, 0) for k in {*sums, *table})
    db.session.refresh(part)
    assert part.on_hand_total == sum(q for (p, _w), q in table.items() if p == part.id)


def test_fifty_concurrent_checkouts_of_one_against_ten(app_ctx):
    part, main = make_part("AC-FILTER-001", part_name="空调滤网"), make_warehouse()
    receive(part, main, STOCK)
    part_id, wh_id, ticket = part.id, main.id, open_ticket()

    ok, refused = _race(app_ctx, lambda ctx, i: ledger.checkout(
        ctx, part_id, wh_id, 1, ticket_id=ticket).id)

    assert len(ok) == STOCK and len(refused) == N - STOCK
    assert all("库存不足" in m and "AC-FILTER-001" in m for m in refused)
    db.session.expire_all()
    assert on_hand(part, main) == 0
    _ledger_equals_on_hand(part, main)
    issues = db.session.scalar(select(func.count()).select_from(StockMove).where(
        StockMove.kind == "issue"))
    assert issues == STOCK


def test_fifty_concurrent_approvals_issue_ten_and_queue_forty_in_order(app_ctx, make_user):
    part, main = make_part("AC-FILTER-001"), make_warehouse()
    receive(part, main, STOCK)
    engineer = make_user("engineer")
    ticket = open_ticket()
    ids = [make_request(engineer, part, 1, ticket_id=ticket).id for i in range(N)]

    ok, refused = _race(app_ctx, lambda ctx, i: requests.approve_request(ctx, ids[i]).status)

    assert refused == [] and len(ok) == N
    assert sorted(ok).count("issued") == STOCK and ok.count("waiting") == N - STOCK
    db.session.expire_all()
    assert on_hand(part, main) == 0
    _ledger_equals_on_hand(part, main)
    # Stock arrives: the queue is served oldest approval first, one by one.
    waiting = list(db.session.scalars(select(PartRequest).where(
        PartRequest.status == "waiting").order_by(PartRequest.queued_at, PartRequest.id)))
    receive(part, main, 3)
    db.session.expire_all()
    served = [r.id for r in waiting if db.session.get(PartRequest, r.id).status == "issued"]
    assert served == [r.id for r in waiting[:3]]
    assert on_hand(part, main) == 0
    _ledger_equals_on_hand(part, main)


def test_opposite_concurrent_transfers_neither_deadlock_nor_lose_stock(app_ctx):
    part, a, b = make_part(), make_warehouse(), make_warehouse()
    receive(part, a, STOCK)
    receive(part, b, STOCK)
    ids = (part.id, a.id, b.id)

    def work(ctx, i):  # noqa: ANN001, ANN202
        source, target = (ids[1], ids[2]) if i % 2 else (ids[2], ids[1])
        return ledger.transfer(ctx, ids[0], source, target, 1)

    ok, refused = _race(app_ctx, work)
    assert len(ok) + len(refused) == N
    db.session.expire_all()
    assert on_hand(part, a) + on_hand(part, b) == 2 * STOCK
    _ledger_equals_on_hand(part, a)
    _ledger_equals_on_hand(part, b)
