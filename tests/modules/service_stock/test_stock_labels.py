"""Stock's pages name the ticket and the unit of a part request by their number and place
(``stock_reference_labels``, answered by ``service_stock`` with the record rules), and the
usage statistics count parts by equipment model (``equipment_models_select``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.equipment.models import Equipment
from tests.conftest import login
from tests.modules.crm.factories import make_customer
from tests.modules.service.factories import make_ticket
from tests.modules.stock.factories import as_user
from tests.modules.stock.factories import make_part
from tests.modules.stock.factories import make_request
from tests.modules.stock.factories import make_warehouse
from tests.modules.stock.factories import receive
from tests.modules.stock.factories import some_equipment


def test_requests_name_their_ticket_and_unit_and_usage_counts_by_model(
        client: Any, make_user: Any) -> None:
    from modules.stock import queries
    from modules.stock.services import requests as svc

    unit = db.session.get(Equipment, some_equipment(make_user))
    unit.brand, unit.model, unit.install_location = "大金", "RXYQ20BAV", "3楼机房"
    db.session.commit()
    ticket = make_ticket(unit.customer, equipment_id=unit.id, subject="不制冷")
    part = make_part("AC-FILTER-001")
    receive(part, make_warehouse(), 5)
    engineer = make_user("engineer", display_name="张工")
    req = make_request(engineer, part, 2, ticket_id=ticket.id, equipment_id=unit.id)
    keeper = make_user("warehouse")
    as_user(keeper, svc.approve_request, req.id)

    login(client, keeper)
    listing = client.get("/stock/requests").get_data(as_text=True)
    assert f"{ticket.ticket_no} 不制冷" in listing
    detail = client.get(f"/stock/requests/{req.id}").get_data(as_text=True)
    assert f'<a href="/service/tickets/{ticket.id}">{ticket.ticket_no} 不制冷</a>' in detail
    assert f'<a href="/equipment/{unit.id}">3楼机房 大金 RXYQ20BAV</a>' in detail
    part_page = client.get(f"/stock/parts/{part.id}").get_data(as_text=True)
    assert f'<a href="/service/tickets/{ticket.id}">{ticket.ticket_no} 不制冷</a>' in part_page

    by_model = queries.usage_stats(ServiceContext(actor=keeper, source="web"), "model")
    assert [(r["key"], r["quantity"], r["tickets"]) for r in by_model] == [
        ("大金 RXYQ20BAV", 2, 1)]


def test_a_ticket_out_of_sight_is_named_by_its_number_only(client: Any, make_user: Any) -> None:
    """Someone who may not see the ticket gets no label for it (the page shows ``#id``)."""
    from modules.stock import queries

    ticket = make_ticket(make_customer(None))
    outsider = make_user("sales")
    labels = queries.reference_labels(ServiceContext(actor=outsider, source="web"),
                                      "ticket_id", [ticket.id])
    assert labels == {}


def test_the_demo_request_is_for_an_open_ticket_of_its_requester(make_user: Any) -> None:
    from modules.service.models import Ticket
    from modules.service.services.tickets import assign_ticket
    from modules.service_stock.services import link_demo_request
    from tests.modules.service.factories import make_engineer
    from tests.modules.stock.factories import system

    engineer = make_engineer(make_user, "demo-eng", "张工")
    customer = make_customer(None)
    closed, _other, his = (make_ticket(customer) for _ in range(3))
    ctx = system()
    with unit_of_work(ctx):
        assign_ticket(ctx, closed.id, engineer.id)
        assign_ticket(ctx, his.id, engineer.id)
    db.session.get(Ticket, closed.id).status = "closed"
    db.session.commit()
    part = make_part("AC-CAP-035")
    receive(part, make_warehouse(), 3)
    req = make_request(engineer, part, 1)
    with unit_of_work(ctx):
        link_demo_request(ctx)
    assert db.session.get(type(req), req.id).ticket_id == his.id


def test_the_request_form_takes_the_ticket_number_people_write(client: Any,
                                                               make_user: Any) -> None:
    from modules.stock.models import PartRequest

    ticket = make_ticket(make_customer(None))  # open and unassigned: every engineer sees it
    part = make_part("AC-FILTER-001")
    engineer = make_user("engineer")
    login(client, engineer)
    response = client.post("/stock/requests/new", data={
        "part_id_code": part.part_code, "quantity": "1", "ticket_id": ticket.ticket_no.lower(),
        "purpose": "repair"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert db.session.scalar(select(PartRequest.ticket_id)) == ticket.id
    refused = client.post("/stock/requests/new", data={
        "part_id_code": part.part_code, "quantity": "1", "ticket_id": "AS2099",
        "purpose": "repair"})
    assert refused.status_code == 422
    assert "没有找到工单 AS2099" in refused.get_data(as_text=True)
