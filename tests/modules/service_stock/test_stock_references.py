"""Issue 14 #2 for stock: a ticket or an equipment named on a part request or a checkout is
checked by the stock services (through ``stock_reference_visible``, answered here with the
record rules), so the web form, the API, the chat command and any batch calling the service
are refused alike, with the same answer for a missing record and one the user may not see."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import login
from tests.modules.crm.factories import api_callers
from tests.modules.crm.factories import make_customer
from tests.modules.service.factories import make_engineer
from tests.modules.service.factories import make_ticket
from tests.modules.stock.factories import make_part
from tests.modules.stock.factories import make_warehouse
from tests.modules.stock.factories import open_ticket
from tests.modules.stock.factories import receive

MISSING = 2**31 - 1


@pytest.fixture
def setup(app_ctx: Any, make_user: Any) -> dict[str, Any]:
    """Engineer 张工 and, out of his sight, a ticket assigned to 李工; a part in stock."""
    from modules.service.services.tickets import assign_ticket

    zhang = make_engineer(make_user, "zhang-ref", "张工")
    li = make_engineer(make_user, "li-ref", "李工")
    theirs = make_ticket(make_customer(None))
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        assign_ticket(ctx, theirs.id, li.id)
    part, main = make_part("AC-FILTER-001"), make_warehouse()
    receive(part, main, 10)
    return {"zhang": zhang, "li": li, "theirs": theirs.id, "mine": open_ticket(),
            "part": part, "main": main,
            "keeper": make_user("warehouse", "engineer", username="keeper-eng")}


def _refusal(fn: Any, *args: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as exc:
        fn(*args, **kwargs)
    db.session.rollback()
    return exc.value.fields


def test_the_services_refuse_a_ticket_out_of_sight_like_a_missing_one(setup: Any) -> None:
    from modules.stock.services import ledger
    from modules.stock.services import requests

    as_zhang = ServiceContext(actor=setup["zhang"], source="job")
    items = [{"part_id": setup["part"].id, "quantity": 1}]
    hidden = _refusal(requests.create_request, as_zhang, items, ticket_id=setup["theirs"])
    missing = _refusal(requests.create_request, as_zhang, items, ticket_id=MISSING)
    assert hidden == missing and set(hidden) == {"ticket_id"}
    assert set(_refusal(requests.create_request, as_zhang, items, equipment_id=MISSING)) \
        == {"equipment_id"}

    as_keeper = ServiceContext(actor=setup["keeper"], source="job")
    part, main = setup["part"].id, setup["main"].id
    hidden = _refusal(ledger.checkout, as_keeper, part, main, 1, ticket_id=setup["theirs"])
    missing = _refusal(ledger.checkout, as_keeper, part, main, 1, ticket_id=MISSING)
    assert hidden == missing and set(hidden) == {"ticket_id"}

    # What he may see goes through; nothing was written by the refusals.
    from modules.stock.models import PartRequest
    from modules.stock.models import StockMove

    assert db.session.scalar(select(func.count()).select_from(PartRequest)) == 0
    assert db.session.scalar(select(func.count()).select_from(StockMove)
                             .where(StockMove.kind == "issue")) == 0
    with unit_of_work(as_zhang):
        assert requests.create_request(as_zhang, items, ticket_id=setup["mine"]).ticket_id \
            == setup["mine"]
    with unit_of_work(as_keeper):
        ledger.checkout(as_keeper, part, main, 1, ticket_id=setup["mine"])


def test_web_api_and_chat_answer_alike_for_absent_and_not_yours(setup: Any, client: Any) -> None:
    from core.bot import IncomingMessage
    from core.bot import dispatch
    from modules.stock.models import PartRequest

    part = setup["part"]
    api = api_callers(client, {"zhang": setup["zhang"]})("zhang")
    answers = []
    for ticket in (setup["theirs"], MISSING):
        response = api.post("/api/v1/part-requests",
                            json={"items": [{"part_id": part.id, "quantity": 1}],
                                  "ticket_id": ticket})
        answers.append((response.status_code, response.get_json()))
    assert answers[0] == answers[1] and answers[0][0] == 422

    login(client, setup["zhang"])
    pages = []
    for ticket in (setup["theirs"], MISSING):
        response = client.post("/stock/requests/new", data={
            "part_id": part.id, "quantity": "1", "ticket_id": str(ticket), "purpose": "repair"})
        pages.append((response.status_code, "记录不存在或无权查看" in response.get_data(
            as_text=True)))
    assert pages == [(422, True), (422, True)]

    replies = [dispatch(IncomingMessage(f"#申请配件 AC-FILTER-001 1 工单{ticket}", "zhang-ref",
                                        "g-ref")).to_text()
               for ticket in (setup["theirs"], 999_999_999)]
    assert replies[0] == replies[1] and "记录不存在或无权查看" in replies[0]
    assert db.session.scalar(select(func.count()).select_from(PartRequest)) == 0
