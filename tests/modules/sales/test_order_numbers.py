"""Order numbers under concurrency: many transactions creating orders at once (some of them
rolling back) get unique numbers with no gap (PostgreSQL: real concurrent transactions)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.sales.models import Order
from modules.sales.services.orders import create_order
from tests.conftest import backend
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import make_customer
from tests.modules.sales.factories import line


class _Rollback(Exception):
    pass


def _sequence(numbers: list[str]) -> list[int]:
    days = {n[2:10] for n in numbers}
    assert len(days) == 1, numbers
    return sorted(int(n[10:]) for n in numbers)


@pytest.mark.skipif(backend() != "postgresql", reason="concurrent writers need PostgreSQL")
def test_concurrent_orders_never_duplicate_or_skip_a_number(app, people):
    customer = make_customer(people["a"])
    workers, per_worker = 8, 4
    barrier = threading.Barrier(workers, timeout=20)
    made: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        with app.app_context():
            from core.security.models import User

            user = db.session.get(User, people["a"].id)
            barrier.wait()
            try:
                for i in range(per_worker):
                    try:
                        with unit_of_work(ctx := ctx_for(user, "api")):
                            order = create_order(ctx, {"customer_id": customer.id,
                                                       "lines": [line()]})
                            if (n + i) % 3 == 0:  # this one rolls back: its number too
                                raise _Rollback
                        with lock:
                            made.append(order.order_no)
                    except _Rollback:
                        pass
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    stored = list(db.session.scalars(select(Order.order_no)))
    assert sorted(stored) == sorted(made)
    assert len(set(made)) == len(made)
    assert _sequence(made) == list(range(1, len(made) + 1))  # no duplicate, no gap
    assert len(made) < workers * per_worker  # some did roll back


def test_a_rolled_back_order_gives_its_number_back(people):
    customer = make_customer(people["a"])
    ctx = ctx_for(people["a"])
    with pytest.raises(_Rollback), unit_of_work(ctx):
        create_order(ctx, {"customer_id": customer.id, "lines": [line()]})
        raise _Rollback
    with unit_of_work(ctx := ServiceContext(actor=people["a"], source="web")):
        order = create_order(ctx, {"customer_id": customer.id, "lines": [line()]})
    assert order.order_no.endswith("0001")
