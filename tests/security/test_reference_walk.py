"""Issue 14 #2, the class guard: every id that arrives in input resolves through the same
scoped lookup as a page would.

The walk reads ``/api/v1/openapi.json``: for every operation, each path id and each body field
that is a reference (``…_id``) is tried, as salesperson ``a`` of team 一组, with a record of
salesperson ``c`` of team 二组 and with an id that does not exist. Both must be refused, with
the same status and message (no write onto another team's record, no existence oracle). A
new reference field or an operation without a valid base body fails the walk until it is
listed here."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.extensions import db
from core.security.models import Team
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity

ABSENT = 999_999
# A reference field → which record of the other team stands for it.
TARGETS = {
    "customer_id": "customer", "opportunity_id": "opportunity", "owner_id": "user",
    "team_id": "team", "contact_id": "contact", "user_id": "user", "token_id": "token",
    "order_id": "order", "equipment_id": "equipment", "ticket_id": "ticket",
    "engineer_id": "user", "sales_user_id": "user", "assignee_id": "user",
    "technician_id": "user",
    # The stock catalogue, ledger and requests belong to no team: the other record is a
    # missing one (an unknown id must be refused like any other).
    "part_id": "part", "warehouse_id": "warehouse", "supplier_id": "supplier",
    "move_id": "move", "request_id": "part_request",
    # Webhook subscriptions are the admin's only: for anyone else a 403 whatever the id.
    "webhook_id": "webhook",
    "photo_id": "photo",  # a ticket's photo: seen with its ticket
}
# Valid bodies apart from the reference under test (path ids are ``a``'s own records).
BASE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/customers/{customer_id}/follow-ups"): {"content": "电话沟通方案"},
    ("POST", "/api/v1/opportunities"): {"customer_id": "own", "product_name": "中央空调",
                                        "quantity": 1, "estimated_amount": "1000.00"},
    ("PATCH", "/api/v1/customers/{customer_id}"): {},
    ("POST", "/api/v1/customers"): {"customer_type": "individual", "customer_name": "新客户",
                                    "phone": "13900009999", "customer_level": "normal"},
    ("POST", "/api/v1/pool/customers/{customer_id}/assign"): {},
    ("POST", "/api/v1/users"): {"username": "walker"},
    ("PATCH", "/api/v1/users/{user_id}"): {},
    ("PATCH", "/api/v1/opportunities/{opportunity_id}"): {},
    ("PATCH", "/api/v1/equipment/{equipment_id}"): {},
    ("POST", "/api/v1/equipment/{equipment_id}/maintenance-records"): {
        "work_description": "例行保养"},
    ("POST", "/api/v1/orders"): {"customer_id": "own", "lines": [
        {"product_name": "中央空调", "quantity": 1, "unit_price": "100.00"}]},
    ("PATCH", "/api/v1/orders/{order_id}"): {},
    ("POST", "/api/v1/tickets"): {"customer_id": "own", "ticket_type": "repair",
                                  "subject": "走查工单"},
    ("POST", "/api/v1/tickets/{ticket_id}/collaborators"): {},
    ("POST", "/api/v1/tickets/{ticket_id}/photos"): {"data": "data:image/png;base64,"
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"},
    ("POST", "/api/v1/tickets/{ticket_id}/transfer"): {},
    ("POST", "/api/v1/part-requests"): {"items": [{"part_id": "own", "quantity": 1}]},
    ("POST", "/api/v1/part-requests/{request_id}/approve"): {},
    ("POST", "/api/v1/parts"): {"part_code": "WALK-NEW", "part_name": "走查配件"},
    ("PATCH", "/api/v1/parts/{part_id}"): {},
    ("POST", "/api/v1/parts/{part_id}/checkout"): {"quantity": 1, "warehouse_id": "own"},
    ("POST", "/api/v1/purchase-orders"): {"supplier_id": "own", "warehouse_id": "own",
                                          "lines": [{"part_id": "own", "quantity": 1}]},
    ("POST", "/api/v1/stock/receipts"): {"part_id": "own", "warehouse_id": "own",
                                         "quantity": 1},
    ("POST", "/api/v1/stock/returns"): {"part_id": "own", "warehouse_id": "own",
                                        "quantity": 1},
}


def _world(people: dict[str, Any], who: str = "a") -> dict[str, dict[str, int]]:
    from modules.crm.services.contacts import add_contact
    from tests.modules.crm.factories import act

    mine = make_customer(people["a"])
    theirs = make_customer(people["c"])
    own_opp = make_opportunity(mine, people["a"])
    their_opp = make_opportunity(theirs, people["c"])
    own_contact = act(people["a"], add_contact, mine.id, {"name": "甲", "phone": "13900001234"})
    their_contact = act(people["c"], add_contact, theirs.id,
                        {"name": "乙", "phone": "13900004321"})
    team2 = db.session.scalar(db.select(Team.id).where(Team.name == "二组"))
    team1 = db.session.scalar(db.select(Team.id).where(Team.name == "一组"))
    world = {
        "own": {"customer": mine.id, "opportunity": own_opp.id, "user": people["a"].id,
                "team": team1, "contact": own_contact.id, "token": ABSENT,
                **_module_records(people["a"], mine), **_stock_records(people["manager"]),
                "webhook": ABSENT - 3},
        "foreign": {"customer": theirs.id, "opportunity": their_opp.id, "user": people["c"].id,
                    "team": team2, "contact": their_contact.id, "token": ABSENT - 1,
                    **_module_records(people["c"], theirs),
                    **dict.fromkeys(SHARED, ABSENT - 2)},
    }
    world["foreign"].update(dict.fromkeys(SEEN_BY.get(who, ()), ABSENT - 2))
    return world


SHARED = ("part", "warehouse", "supplier", "move", "part_request", "webhook")
# Records a caller sees whatever their team (the manager dispatches every ticket: service's
# record rules leave him all of them); for him the other record is a missing one.
SEEN_BY = {"manager": ("ticket", "photo")}


def _module_records(owner: Any, customer: Any) -> dict[str, int]:
    """``owner``'s pending order and installed equipment, and a ticket of ``customer``."""
    import base64

    from core.services import ServiceContext
    from core.services import unit_of_work
    from modules.service.services.photos import add_photo
    from tests.modules.equipment.factories import installed_equipment
    from tests.modules.sales.factories import make_order
    from tests.modules.service.factories import make_ticket

    ticket = make_ticket(customer)
    ctx = ServiceContext.system("cli")
    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/"
                           "pLvAAAAAElFTkSuQmCC")
    with unit_of_work(ctx):
        photo = add_photo(ctx, ticket.id, png, "intake")
    return {"order": make_order(owner, customer).id,
            "equipment": installed_equipment(owner, customer=customer)[0].id,
            "ticket": ticket.id, "photo": photo.id}


def _stock_records(requester: Any) -> dict[str, int]:
    """The shared stock records: a part with stock in a warehouse, a supplier, the receipt
    and a part request (of ``requester``)."""
    from core.services import unit_of_work
    from modules.stock.services import catalogue
    from tests.modules.stock import factories as stock

    part, warehouse = stock.make_part("WALK-OWN"), stock.make_warehouse()
    ctx = stock.system()
    with unit_of_work(ctx):
        supplier = catalogue.create_supplier(ctx, "走查供应商")
    return {"part": part.id, "warehouse": warehouse.id, "supplier": supplier.id,
            "move": stock.receive(part, warehouse, 5).id,
            "part_request": stock.make_request(requester, part).id}


def _url(path: str, ids: dict[str, int], override: tuple[str, int] | None = None) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if override and override[0] == name:
            return str(override[1])
        return str(ids[TARGETS[name]])

    return re.sub(r"{(\w+)}", repl, path)


def _refusal(response: Any) -> tuple[int, str]:
    body = response.json or {}
    error = body.get("error", {})
    return response.status_code, str(error.get("message"))


@pytest.mark.parametrize("who", ["a", "manager"])
def test_every_reference_in_input_is_scoped(client, people, api, who):
    """As salesperson ``a`` and as the manager of his team (who may assign, within it)."""
    world = _world(people, who)
    own, foreign = world["own"], world["foreign"]
    doc = client.get("/api/v1/openapi.json").json
    caller = api(who)
    tried = []
    for path, items in doc["paths"].items():
        for method, op in items.items():
            method = method.upper()
            names = re.findall(r"{(\w+)}", path)
            unknown = [n for n in names if n not in TARGETS]
            assert not unknown, f"{method} {path}: add {unknown} to TARGETS"
            ref = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            schema = ref.get("schema", {}).get("$ref", "")
            props = (doc["components"]["schemas"][schema.rsplit("/", 1)[1]]["properties"]
                     if schema else {})
            fields = [f for f in props if f.endswith("_id") and f != "tax_id"]
            assert not [f for f in fields if f not in TARGETS], f"{method} {path}: {fields}"
            # Path ids: another team's record answers like a missing one.
            for name in names:
                if method == "DELETE" and name == "token_id":
                    continue
                body = _base(method, path, own) if fields or method != "GET" else None
                a = caller.open(_url(path, own, (name, foreign[TARGETS[name]])),
                                method=method, json=body)
                b = caller.open(_url(path, own, (name, ABSENT)), method=method, json=body)
                assert a.status_code >= 400 or (method == "GET" and name in ("user_id",)), \
                    (method, path, name, a.status_code, a.json)
                if a.status_code >= 400:
                    assert _refusal(a) == _refusal(b), (method, path, name, a.json, b.json)
                tried.append((method, path, name))
            # Body references.
            for name in fields:
                assert (method, path) in BASE_BODIES, f"add a valid body for {method} {path}"
                base = _base(method, path, own)
                url = _url(path, own)
                a = caller.open(url, method=method, json={**base, name: foreign[TARGETS[name]]})
                b = caller.open(url, method=method, json={**base, name: ABSENT})
                assert a.status_code >= 400, (method, path, name, a.status_code, a.json)
                assert _refusal(a) == _refusal(b), (method, path, name, a.json, b.json)
                tried.append((method, path, name))
    assert ("POST", "/api/v1/customers/{customer_id}/follow-ups", "opportunity_id") in tried
    assert ("POST", "/api/v1/opportunities", "customer_id") in tried


def _base(method: str, path: str, own: dict[str, int]) -> dict[str, Any]:
    def fill(body: dict[str, Any]) -> dict[str, Any]:
        return {k: own[TARGETS[k]] if v == "own" else
                [fill(x) for x in v] if isinstance(v, list) else v for k, v in body.items()}

    return fill(BASE_BODIES.get((method, path), {}))


def test_a_follow_up_cannot_point_at_another_teams_opportunity(client, people, api):
    """The finding itself: 201 and a write onto that opportunity's page before."""
    world = _world(people)
    url = f"/api/v1/customers/{world['own']['customer']}/follow-ups"
    theirs = api("a").post(url, json={"content": "x",
                                      "opportunity_id": world["foreign"]["opportunity"]})
    missing = api("a").post(url, json={"content": "x", "opportunity_id": ABSENT})
    assert theirs.status_code == missing.status_code == 422
    assert theirs.json["error"] == missing.json["error"]
    ok = api("a").post(url, json={"content": "x",
                                  "opportunity_id": world["own"]["opportunity"]})
    assert ok.status_code == 201


# Form fields that carry a record id, and how each is scoped. A new one fails the walk below
# until it is listed here with a test of its own.
FORM_REFERENCES = {
    ("CustomerForm", "owner_id"): "service: _check_owner (may_assign before existence)",
    ("OpportunityForm", "customer_id"): "choices are the customers the actor may see",
    ("UserForm", "team_id"): "admin pages only (core.user.manage)",
    ("TeamForm", "manager_id"): "admin pages only (core.user.manage)",
    ("OrderForm", "customer_id"): "service: crm's scoped get_customer (refused as missing)",
    ("OrderForm", "engineer_id"): "service: _user_id(role='engineer'), others refused as missing",
    ("TicketForm", "customer_id"): "choices and service: the customers the actor may see",
    ("TicketForm", "assignee_id"): "service: service.ticket.assign, then _user (who handles "
                                   "tickets; others refused as missing)",
}


def test_every_form_reference_field_is_listed(app_ctx):
    from flask_wtf import FlaskForm

    import core.web.admin_users  # noqa: F401
    import modules.crm.web.forms  # noqa: F401
    import modules.crm.web.opportunities  # noqa: F401

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    found = set()
    for form in subclasses(FlaskForm):
        if not form.__module__.startswith(("core.", "modules.")):
            continue
        for name in dir(form):
            if name.endswith("_id") and name != "tax_id" and hasattr(
                    getattr(form, name), "field_class"):
                found.add((form.__name__, name))
    assert found <= set(FORM_REFERENCES), sorted(found - set(FORM_REFERENCES))
    assert ("OpportunityForm", "customer_id") in found


def test_forms_refuse_another_teams_ids_like_missing_ones(client, people):
    from tests.conftest import login

    world = _world(people)
    login(client, people["a"])
    answers = []
    for customer in (world["foreign"]["customer"], ABSENT):
        page = client.post("/crm/opportunities/new", data={
            "customer_id": customer, "product_name": "越权商机", "quantity": "1",
            "estimated_amount": "100"})
        answers.append((page.status_code, "越权商机" in page.get_data(as_text=True)))
    assert answers[0] == answers[1] and answers[0][0] == 200  # the form again, refused
    own = world["own"]["customer"]
    for owner in (world["foreign"]["user"], ABSENT):
        page = client.post(f"/crm/customers/{own}/edit", data={
            "customer_type": "individual", "customer_name": "改", "phone": "13900005555",
            "customer_level": "normal", "status": "active", "owner_id": str(owner)})
        answers.append(page.status_code)
    assert answers[2] == answers[3] and answers[2] != 302
    from modules.crm.models.customer import Customer
    from modules.crm.models.opportunity import Opportunity

    db.session.expire_all()
    assert db.session.get(Customer, own).owner_id == people["a"].id
    assert not db.session.scalars(db.select(Opportunity).where(
        Opportunity.product_name == "越权商机")).all()


def test_order_and_ticket_forms_refuse_another_teams_ids_like_missing_ones(client, people):
    """The order form's customer and engineer, the ticket form's customer and (for the
    manager, who may dispatch) assignee: another team's record answers like a missing one,
    and nothing is written."""
    from modules.sales.models import Order
    from modules.service.models import Ticket
    from tests.conftest import login

    world = _world(people)
    own, foreign = world["own"], world["foreign"]
    line = {"line-0-product_name": "越权订单", "line-0-quantity": "1",
            "line-0-unit_price": "100"}
    orders, tickets = db.session.scalar(db.select(db.func.count(Order.id))), \
        db.session.scalar(db.select(db.func.count(Ticket.id)))

    def answers(url: str, field: str, base: dict[str, Any]) -> list[int]:
        kind = "customer" if field == "customer_id" else "user"
        return [client.post(url, data={**base, field: str(value)}).status_code
                for value in (foreign[kind], ABSENT)]

    login(client, people["a"])
    for field, base in (("customer_id", line),
                        ("engineer_id", {**line, "customer_id": own["customer"]})):
        assert answers("/sales/orders/new", field, base) == [200, 200], field
    ticket = {"ticket_type": "repair", "subject": "越权工单"}
    assert answers("/service/tickets/new", "customer_id", ticket) == [200, 200]
    client.get("/logout")
    login(client, people["manager"])
    assert answers("/service/tickets/new", "assignee_id",
                   {**ticket, "customer_id": own["customer"]}) == [200, 200]
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Order.id))) == orders
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == tickets
    # The same forms with the caller's own records go through.
    ok = client.post("/service/tickets/new", data={**ticket, "customer_id": own["customer"]})
    assert ok.status_code == 302, ok.get_data(as_text=True)[:300]
    ok = client.post("/sales/orders/new", data={**line, "customer_id": own["customer"]})
    assert ok.status_code == 302, ok.get_data(as_text=True)[:300]
