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
