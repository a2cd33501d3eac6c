"""Issue 14 #1 and #15 in crm: a deleted customer's opportunities, quotes and comments go
with it, the confirmation says so, and a new record never shows the old one's history."""

from __future__ import annotations

from sqlalchemy import select

from core.audit import AuditLog
from core.extensions import db
from core.timeline import Comment
from core.timeline import add_comment
from core.timeline import timeline
from modules.crm.models.opportunity import Opportunity
from modules.crm.services.customers import delete_customer
from tests.conftest import login
from tests.modules.crm.factories import act
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity


def test_deleting_a_customer_says_and_drops_everything_and_ids_are_not_reused(client, people):
    old = make_customer(people["a"], customer_name="旧客户")
    opp = make_opportunity(old, people["a"], product_name="旧产品")
    act(people["a"], add_comment, "crm_opportunity", str(opp.id), "旧的私密备注")
    act(people["a"], add_comment, "crm_customer", str(old.id), "客户备注")
    login(client, people["admin"])
    page = client.get(f"/crm/customers/{old.id}").get_data(as_text=True)
    assert "1 个商机" in page and "1 个联系人" not in page  # counts in the confirmation
    act(people["admin"], delete_customer, old.id)
    assert db.session.scalar(select(Opportunity).where(Opportunity.id == opp.id)) is None
    assert db.session.scalars(select(Comment)).all() == []
    assert db.session.scalar(select(AuditLog.id).where(
        AuditLog.model == "crm_opportunity", AuditLog.record_id == str(opp.id),
        AuditLog.action == "delete"))  # the deletion itself is on record
    new = make_customer(people["c"], customer_name="新客户")
    new_opp = make_opportunity(new, people["c"], product_name="新产品")
    assert new.id != old.id and new_opp.id != opp.id
    entries = timeline("crm_opportunity", new_opp.id)
    assert not [e for e in entries if "旧" in (e.text + str(e.changes))]
