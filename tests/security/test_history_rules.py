"""Issue 14 #9, #10: the audit log, timelines, comments and handovers obey the record's
rules: a manager sees the history of what his team may see, nothing of another team's."""

from __future__ import annotations

import pytest

from core.errors import NotFoundError
from core.extensions import db
from core.security.models import Team
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import login
from tests.modules.crm.factories import act
from tests.modules.crm.factories import make_customer


def test_the_audit_log_shows_a_manager_only_his_teams_records(client, people):
    mine = make_customer(people["a"], customer_name="本组客户甲")
    theirs = make_customer(people["c"], customer_name="别组客户乙")
    login(client, people["manager"])
    assert client.get(f"/crm/customers/{theirs.id}").status_code == 404
    page = client.get(f"/admin/audit?model=crm_customer&record_id={theirs.id}")
    assert page.status_code == 200 and "别组客户乙" not in page.get_data(as_text=True)
    export = client.get("/admin/audit?export=csv&model=crm_customer").get_data(as_text=True)
    assert "别组客户乙" not in export and "本组客户甲" in export
    client.post("/logout")
    login(client, people["admin"])
    assert "别组客户乙" in client.get("/admin/audit?export=csv").get_data(as_text=True)
    assert mine.id != theirs.id


def _handover_of_team_two(people, make_user):
    from modules.crm.services import handover as handover_service

    team2 = db.session.scalar(db.select(Team).where(Team.name == "二组"))
    boss = make_user("manager", username="boss-two", team=team2)
    team2.manager_id = boss.id
    db.session.commit()
    taker = make_user("sales", username="taker-two", team=team2)
    make_customer(people["c"])
    return act(boss, handover_service.start_handover, to_user_id=taker.id,
               from_user_id=people["c"].id, reason="resignation")


def test_another_teams_handover_cannot_be_read_reviewed_or_commented(client, people, make_user):
    from core.timeline import add_comment
    from modules.crm.queries import get_handover
    from modules.crm.services import handover as handover_service

    handover = _handover_of_team_two(people, make_user)
    initiator = db.session.get(type(people["c"]), handover.initiator_id)
    act(initiator, handover_service.update_checklist, handover.id,
        list(range(len(handover.checklist))))  # submitting needs a settled checklist
    act(initiator, handover_service.submit, handover.id)
    manager = people["manager"]  # manages team 一组
    with pytest.raises(NotFoundError):
        act(manager, get_handover, handover.id)
    with pytest.raises(NotFoundError):
        act(manager, handover_service.review, handover.id, True, "越权")
    ctx = ServiceContext(actor=manager, source="web")
    with pytest.raises(NotFoundError), unit_of_work(ctx):
        add_comment(ctx, "crm_handover", str(handover.id), "越权备注")
    for who in ("a", "manager"):  # a salesperson of the other team with crm.handover.read too
        ctx = ServiceContext(actor=people[who], source="web")
        with pytest.raises(NotFoundError), unit_of_work(ctx):
            add_comment(ctx, "crm_handover", str(handover.id), "越权备注")
    login(client, manager)
    assert client.get(f"/crm/handovers/{handover.id}").status_code == 404
    response = client.post(f"/timeline/crm_handover/{handover.id}/comments",
                           data={"body": "越权"})
    assert response.status_code == 404
    # The people in it still see it.
    assert act(people["c"], get_handover, handover.id).id == handover.id
