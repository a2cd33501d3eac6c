"""The stock ledger: receipts, issues, returns, transfers, counts, reversals, moving-average
cost; on-hand never below zero and always the ledger's sum."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from core.errors import ValidationError
from core.extensions import db
from modules.stock import queries
from modules.stock.models import StockMove
from modules.stock.services import ledger
from modules.stock.services.ledger import OutOfStock
from tests.modules.stock.factories import make_part
from tests.modules.stock.factories import make_warehouse
from tests.modules.stock.factories import on_hand
from tests.modules.stock.factories import open_ticket
from tests.modules.stock.factories import receive
from tests.modules.stock.factories import system


def _ledger_matches() -> None:
    sums, table = queries.ledger_sums(), queries.on_hand_table()
    assert {k: sums.get(k, 0) for k in {*sums, *table}} == {
        k: table.get(k, 0) for k in {*sums, *table}}


def test_receipt_issue_return_transfer_count_keep_on_hand_equal_to_ledger(app_ctx):
    part, main, van = make_part("AC-FILTER-001"), make_warehouse(), make_warehouse(kind="other")
    receive(part, main, 10, "20.00")
    ctx = system()
    ledger.checkout(ctx, part.id, main.id, 3, ticket_id=open_ticket())
    ledger.return_parts(ctx, part.id, main.id, 1)
    ledger.transfer(ctx, part.id, main.id, van.id, 2)
    ledger.count(ctx, van.id, {part.id: 1})
    db.session.commit()
    assert on_hand(part, main) == 6 and on_hand(part, van) == 1
    _ledger_matches()
    kinds = [m.kind for m in db.session.query(StockMove).order_by(StockMove.id)]
    assert kinds == ["receipt", "issue", "return", "transfer", "transfer", "adjustment"]


def test_an_issue_beyond_stock_is_refused_with_a_clear_message_and_changes_nothing(app_ctx):
    part, main = make_part("AC-FILTER-001", part_name="空调滤网"), make_warehouse(name="主仓库")
    receive(part, main, 2)
    with pytest.raises(OutOfStock) as refused:
        ledger.checkout(system(), part.id, main.id, 3)
    db.session.rollback()
    assert "库存不足" in refused.value.message and "现有 2" in refused.value.message
    assert on_hand(part, main) == 2
    _ledger_matches()


def test_the_check_constraint_refuses_negative_on_hand_even_in_raw_sql(app_ctx):
    part, main = make_part(), make_warehouse()
    receive(part, main, 1)
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError, wrapped per backend
        db.session.execute(text("UPDATE stock_on_hand SET on_hand = -1"))
        db.session.flush()
    db.session.rollback()


def test_the_ledger_is_insert_only_and_a_reversal_cancels(app_ctx):
    part, main = make_part(), make_warehouse()
    move = receive(part, main, 5)
    row = db.session.get(StockMove, move.id)
    row.quantity = 6
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()
    ctx = system()
    ledger.reverse(ctx, move.id)
    db.session.commit()
    assert on_hand(part, main) == 0
    with pytest.raises(Exception):  # noqa: B017 - reversed once only
        ledger.reverse(ctx, move.id)
    db.session.rollback()


def test_moving_average_cost(app_ctx):
    part, main = make_part(), make_warehouse()
    receive(part, main, 10, "10.00")
    receive(part, main, 10, "20.00")
    db.session.expire_all()
    assert part.average_cost == Decimal("15.0000")
    ledger.checkout(system(), part.id, main.id, 10)
    db.session.commit()
    receive(part, main, 10, "30.00")
    db.session.expire_all()
    assert part.average_cost == Decimal("22.5000")


@pytest.mark.parametrize("bad", ["0", "-1", "1.5", "abc", "", None])
def test_bad_quantities_are_validation_errors(app_ctx, bad):
    part, main = make_part(), make_warehouse()
    with pytest.raises(ValidationError):
        ledger.receive(system(), part.id, main.id, bad)
    db.session.rollback()
