"""Acceptance: any sequence of receipts, issues, returns, transfers and counts keeps every
on-hand ≥ 0 and equal to the ledger's sum (hypothesis state machine, real database)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.stateful import initialize
from hypothesis.stateful import invariant
from hypothesis.stateful import rule

from core.errors import TandemError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.stock import queries
from modules.stock.services import ledger
from tests.conftest import _clean
from tests.modules.stock.factories import make_part
from tests.modules.stock.factories import make_warehouse

PARTS, WAREHOUSES = 2, 3
qty = st.integers(min_value=1, max_value=8)
part_ix = st.integers(min_value=0, max_value=PARTS - 1)
wh_ix = st.integers(min_value=0, max_value=WAREHOUSES - 1)


@pytest.fixture
def machine_app(app_ctx):  # noqa: ANN001, ANN201
    return app_ctx


def test_on_hand_is_never_negative_and_always_the_ledger_sum(machine_app):
    app = machine_app

    class Ledger(RuleBasedStateMachine):
        @initialize()
        def setup(self) -> None:
            _clean(app)
            self.parts = [make_part().id for _ in range(PARTS)]
            self.whs = [make_warehouse().id for _ in range(WAREHOUSES)]
            self.model: dict[tuple[int, int], int] = {}

        def _run(self, fn, *args) -> bool:  # noqa: ANN001
            ctx = ServiceContext.system("cli")
            try:
                with unit_of_work(ctx):
                    fn(ctx, *args)
                return True
            except TandemError:
                return False

        def _have(self, p: int, w: int) -> int:
            return self.model.get((self.parts[p], self.whs[w]), 0)

        def _add(self, p: int, w: int, n: int) -> None:
            key = (self.parts[p], self.whs[w])
            self.model[key] = self.model.get(key, 0) + n

        @rule(p=part_ix, w=wh_ix, n=qty)
        def receipt(self, p: int, w: int, n: int) -> None:
            assert self._run(ledger.receive, self.parts[p], self.whs[w], n, "10")
            self._add(p, w, n)

        @rule(p=part_ix, w=wh_ix, n=qty)
        def issue(self, p: int, w: int, n: int) -> None:
            done = self._run(ledger.checkout, self.parts[p], self.whs[w], n)
            assert done == (n <= self._have(p, w))
            if done:
                self._add(p, w, -n)

        @rule(p=part_ix, w=wh_ix, n=qty)
        def return_unused(self, p: int, w: int, n: int) -> None:
            assert self._run(ledger.return_parts, self.parts[p], self.whs[w], n)
            self._add(p, w, n)

        @rule(p=part_ix, a=wh_ix, b=wh_ix, n=qty)
        def transfer(self, p: int, a: int, b: int, n: int) -> None:
            done = self._run(ledger.transfer, self.parts[p], self.whs[a], self.whs[b], n)
            assert done == (a != b and n <= self._have(p, a))
            if done:
                self._add(p, a, -n)
                self._add(p, b, n)

        @rule(p=part_ix, w=wh_ix, n=st.integers(min_value=0, max_value=12))
        def count(self, p: int, w: int, n: int) -> None:
            assert self._run(ledger.count, self.whs[w], {self.parts[p]: n})
            self._add(p, w, n - self._have(p, w))

        @invariant()
        def on_hand_is_the_ledger_sum_and_never_negative(self) -> None:
            if not hasattr(self, "parts"):
                return
            db.session.expire_all()
            sums, table = queries.ledger_sums(), queries.on_hand_table()
            keys = {*sums, *table, *self.model}
            assert all(table.get(k, 0) >= 0 for k in keys)
            assert {k: sums.get(k, 0) for k in keys} == {k: table.get(k, 0) for k in keys}
            assert {k: table.get(k, 0) for k in keys} == {k: self.model.get(k, 0) for k in keys}
            from modules.stock.models import Part

            for part in db.session.scalars(db.select(Part)):
                assert part.on_hand_total == sum(q for (p, _w), q in table.items()
                                                 if p == part.id)

    Ledger.TestCase.settings = settings(max_examples=15, stateful_step_count=25, deadline=None,
                                        suppress_health_check=list(HealthCheck))
    Ledger.TestCase().runTest()
