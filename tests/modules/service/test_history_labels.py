"""Tickets, engineers' profiles and SLA policies read in people's words in history
(core.history declarations): no field shows under its column name, bookkeeping is hidden,
and a ticket's history in the audit log names its fields, statuses and actions in Chinese."""

from __future__ import annotations

import re

import pytest

from core.history import hidden_fields
from core.history import readable_changes
from core.history import undeclared_fields
from modules.service.models import Engineer
from modules.service.models import SlaPolicy
from modules.service.models import Ticket
from modules.service.services import tickets as svc
from tests.conftest import login
from tests.modules.service.factories import act
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import make_ticket
from tests.modules.service.factories import service_people
from tests.modules.service.factories import set_settings


@pytest.mark.parametrize("model", [Ticket, Engineer, SlaPolicy], ids=lambda c: c.__tablename__)
def test_every_audited_field_has_a_label(app_ctx, model):
    assert undeclared_fields(model) == []
    assert getattr(model, "__label__", None)


def test_bookkeeping_is_hidden(app_ctx):
    assert {"stage", "sla_pauses", "response_minutes", "resolution_minutes"} <= \
        hidden_fields(Ticket)
    assert "last_assigned_at" in hidden_fields(Engineer)


def test_an_engineers_skills_read_as_ticket_types(app_ctx):
    changes = readable_changes(Engineer, {"skills": [["repair"], ["repair", "installation"]],
                                          "on_leave": [False, True]}, {})
    assert [(c.label, c.old, c.new) for c in changes] == [
        ("技能（服务类型）", "维修", "维修、安装"), ("请假", "否", "是")]


def test_a_tickets_history_reads_in_words(client, app_ctx, make_user):
    set_settings(dispatch_mode="manual")
    people = service_people(make_user)
    customer = make_customer(people["sales"])
    ticket = make_ticket(customer)
    act(people["li"], svc.claim_ticket, ticket.id)
    act(people["li"], svc.resolve_ticket, ticket.id, {
        "root_cause": "滤网堵塞", "solution": "更换滤网", "service_hours": "1.5",
        "fee_visit": "80"})
    login(client, make_user("admin"))
    page = client.get(f"/admin/audit?model=service_ticket&record_id={ticket.id}")
    body = page.get_data(as_text=True).split("<tbody>", 1)[1]
    changes = re.findall(r"<li>([^<]*)</li>", body)
    assert "状态：待服务 → 待评价" in changes, changes
    assert "服务时长（小时）：— → 1.50" in changes  # hours, not money
    assert "上门费：¥0.00 → ¥80.00" in changes and "故障原因：— → 滤网堵塞" in changes
    assert f"客户：— → {customer.customer_name}" in changes  # a reference by its title
    assert "服务类型：— → 维修" in changes and "SLA 状态：— → 无 SLA" in changes
    assert not [c for c in changes if re.match(r"[a-z_]+：", c)], changes
    assert "已解决" in body and "ticket_resolve" not in body  # the action's label
