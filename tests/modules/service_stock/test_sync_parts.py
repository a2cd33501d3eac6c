"""Part requests from the engineer's offline pages: queued as ``part_request`` and applied
by the sync batch through the stock service (the service_stock bridge), answered applied /
conflict / error like the service's own actions; the phone page offers the form."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.service.api import out
from modules.service.services import sync
from modules.service.services import tickets as svc
from modules.stock.models import PartRequest
from tests.conftest import login
from tests.modules.crm.factories import api_callers
from tests.modules.service.factories import act
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import make_ticket
from tests.modules.service.factories import service_people
from tests.modules.service.factories import set_settings
from tests.modules.stock.factories import make_part


@pytest.fixture
def people(app_ctx, make_user):
    set_settings(dispatch_mode="manual")
    return service_people(make_user)


@pytest.fixture
def mine(people):
    ticket = make_ticket(make_customer(people["sales"]))
    act(people["li"], svc.claim_ticket, ticket.id)
    return ticket


def _batch(user, actions):
    ctx = ServiceContext(actor=user, source="api")
    with unit_of_work(ctx):
        return sync.apply_batch(ctx, actions, out)


def test_offline_part_request_is_applied_through_the_stock_service(people, mine):
    part = make_part("AC-FILTER-001")
    results = _batch(people["li"], [
        {"id": "a", "type": "part_request", "ticket_id": mine.id,
         "payload": {"part_code": "ac-filter-001", "quantity": "2", "notes": "离线申请"}},
        {"id": "b", "type": "part_request", "ticket_id": mine.id,
         "payload": {"part_code": "NO-SUCH-PART", "quantity": 1}},
        {"id": "c", "type": "part_request", "ticket_id": mine.id,
         "payload": {"items": [{"part_id": part.id, "quantity": 1, "urgency": "urgent"}]}},
    ])
    assert [r["status"] for r in results] == ["applied", "error", "applied"], results
    rows = list(db.session.scalars(select(PartRequest).where(PartRequest.ticket_id == mine.id)
                                   .order_by(PartRequest.id)))
    assert [(r.status, r.requester_id, r.lines[0].quantity, r.urgency) for r in rows] == [
        ("pending", people["li"].id, 2, "normal"), ("pending", people["li"].id, 1, "urgent")]
    assert rows[0].notes == "离线申请"
    # The ticket's timeline is unchanged until the keeper decides (as for a web request).


def test_offline_part_request_on_a_ticket_taken_or_finished_meanwhile_conflicts(people, mine):
    make_part("AC-FILTER-001")
    act(people["manager"], svc.transfer_ticket, mine.id, people["zhang"].id, "改派")
    late = _batch(people["li"], [{"id": "x", "type": "part_request", "ticket_id": mine.id,
                                  "assignee_id": people["li"].id,
                                  "payload": {"part_code": "AC-FILTER-001", "quantity": 1}}])
    assert late[0]["status"] == "conflict" and "张工" in late[0]["message"]
    act(people["zhang"], svc.resolve_ticket, mine.id)
    act(people["manager"], svc.close_ticket, mine.id)
    done = _batch(people["zhang"], [{"id": "y", "type": "part_request", "ticket_id": mine.id,
                                     "payload": {"part_code": "AC-FILTER-001",
                                                 "quantity": 1}}])
    assert done[0]["status"] == "conflict"
    assert db.session.scalar(select(PartRequest.id)) is None


def test_api_sync_and_phone_page_form(client, people, mine):
    make_part("AC-FILTER-001")
    api = api_callers(client, people)
    r = api("li").post("/api/v1/sync/batch", json={"actions": [
        {"id": "p1", "type": "part_request", "ticket_id": mine.id,
         "payload": {"part_code": "AC-FILTER-001", "quantity": 1}}]})
    assert r.status_code == 200 and r.get_json()["results"][0]["status"] == "applied"
    act(people["li"], svc.start_service, mine.id)
    login(client, people["li"])
    html = client.get("/service/today").get_data(as_text=True)
    assert 'data-offline="part_request"' in html and "申请配件" in html
    detail = client.get(f"/service/tickets/{mine.id}").get_data(as_text=True)
    assert '<div class="card mb-3" id="ticket-parts">' in detail  # markup, not escaped text

