"""Handover friction (issue 15): the refusal names and links the open handover; customers
are picked on the page (or all of a person's); receivers are those who may own customers;
the checklist is settled (done, or waived with a note) before review; the page offers only
the actions the reader may take; each step says what happened."""

from __future__ import annotations

import re

import pytest

from core.errors import UserError
from core.errors import ValidationError
from modules.crm import queries
from modules.crm.services import handover as svc
from tests.conftest import login
from tests.modules.crm.factories import act
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import handover_people
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity


@pytest.fixture
def people(app_ctx, make_user):
    people = handover_people(make_user)
    people["engineer"] = make_user("engineer", username="eng")
    people["keeper"] = make_user("warehouse", username="keeper")
    return people


def _start(people, **kwargs):
    return act(people["boss"], svc.start_handover, to_user_id=people["taker"].id,
               from_user_id=people["leaving"].id, reason="resignation", **kwargs)


def test_receivers_are_those_who_may_own_customers(people):
    names = {u.username for u in svc.receivers()}
    assert {"leaving", "taker", "boss", "boss2"} <= names
    assert not names & {"eng", "keeper", "root"}
    make_customer(people["leaving"])
    with pytest.raises(ValidationError, match="不能负责客户"):
        act(people["boss"], svc.start_handover, to_user_id=people["engineer"].id,
            from_user_id=people["leaving"].id, reason="resignation")


def test_the_refusal_names_and_links_the_open_handover(client, people):
    make_customer(people["leaving"])
    first = _start(people)
    with pytest.raises(svc.HandoverBusy) as refused:
        _start(people)
    assert first.number in refused.value.message
    login(client, people["boss"])
    page = client.post("/crm/handovers/new", data={
        "from_user_id": people["leaving"].id, "to_user_id": people["taker"].id,
        "reason": "resignation"}, follow_redirects=True).get_data(as_text=True)
    assert f'href="/crm/handovers/{first.id}"' in page and first.number in page


def test_customers_are_picked_on_the_page(client, people):
    one = make_customer(people["leaving"], customer_name="甲公司")
    make_customer(people["leaving"], customer_name="乙公司")
    login(client, people["boss"])
    page = client.get(f"/crm/handovers/new?from_user_id={people['leaving'].id}")
    html = page.get_data(as_text=True)
    assert "甲公司" in html and "乙公司" in html and 'id="customer-filter"' in html
    receivers = re.search(r'<select[^>]*id="to_user_id".*?</select>', html, re.S).group(0)
    assert "taker" in receivers and "eng" not in receivers and "keeper" not in receivers
    response = client.post("/crm/handovers/new", data={
        "from_user_id": people["leaving"].id, "to_user_id": people["taker"].id,
        "reason": "resignation", "scope": "picked", "customer_ids": [str(one.id)]})
    assert response.status_code == 302
    handover_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    h = queries.get_handover(ctx_for(people["boss"]), handover_id)
    assert [c.customer_id for c in h.customers] == [one.id]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已创建交接单" in page and "1 个客户交给 taker" in page
    nothing = client.post("/crm/handovers/new", data={
        "from_user_id": people["leaving"].id, "to_user_id": people["taker"].id,
        "reason": "resignation", "scope": "picked"}).get_data(as_text=True)
    assert "请至少选择一个客户" in nothing


def test_review_needs_a_settled_checklist_and_a_waiver_needs_a_note(people):
    customer = make_customer(people["leaving"])
    make_opportunity(customer, people["leaving"])
    h = _start(people)
    assert len(svc.open_items(h)) == 2
    with pytest.raises(UserError, match="还有 2 项未完成"):
        act(people["boss"], svc.submit, h.id)
    with pytest.raises(ValidationError, match="豁免的事项需要填写说明：进行中的商机"):
        act(people["boss"], svc.update_checklist, h.id, [0], {}, [1])
    act(people["boss"], svc.update_checklist, h.id, [0], {1: "商机由接收人继续跟进"}, [1])
    h = act(people["boss"], svc.submit, h.id)
    assert h.stage == "review"
    assert h.checklist[1]["waived"] and not h.checklist[1]["done"]


def test_the_page_offers_only_the_readers_actions_and_says_what_happened(client, people):
    make_customer(people["leaving"])
    h = _start(people)
    login(client, people["boss"])
    page = client.get(f"/crm/handovers/{h.id}").get_data(as_text=True)
    actions = set(re.findall(r'data-action="(\w+)"', page))
    assert actions == {"checklist", "submit", "cancel"}
    n = len(h.checklist)  # crm's own items, and any other module's with something open
    done = client.post(f"/crm/handovers/{h.id}/checklist",
                       data={"done": [str(i) for i in range(n)]},
                       follow_redirects=True).get_data(as_text=True)
    assert f"已保存交接清单：{n}/{n} 项已完成或豁免。清单已齐，可以提交审核。" in done
    page = client.post(f"/crm/handovers/{h.id}/submit",
                       follow_redirects=True).get_data(as_text=True)
    assert "已提交审核，等待发起人以外的经理审核。" in page
    assert set(re.findall(r'data-action="(\w+)"', page)) == {"cancel"}  # not 审核通过
    client = client.application.test_client()  # another browser
    login(client, people["boss2"])
    page = client.get(f"/crm/handovers/{h.id}").get_data(as_text=True)
    assert set(re.findall(r'data-action="(\w+)"', page)) == {"approve", "reject", "cancel"}
    page = client.post(f"/crm/handovers/{h.id}/approve",
                       follow_redirects=True).get_data(as_text=True)
    assert "已审核通过，等待 taker 确认接收。" in page
    client = client.application.test_client()
    login(client, people["taker"])
    page = client.get(f"/crm/handovers/{h.id}").get_data(as_text=True)
    assert set(re.findall(r'data-action="(\w+)"', page)) == {"confirm"}
    page = client.post(f"/crm/handovers/{h.id}/confirm",
                       follow_redirects=True).get_data(as_text=True)
    assert "已确认接收：1 个客户已转到 taker 名下。" in page
