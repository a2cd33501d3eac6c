"""crm's business rules follow permissions, not role codes: a role an admin creates and
grants the permissions gets the behaviour, whatever it is called."""

from __future__ import annotations

import itertools

import pytest

from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.extensions import db
from core.security.models import Role
from core.security.models import RolePermission
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm import queries
from modules.crm.services import customers as customer_service
from modules.crm.services import handover as handover_service
from tests.modules.crm.factories import act
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import handover_people
from tests.modules.crm.factories import make_customer

_codes = itertools.count(1)


def _role_with(*permissions: str) -> str:
    """A new role granted ``permissions`` (and nothing else); its code."""
    code = f"custom{next(_codes)}"
    with unit_of_work(ServiceContext.system("cli")):
        db.session.add(Role(code=code, label=code, module="core"))
        db.session.flush()
        db.session.add_all(RolePermission(role_code=code, permission=p) for p in permissions)
    return code


@pytest.fixture
def people(app_ctx, make_user):
    return handover_people(make_user)


def test_handovers_are_all_visible_to_whoever_may_review_them(people, make_user):
    make_customer(people["leaving"])
    handover = act(people["boss"], handover_service.start_handover,
                   to_user_id=people["taker"].id, from_user_id=people["leaving"].id,
                   reason="resignation")
    reviewer = make_user(_role_with("crm.handover.read", "crm.handover.review"))
    reader = make_user(_role_with("crm.handover.read"))

    assert queries.get_handover(ctx_for(reviewer), handover.id).id == handover.id
    assert [h.id for h in queries.list_handovers(ctx_for(reviewer))] == [handover.id]
    with pytest.raises(NotFoundError):
        queries.get_handover(ctx_for(reader), handover.id)
    assert queries.list_handovers(ctx_for(reader)) == []
    # the people taking part see it without the permission
    assert queries.get_handover(ctx_for(people["taker"]), handover.id).id == handover.id


def test_a_role_without_customer_record_rules_changes_customers_by_its_grants(people,
                                                                              make_user):
    customer = make_customer(people["leaving"])
    support = make_user(_role_with("crm.customer.read", "crm.customer.write"))
    changed = act(support, customer_service.update_customer, customer.id,
                  {"industry": "医疗"})
    assert changed.industry == "医疗"
    reader = make_user(_role_with("crm.customer.read"))
    with pytest.raises(PermissionDenied):
        act(reader, customer_service.update_customer, customer.id, {"industry": "教育"})


def test_assigning_to_team_members_needs_the_assign_permission(people, make_user):
    """The boss gives a customer to a member of his team by ``crm.customer.assign``; a
    role with the same grants but no assign permission only keeps customers itself."""
    customer = make_customer(people["leaving"])
    moved = act(people["boss"], customer_service.update_customer, customer.id,
                {"owner_id": people["taker"].id})
    assert moved.owner_id == people["taker"].id
    owners = {u.id for u in queries.assignable_owners(ctx_for(people["boss"]))}
    assert {people["boss"].id, people["taker"].id, people["leaving"].id} <= owners
    assert {u.id for u in queries.assignable_owners(ctx_for(people["taker"]))} == {
        people["taker"].id}


def test_new_opportunities_are_announced_to_the_holders_of_the_permission(people, make_user):
    from sqlalchemy import select

    from core.notify.models import Notification
    from tests.modules.crm.factories import make_opportunity

    listener = make_user(_role_with("crm.opportunity.announced"))
    salesperson = make_user("sales")
    make_opportunity(make_customer(people["leaving"]))  # unowned: announced
    told = set(db.session.scalars(select(Notification.recipient_id)))
    assert {listener.id, salesperson.id} <= told
    assert people["boss"].id not in told  # managers do not hold it by default
