"""Kanban columns counted up to a cap (``count_cap``): exact below it, "N+" beyond, in one
statement; boards without a cap keep exact counts."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.services import ServiceContext
from core.web.kanban import Kanban
from modules.service.models import STAGES
from modules.service.models import Ticket
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import make_ticket
from tests.modules.service.factories import service_people
from tests.modules.service.factories import set_settings


def test_capped_column_counts(app_ctx, make_user):
    set_settings(dispatch_mode="manual")
    people = service_people(make_user)
    customer = make_customer(people["sales"])
    for _ in range(3):
        make_ticket(customer)
    ctx = ServiceContext(actor=people["manager"], source="web")
    exact = Kanban(Ticket, Ticket.stage, STAGES, title=str, move_endpoint="service.board_move")
    capped = Kanban(Ticket, Ticket.stage, STAGES, title=str, move_endpoint="service.board_move",
                    count_cap=2)
    assert exact.counts(ctx, select(Ticket)) == {"todo": 3, "doing": 0, "resolved": 0,
                                                 "closed": 0}
    assert capped.counts(ctx, select(Ticket)) == {"todo": 3, "doing": 0, "resolved": 0,
                                                  "closed": 0}  # cap + 1: "2+"
    roomy = Kanban(Ticket, Ticket.stage, STAGES, title=str, move_endpoint="service.board_move",
                   count_cap=10)
    assert roomy.counts(ctx, select(Ticket))["todo"] == 3
    db.session.rollback()


def test_board_page_shows_the_capped_count(client, app_ctx, make_user):
    from modules.service.web import views
    from tests.conftest import login

    set_settings(dispatch_mode="manual")
    people = service_people(make_user)
    customer = make_customer(people["sales"])
    for _ in range(3):
        make_ticket(customer)
    old = views.BOARD.count_cap
    views.BOARD.count_cap = 2
    try:
        login(client, people["manager"])
        html = client.get("/service/board").get_data(as_text=True)
    finally:
        views.BOARD.count_cap = old
    assert 'data-count="todo">2+</span>' in html
    assert 'data-count="doing">0</span>' in html


def test_sparse_columns_sorted_apart_show_the_same_cards(app_ctx, make_user):
    """``few_cards``: a column counted at most that many is ordered by ``id + 0`` (found by
    the record rule's indexes, then sorted); the engineer sees the same newest cards, in
    the same order, as with the plain order, and none the rule hides."""
    set_settings(dispatch_mode="manual")
    people = service_people(make_user)
    customer = make_customer(people["sales"])
    li, zhang = people["li"].id, people["zhang"].id
    tickets = [make_ticket(customer) for _ in range(9)]
    layout = [("todo", "pending", None), ("doing", "accepted", li), ("doing", "accepted", li),
              ("doing", "in_service", zhang), ("resolved", "resolved", li),
              ("resolved", "resolved", zhang), ("closed", "closed", li),
              ("closed", "closed", li), ("closed", "closed", li)]
    for ticket, (stage, status, assignee) in zip(tickets, layout, strict=True):
        ticket.stage, ticket.status, ticket.assignee_id = stage, status, assignee
    db.session.flush()
    ctx = ServiceContext(actor=people["li"], source="web")

    def ids(board: Kanban) -> dict[str, list[int]]:
        counts = board.counts(ctx, select(Ticket))
        return {value: [t.id for t in rows]
                for value, rows in board.cards(ctx, select(Ticket), counts=counts).items()}

    def board(few: int | None, per_column: int = 2) -> Kanban:
        return Kanban(Ticket, Ticket.stage, STAGES, title=str, per_column=per_column,
                      move_endpoint="service.board_move", count_cap=10, few_cards=few)

    t = [x.id for x in tickets]
    expected = {"todo": [t[0]], "doing": [t[2], t[1]], "resolved": [t[4]],
                "closed": [t[8], t[7]]}
    assert ids(board(None)) == expected
    assert ids(board(2)) == expected  # closed (3) walked, the others sorted apart
    assert ids(board(5)) == expected  # every column sorted apart
    db.session.rollback()
