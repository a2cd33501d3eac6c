"""Customer handover: start from a departing user, checklist, stages and who may act,
ownership moving in one transaction, customer notices and history."""

from __future__ import annotations

import pytest
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from core.errors import PermissionDenied
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.notify.models import Notification
from modules.crm import queries
from modules.crm.models.customer import Customer
from modules.crm.models.opportunity import Opportunity
from modules.crm.services import handover as handover_service
from modules.crm.services.opportunities import change_status
from tests.conftest import login
from tests.modules.crm.factories import act
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import handover_people
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity


@pytest.fixture
def people(app_ctx, make_user):
    return handover_people(make_user)



def settle(user, h):
    """Tick every checklist item off (submitting needs a settled checklist)."""
    act(user, handover_service.update_checklist, h.id, list(range(len(h.checklist))))

def test_full_handover_moves_customers_and_open_opportunities(people):
    leaving, taker = people["leaving"], people["taker"]
    c1 = make_customer(leaving, phone="13900001111")
    c2 = make_customer(leaving)
    open_opp = make_opportunity(c1, leaving)
    won_opp = make_opportunity(c2, leaving)
    act(leaving, change_status, won_opp.id, "quoted")
    act(leaving, change_status, won_opp.id, "won")
    h = act(
        people["boss"],
        handover_service.start_handover,
        to_user_id=taker.id,
        from_user_id=leaving.id,
        reason="resignation",
    )
    counts = {item["title"]: item["count"] for item in h.checklist}
    crm_own = {t: counts.pop(t, None) for t in ("客户基本信息", "进行中的商机")}
    assert crm_own == {"客户基本信息": 2, "进行中的商机": 1}
    if "sales" in current_app.extensions["tandem_registry"].installed:
        assert counts.pop("未完成订单") == 1  # the won opportunity's order
    assert "未结售后工单" not in counts  # other modules list only what is open
    settle(people["boss"], h)
    act(people["boss"], handover_service.submit, h.id)
    with pytest.raises(PermissionDenied, match="发起人不能审核"):
        act(people["boss"], handover_service.review, h.id, True)
    with pytest.raises(ValidationError, match="退回需要填写意见"):
        act(people["boss2"], handover_service.review, h.id, False)
    act(people["boss2"], handover_service.review, h.id, True, "同意")
    with pytest.raises(PermissionDenied, match="只有接收人"):
        act(people["boss"], handover_service.confirm, h.id)
    act(taker, handover_service.confirm, h.id)
    db.session.expire_all()
    assert {c.owner_id for c in db.session.scalars(select(Customer))} == {taker.id}
    assert db.session.get(Opportunity, open_opp.id).owner_id == taker.id
    assert db.session.get(Opportunity, won_opp.id).owner_id == leaving.id  # closed: kept
    if "sales" in current_app.extensions["tandem_registry"].installed:  # its open order moves
        from modules.sales.models import Order

        assert {o.sales_user_id for o in db.session.scalars(select(Order))} == {taker.id}
    handover = queries.get_handover(ctx_for(people["boss"]), h.id)
    assert handover.stage == "completed"
    assert [s.action for s in handover.steps] == [
        "start", "checklist", "submit", "approve", "confirm"]
    notices = db.session.scalars(
        select(Notification).where(Notification.address == "13900001111")
    ).all()
    assert len(notices) == 1 and "taker" in notices[0].body


def test_notices_are_in_each_readers_language_and_the_history_in_the_default(people):
    leaving, taker = people["leaving"], people["taker"]
    taker.locale = "en"  # the recipient, who confirms
    db.session.commit()
    make_customer(leaving)
    h = act(people["boss"], handover_service.start_handover, to_user_id=taker.id, from_user_id=leaving.id,
            reason="resignation")
    settle(people["boss"], h)
    act(people["boss"], handover_service.submit, h.id)
    act(people["boss2"], handover_service.review, h.id, True, "同意")
    with force_locale("en"):  # as in his request
        act(taker, handover_service.confirm, h.id)
    sent = {(n.recipient_id, n.subject) for n in db.session.scalars(select(Notification))}
    assert (taker.id, f"Please confirm customer handover {h.number}") in sent
    assert (leaving.id, f"客户交接 {h.number} 已完成") in sent
    done = db.session.scalar(select(Notification).where(Notification.recipient_id == leaving.id,
                                                         Notification.subject.like("%已完成")))
    assert done.body == "1 个客户，0 个进行中商机"
    handover = queries.get_handover(ctx_for(people["boss"]), h.id)
    assert handover.steps[-1].comment == "1 个客户，0 个进行中商机"  # not the taker's English


def test_rejected_handover_goes_back_to_preparation(people):
    make_customer(people["leaving"])
    h = act(
        people["boss"],
        handover_service.start_handover,
        to_user_id=people["taker"].id,
        from_user_id=people["leaving"].id,
        reason="position_change",
    )
    settle(people["boss"], h)
    act(people["boss"], handover_service.submit, h.id)
    act(people["boss2"], handover_service.review, h.id, False, "客户清单不全")
    assert queries.get_handover(ctx_for(people["boss"]), h.id).stage == "preparation"
    with pytest.raises(UserError):
        act(people["taker"], handover_service.confirm, h.id)


def test_sales_cannot_start_a_handover(people):
    with pytest.raises(PermissionDenied):
        act(
            people["taker"],
            handover_service.start_handover,
            to_user_id=people["taker"].id,
            from_user_id=people["leaving"].id,
            reason="resignation",
        )


def test_handover_pages(client, people):
    make_customer(people["leaving"])
    login(client, people["boss"])
    response = client.post(
        "/crm/handovers/new",
        data={
            "from_user_id": people["leaving"].id,
            "to_user_id": people["taker"].id,
            "reason": "resignation",
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "交接清单" in page and "客户基本信息" in page
    assert client.get("/crm/handovers/").status_code == 200
