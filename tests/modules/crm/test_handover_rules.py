"""Handover rules beyond the happy path: who may start, review and tick the checklist,
checklist items from other modules, one open handover per customer, customers that moved
meanwhile, notices by the configured channels, and the hook the WeCom bridge listens to."""

from __future__ import annotations

import pytest
from flask import current_app
from sqlalchemy import select

from core import hookimpl
from core.errors import ConflictError
from core.errors import PermissionDenied
from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm import queries
from modules.crm.models.customer import Customer
from modules.crm.services import handover as handover_service
from modules.crm.services.contacts import add_contact
from tests.conftest import login
from tests.modules.crm.factories import act
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import handover_people
from tests.modules.crm.factories import make_customer


@pytest.fixture
def people(app_ctx, make_user):
    return handover_people(make_user)


def _start(people, **kwargs):
    kwargs.setdefault("from_user_id", people["leaving"].id)
    return act(
        people["boss"],
        handover_service.start_handover,
        to_user_id=people["taker"].id,
        reason="resignation",
        **kwargs,
    )


class TicketsAndWeCom:
    """Stands in for a tickets module (checklist) and the WeCom bridge (handed over)."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def handover_checklist_items(self, customer_ids, ctx):
        return [
            {
                "category": "service_tickets",
                "title": "未解决的售后工单",
                "count": 2,
                "detail": "AS1、AS2",
            }
        ]

    @hookimpl
    def customers_handed_over(self, customer_ids, from_user_id, to_user_id, handover_id, ctx):
        self.calls.append((sorted(customer_ids), from_user_id, to_user_id, handover_id))


@pytest.fixture
def plugin(app_ctx):
    pm = current_app.extensions["tandem_registry"].pm
    plugin = TicketsAndWeCom()
    pm.register(plugin, name="test_tickets")
    yield plugin
    pm.unregister(name="test_tickets")



def settle(user, h):
    """Tick every checklist item off (submitting needs a settled checklist)."""
    act(user, handover_service.update_checklist, h.id, list(range(len(h.checklist))))

def test_only_a_manager_of_the_team_or_an_admin_starts_it(people):
    make_customer(people["leaving"])
    with pytest.raises(PermissionDenied, match="本团队"):
        act(
            people["boss2"],
            handover_service.start_handover,
            to_user_id=people["taker"].id,
            from_user_id=people["leaving"].id,
            reason="resignation",
        )
    h = act(
        people["root"],
        handover_service.start_handover,
        to_user_id=people["taker"].id,
        from_user_id=people["leaving"].id,
        reason="resignation",
    )
    assert h.stage == "preparation"


def test_a_customer_is_in_one_open_handover_at_a_time(people):
    customer = make_customer(people["leaving"])
    first = _start(people)
    with pytest.raises(ConflictError, match="进行中的交接单"):
        _start(people, customer_ids=[customer.id])
    act(people["boss"], handover_service.cancel, first.id, "重新发起")
    assert _start(people).stage == "preparation"


def test_checklist_items_from_modules_ticked_by_the_departing_user(people, plugin):
    make_customer(people["leaving"])
    h = _start(people)
    items = {i["category"]: i for i in h.checklist}
    assert items["service_tickets"]["count"] == 2 and not items["service_tickets"]["done"]
    assert items["opportunities"]["done"]  # nothing open: nothing to check
    tickets = [i["category"] for i in h.checklist].index("service_tickets")
    with pytest.raises(PermissionDenied, match="发起人或原负责人"):
        act(people["taker"], handover_service.update_checklist, h.id, [tickets])
    act(
        people["leaving"],
        handover_service.update_checklist,
        h.id,
        list(range(len(h.checklist))),
        {tickets: "两张工单已与客户确认"},
    )
    h = queries.get_handover(ctx_for(people["boss"]), h.id)
    assert all(i["done"] for i in h.checklist)
    assert h.checklist[tickets]["note"] == "两张工单已与客户确认"
    assert [s.action for s in h.steps] == ["start", "checklist"]


class NothingOpen:
    """A module whose checklist item counts nothing (no open tickets for these customers)."""

    @hookimpl
    def handover_checklist_items(self, customer_ids, ctx):
        return [{"category": "empty_tickets", "title": "未结工单", "count": 0, "detail": ""}]


def test_nothing_open_does_not_block_the_handover(people):
    """A module's item counting 0 is left out; crm's own empty item is listed but settled,
    even when the form sends it unticked."""
    pm = current_app.extensions["tandem_registry"].pm
    pm.register(NothingOpen(), name="test_nothing_open")
    try:
        make_customer(people["leaving"])
        h = _start(people)
    finally:
        pm.unregister(name="test_nothing_open")
    items = {i["category"]: i for i in h.checklist}
    assert "empty_tickets" not in items
    assert items["opportunities"]["count"] == 0 and items["opportunities"]["done"]
    empty = [i["category"] for i in h.checklist].index("opportunities")
    others = [i for i in range(len(h.checklist)) if i != empty]
    h = act(people["boss"], handover_service.update_checklist, h.id, others)
    assert h.checklist[empty]["done"] and handover_service.open_items(h) == []
    assert act(people["boss"], handover_service.submit, h.id).stage == "review"


def test_nobody_reviews_a_handover_he_started_not_even_an_admin(people):
    make_customer(people["leaving"])
    h = act(
        people["root"],
        handover_service.start_handover,
        to_user_id=people["taker"].id,
        from_user_id=people["leaving"].id,
        reason="resignation",
    )
    settle(people["root"], h)
    act(people["root"], handover_service.submit, h.id)
    with pytest.raises(PermissionDenied, match="发起人不能审核"):
        act(people["root"], handover_service.review, h.id, True)
    act(people["boss"], handover_service.review, h.id, True)
    assert queries.get_handover(ctx_for(people["boss"]), h.id).stage == "confirmation"


def _to_confirmation(people, h):
    settle(people["boss"], h)
    act(people["boss"], handover_service.submit, h.id)
    act(people["boss2"], handover_service.review, h.id, True, "同意")


def test_confirmation_skips_customers_that_moved_and_tells_modules(people, plugin):
    from modules.pool.services import customers as pool_service

    stays = make_customer(people["leaving"])
    recycled = make_customer(people["leaving"])
    h = _start(people)
    _to_confirmation(people, h)
    act(people["leaving"], pool_service.release, recycled.id, "客户不再需要")
    act(people["taker"], handover_service.confirm, h.id)
    db.session.expire_all()
    assert db.session.get(Customer, stays.id).owner_id == people["taker"].id
    assert db.session.get(Customer, recycled.id).status == "in_pool"
    assert plugin.calls == [([stays.id], people["leaving"].id, people["taker"].id, h.id)]
    last = queries.get_handover(ctx_for(people["boss"]), h.id).steps[-1]
    assert "1 个客户已不在原负责人名下" in last.comment


def test_customers_hear_by_the_configured_channels(people):
    from core.settings import set_setting

    make_customer(people["leaving"], phone="13900002222")
    company = make_customer(people["leaving"], customer_type="enterprise")
    with unit_of_work(ctx := ServiceContext.system("cli")):
        add_contact(
            ctx,
            company.id,
            {
                "name": "王经理",
                "email": "wang@example.com",
                "phone": "13900003333",
                "is_primary": True,
            },
        )
        set_setting("crm.handover.notify_channels", ["email"])
    h = _start(people)
    _to_confirmation(people, h)
    act(people["taker"], handover_service.confirm, h.id)
    notices = db.session.scalars(
        select(Notification).where(Notification.record_model == "crm_customer")
    ).all()
    assert [(n.channel, n.address) for n in notices] == [("email", "wang@example.com")]
    assert int(notices[0].record_id) == company.id  # the individual has no e-mail
    done = db.session.scalars(
        select(Notification).where(Notification.recipient_id == people["leaving"].id)
    ).all()
    assert any("已完成" in n.subject for n in done)


def test_pages_pick_customers_by_number_and_save_the_checklist(client, people):
    first = make_customer(people["leaving"])
    make_customer(people["leaving"])
    login(client, people["boss"])
    response = client.post(
        "/crm/handovers/new",
        data={
            "from_user_id": people["leaving"].id,
            "to_user_id": people["taker"].id,
            "reason": "position_change",
            "customer_refs": f"{first.number}",
        },
    )
    assert response.status_code == 302
    handover_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    h = queries.get_handover(ctx_for(people["boss"]), handover_id)
    assert [c.customer_id for c in h.customers] == [first.id]
    n = len(h.checklist)
    client.post(
        f"/crm/handovers/{handover_id}/checklist",
        data={"done": [str(i) for i in range(n)], "note-0": "已核对"},
    )
    page = client.get(f"/crm/handovers/{handover_id}").get_data(as_text=True)
    assert f"{n}/{n}" in page and "已核对" in page and "完善清单" in page
