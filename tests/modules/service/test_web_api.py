"""Ticket pages and the REST API: list with filters, kanban counts and moves, detail with
the action log, the action buttons, the new-ticket form, the phone page, the survey page,
the workspace cards and the search; /api/v1/tickets and its actions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.extensions import db
from core.notify.models import Notification
from modules.service.models import Ticket
from modules.service.services import tickets as svc
from tests.conftest import login
from tests.modules.crm.factories import api_callers
from tests.modules.service.factories import act
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import make_ticket
from tests.modules.service.factories import service_people
from tests.modules.service.factories import set_settings


@pytest.fixture
def people(app_ctx, make_user):
    set_settings(dispatch_mode="manual")
    return service_people(make_user)


@pytest.fixture
def api(client, people):
    return api_callers(client, people)


def test_list_board_detail_and_actions(client, people):
    customer = make_customer(people["sales"], customer_name="上海华东电子有限公司")
    ticket = make_ticket(customer, subject="3楼空调制冷不好")
    other = make_ticket(customer, ticket_type="complaint", subject="安装师傅迟到")
    login(client, people["li"])
    page = client.get("/service/tickets?ticket_type=complaint")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert other.ticket_no in html and ticket.ticket_no not in html
    board = client.get("/service/board").get_data(as_text=True)
    assert "待处理" in board and ticket.ticket_no in board
    r = client.post(f"/service/tickets/{ticket.id}/act/claim")
    assert r.status_code == 302
    r = client.post(f"/service/tickets/{ticket.id}/act/progress",
                    data={"percent": "60", "note": "已拆机"})
    detail = client.get(f"/service/tickets/{ticket.id}").get_data(as_text=True)
    assert "服务中" in detail and "已拆机" in detail and "认领" in detail
    r = client.post(f"/service/tickets/{ticket.id}/act/progress", data={"percent": "abc"},
                    follow_redirects=True)
    assert "进度应为 0 到 100 之间的整数" in r.get_data(as_text=True)
    moved = client.post("/service/board/move", json={"id": ticket.id, "status": "resolved"})
    assert moved.status_code == 200
    assert db.session.get(Ticket, ticket.id).status == "resolved"
    refused = client.post("/service/board/move", json={"id": other.id, "status": "todo"})
    assert refused.status_code == 400 and "不能这样移动" in refused.get_json()["error"]["message"]
    assert client.post(f"/service/tickets/{ticket.id}/act/nope").status_code == 404


def test_new_ticket_form(client, people):
    customer = make_customer(people["sales"])
    login(client, people["sales"])
    assert client.get("/service/tickets/new").status_code == 200
    r = client.post("/service/tickets/new", data={
        "customer_id": customer.id, "ticket_type": "repair", "subject": "",
        "complaint_level": "", "assignee_id": 0})
    assert r.status_code == 200 and db.session.scalar(select(Ticket.id)) is None
    r = client.post("/service/tickets/new", data={
        "customer_id": customer.id, "ticket_type": "repair", "subject": "不制冷",
        "complaint_level": "", "assignee_id": 0})
    assert r.status_code == 302
    assert db.session.scalar(select(Ticket.channel)) == "web"


def test_engineer_today_page_and_cards(client, people):
    customer = make_customer(people["sales"], address="上海市浦东新区张江路88号")
    ticket = make_ticket(customer)
    act(people["li"], svc.claim_ticket, ticket.id)
    claimable = make_ticket(customer, subject="热水器漏水")
    login(client, people["li"])
    html = client.get("/service/today").get_data(as_text=True)
    assert ticket.ticket_no in html and "uri.amap.com" in html and claimable.subject in html
    from core.services import ServiceContext
    from modules.service.web.workspace import breaching
    from modules.service.web.workspace import my_tickets
    from modules.service.web.workspace import search
    from modules.service.web.workspace import waiting

    ctx = ServiceContext(actor=people["li"], source="web")
    assert my_tickets(ctx).total == 1
    assert waiting(ctx).total == 1
    assert breaching(ctx).total == 0
    assert [h.url for h in search(ctx, ticket.ticket_no, 5)] == [f"/service/tickets/{ticket.id}"]
    assert search(ServiceContext(actor=people["zhang"], source="web"), ticket.ticket_no, 5) == []


def test_workspace_counts_are_capped(client, people, monkeypatch):
    """Beyond the cap a card counts cap + 1 and shows "cap+" (badge and KPI), as the
    lists; below it the exact number."""
    from core.services import ServiceContext
    from modules.service import queries
    from modules.service.web.workspace import my_tickets
    from modules.service.web.workspace import waiting

    customer = make_customer(people["sales"])
    for _ in range(3):
        act(people["li"], svc.claim_ticket, make_ticket(customer).id)
    make_ticket(customer)  # one to claim
    ctx = ServiceContext(actor=people["li"], source="web")
    assert (my_tickets(ctx).total, my_tickets(ctx).total_label) == (3, "3")
    monkeypatch.setattr(queries, "CARD_COUNT_CAP", 2)
    card = my_tickets(ctx)
    assert (card.total, card.total_label, card.kpis[0].value) == (3, "2+", "2+")
    assert (waiting(ctx).total, waiting(ctx).total_label) == (1, "1")
    login(client, people["li"])
    html = client.get("/").get_data(as_text=True)
    assert 'data-total="3">2+</span>' in html


def test_survey_page_single_use(client, people):
    ticket = make_ticket(make_customer(people["sales"]))
    act(people["li"], svc.claim_ticket, ticket.id)
    act(people["li"], svc.resolve_ticket, ticket.id)
    url = db.session.scalar(select(Notification.url).where(Notification.channel == "sms"))
    assert client.get("/service/survey/not-a-token").status_code == 404
    page = client.get(url)
    assert page.status_code == 200 and "请为本次服务打分" in page.get_data(as_text=True)
    bad = client.post(url, data={"score": "9"})
    assert bad.status_code == 422 and "请选择 1 到 5 分" in bad.get_data(as_text=True)
    done = client.post(url, data={"score": "5", "comment": "很满意"})
    assert "感谢您的评价" in done.get_data(as_text=True)
    again = client.get(url).get_data(as_text=True)
    assert "您已评价过" in again


def test_customer_section(client, people):
    customer = make_customer(people["sales"])
    ticket = make_ticket(customer)
    login(client, people["sales"])
    html = client.get(f"/crm/customers/{customer.id}").get_data(as_text=True)
    assert ticket.ticket_no in html


def test_api_create_claim_and_actions(api, people):
    customer = make_customer(people["sales"])
    r = api("sales").post("/api/v1/tickets", json={
        "customer_id": customer.id, "ticket_type": "repair", "subject": "不制冷"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    tid = body["id"]
    assert body["ticket_no"].startswith("AS") and body["priority"] == "high"
    assert body["status"] == "pending" and body["assignee_id"] is None
    bad = api("sales").post("/api/v1/tickets", json={"customer_id": customer.id,
                                                       "ticket_type": "teleport", "subject": ""})
    assert bad.status_code == 422
    claimed = api("li").post(f"/api/v1/tickets/{tid}/claim")
    assert claimed.status_code == 200
    got = claimed.get_json()
    assert (got["status"], got["assignee_id"], got["assignee_name"]) == \
        ("accepted", people["li"].id, "李工")
    late = api("zhang").post(f"/api/v1/tickets/{tid}/claim")
    assert late.status_code == 409 and "李工" in late.get_json()["error"]["message"]
    assert api("li").post(f"/api/v1/tickets/{tid}/collaborators",
                          json={"user_id": people["zhang"].id}).status_code == 200
    p = api("li").post(f"/api/v1/tickets/{tid}/progress", json={"percent": 40, "note": "检查中"})
    assert p.get_json()["progress"] == 40
    assert api("li").post(f"/api/v1/tickets/{tid}/progress",
                          json={"percent": 140}).status_code == 422
    patched = api("li").patch(f"/api/v1/tickets/{tid}", json={"root_cause": "滤网堵塞"})
    assert patched.get_json()["root_cause"] == "滤网堵塞"
    moved = api("li").post(f"/api/v1/tickets/{tid}/transfer",
                           json={"user_id": people["zhang"].id, "reason": "出差"})
    assert moved.get_json()["assignee_name"] == "张工"
    done = api("zhang").post(f"/api/v1/tickets/{tid}/resolve", json={"solution": "更换滤网"})
    assert done.get_json()["status"] == "resolved"
    listed = api("sales").get("/api/v1/tickets?status=resolved").get_json()
    assert [t["id"] for t in listed["data"]] == [tid]
    assert api("li").get(f"/api/v1/tickets/{tid}").status_code == 404  # not his any more
    assert api("sales").get("/api/v1/tickets/999999").status_code == 404


def test_api_offer_accept_reject(api, people):
    customer = make_customer(people["sales"])
    first = make_ticket(customer, assignee_id=None)
    act(people["manager"], svc.assign_ticket, first.id, people["li"].id)
    assert api("li").post(f"/api/v1/tickets/{first.id}/accept").get_json()["status"] == \
        "accepted"
    second = make_ticket(customer)
    act(people["manager"], svc.assign_ticket, second.id, people["li"].id)
    assert api("li").post(f"/api/v1/tickets/{second.id}/reject", json={}).status_code == 422
    r = api("li").post(f"/api/v1/tickets/{second.id}/reject", json={"reason": "请假"})
    assert r.status_code == 200 and r.get_json()["assignee_id"] != people["li"].id


def test_equipment_section(client, people, make_user):
    from core.services import ServiceContext
    from core.services import unit_of_work
    from modules.equipment.models import Equipment

    customer = make_customer(people["sales"])
    with unit_of_work(ServiceContext.system("cli")):
        unit = Equipment(equipment_no="EQ-9", customer_id=customer.id, serial_number="SN-9")
        db.session.add(unit)
    ticket = make_ticket(customer, equipment_serial="SN-9")
    login(client, make_user("admin"))
    page = client.get(f"/equipment/{unit.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "维修与保养工单" in html and ticket.ticket_no in html


def test_ticket_pickers_list_who_serves_and_choose_no_one_by_default(client, people,
                                                                       make_user):
    """The transfer / collaborator pickers list the people whose roles handle tickets (not
    an administrator, not a salesperson), without the assignee, and start on a placeholder:
    a click on 转派 without a choice hands the ticket to no one."""
    admin = make_user("admin", username="root", display_name="系统管理员")
    customer = make_customer(people["sales"])
    ticket = make_ticket(customer)
    login(client, people["li"])
    client.post(f"/service/tickets/{ticket.id}/act/claim")
    page = client.get(f"/service/tickets/{ticket.id}").get_data(as_text=True)
    transfer = page.split('id="transfer-form"')[1].split("</form>")[0]
    assert '<option value="" selected disabled>' in transfer and " required>" in transfer
    assert f'value="{people["zhang"].id}"' in transfer
    assert f'value="{people["li"].id}"' not in transfer  # the assignee himself
    assert f'value="{admin.id}"' not in transfer and f'value="{people["sales"].id}"' not in page
    refused = client.post(f"/service/tickets/{ticket.id}/act/transfer",
                          data={"user_id": "", "reason": ""}, follow_redirects=True)
    assert "同事不存在、已停用或不处理工单" in refused.get_data(as_text=True)
    assert db.session.get(Ticket, ticket.id).assignee_id == people["li"].id


def test_a_customer_past_the_first_names_can_be_the_new_tickets(client, people, monkeypatch):
    """The form's select offers the first customers by name; one opened from a customer's
    page (or posted back) is offered too when the user sees him — not refused as
    "not a valid choice"; one he does not see is not."""
    from modules.crm import queries

    monkeypatch.setattr(queries, "CHOICES", 1)
    make_customer(people["sales"], customer_name="A 公司")
    late = make_customer(people["sales"], customer_name="Z 公司")
    hidden = make_customer(people["manager"], customer_name="B 公司")
    login(client, people["sales"])
    page = client.get(f"/service/tickets/new?customer_id={late.id}").get_data(as_text=True)
    assert "Z 公司" in page and "A 公司" in page and "B 公司" not in page
    r = client.post("/service/tickets/new", data={
        "customer_id": late.id, "ticket_type": "repair", "subject": "不制冷",
        "complaint_level": "", "assignee_id": 0})
    assert r.status_code == 302
    assert db.session.scalar(select(Ticket.customer_id)) == late.id
    assert "B 公司" not in client.get(
        f"/service/tickets/new?customer_id={hidden.id}").get_data(as_text=True)
