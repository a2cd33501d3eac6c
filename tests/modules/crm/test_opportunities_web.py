"""Opportunity pages: list filters and sort, kanban moves, detail, forms, access."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.audit import AuditLog
from core.db import utcnow
from core.extensions import db
from core.services import unit_of_work
from modules.crm.models.opportunity import Opportunity
from tests.conftest import login
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity
from tests.modules.crm.factories import make_people


@pytest.fixture
def sales_pair(app_ctx, make_user):
    return make_user("sales", username="li"), make_user("sales", username="zhao")


def _rows(page: str) -> list[str]:
    """Product names in list order."""
    return re.findall(r"(冷水机组|新风系统|配电柜|中央空调)</a>", page)


@pytest.fixture
def three(client, sales_pair):
    li, zhao = sales_pair
    customer = make_customer(li)
    a = make_opportunity(customer, li, product_name="冷水机组", estimated_amount="360000")
    b = make_opportunity(customer, li, product_name="新风系统", estimated_amount="48000")
    c = make_opportunity(make_customer(zhao), zhao, product_name="配电柜",
                         estimated_amount="67000")
    with unit_of_work(ctx_for(li)):
        db.session.get(Opportunity, a.id).created_at = utcnow() - timedelta(days=40)
        db.session.get(Opportunity, b.id).status = "quoted"
    login(client, li)
    return a, b, c


def test_list_filters_search_and_sort(client, three, sales_pair):
    li, zhao = sales_pair
    page = client.get("/crm/opportunities/").get_data(as_text=True)
    assert _rows(page) == ["新风系统", "冷水机组"]  # newest first; zhao's is not listed
    assert _rows(client.get("/crm/opportunities/?min=100000").get_data(as_text=True)) == [
        "冷水机组"]
    assert _rows(client.get("/crm/opportunities/?max=50000").get_data(as_text=True)) == [
        "新风系统"]
    assert _rows(client.get("/crm/opportunities/?q=新风").get_data(as_text=True)) == ["新风系统"]
    assert _rows(client.get("/crm/opportunities/?status=quoted").get_data(as_text=True)) == [
        "新风系统"]
    since = (utcnow() - timedelta(days=7)).date().isoformat()
    page = client.get(f"/crm/opportunities/?from={since}&status=quoted").get_data(as_text=True)
    assert _rows(page) == ["新风系统"]
    # The filters show what was asked: the chosen status, the date in a date input.
    assert '<option value="quoted" selected>已报价</option>' in page
    assert f'name="from" value="{since}" placeholder="起始日期"' in page and 'type="date"' in page
    assert '<option value="">状态：全部</option>' in page
    assert _rows(client.get(f"/crm/opportunities/?to={since}").get_data(as_text=True)) == [
        "冷水机组"]
    assert _rows(client.get(f"/crm/opportunities/?owner_id={li.id}").get_data(
        as_text=True)) == ["新风系统", "冷水机组"]
    assert _rows(client.get(f"/crm/opportunities/?owner_id={zhao.id}").get_data(
        as_text=True)) == []  # the filter never widens what a user sees
    page = client.get("/crm/opportunities/?sort=estimated_amount").get_data(as_text=True)
    assert _rows(page) == ["新风系统", "冷水机组"]
    page = client.get("/crm/opportunities/?sort=-estimated_amount").get_data(as_text=True)
    assert _rows(page) == ["冷水机组", "新风系统"]
    assert f'<option value="{zhao.id}"' in page  # owner choices
    for bad in ("status=bogus", "sort=password", "min=abc", "from=yesterday"):
        assert client.get(f"/crm/opportunities/?{bad}").status_code == 400
    export = client.get("/crm/opportunities/?export=csv").get_data(as_text=True)
    assert "冷水机组" in export and "配电柜" not in export


def test_kanban_moves_through_the_service_and_refuses_bad_moves(client, three):
    a, _b, c = three
    page = client.get("/crm/opportunities/board").get_data(as_text=True)
    assert 'data-count="new">1<' in page and 'data-count="quoted">1<' in page
    assert "配电柜" not in page
    ok = client.post("/crm/opportunities/board/move", json={"id": a.id, "status": "contacted"})
    assert ok.json == {"ok": True}
    refused = client.post("/crm/opportunities/board/move", json={"id": a.id, "status": "won"})
    assert refused.status_code == 400 and "不能从“已联系”变为“成交”" in refused.json["error"][
        "message"]
    no_reason = client.post("/crm/opportunities/board/move", json={"id": a.id, "status": "lost"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["error"]["fields"]
    hidden = client.post("/crm/opportunities/board/move", json={"id": c.id, "status": "contacted"})
    assert hidden.status_code == 404 and "配电柜" not in hidden.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Opportunity, a.id).status == "contacted"
    assert db.session.get(Opportunity, c.id).status == "new"
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "status"))
    assert (audit.source, audit.changes) == ("web", {"status": ["new", "contacted"]})


def test_detail_page_actions_and_timeline(client, three):
    a, _b, c = three
    assert client.get(f"/crm/opportunities/{c.id}").status_code == 404
    url = f"/crm/opportunities/{a.id}"
    client.post(f"{url}/follow-up", data={"content": "已发送方案", "channel": "visit"})
    client.post(f"{url}/quote", data={"amount": "350000", "valid_until": "2026-12-31"})
    client.post(f"{url}/status", data={"status": "lost"})  # refused: no reason
    page = client.get(url).get_data(as_text=True)
    assert "丢单需要填写原因" in page
    assert "已发送方案" in page and "上门拜访" in page and "¥350,000.00" in page
    assert 'id="timeline"' in page and "报价 ¥350,000.00" in page
    assert 'id="assign-form"' not in page  # sales may not assign
    db.session.expire_all()
    assert db.session.get(Opportunity, a.id).status == "quoted"
    assert client.post(f"/crm/opportunities/{c.id}/follow-up",
                       data={"content": "x"}).status_code == 404


def test_claim_and_assign_from_the_page(client, make_user, app_ctx):
    people = make_people(make_user)
    a, b, manager = people["a"], people["b"], people["manager"]
    opp = make_opportunity(make_customer(a))
    login(client, b)
    page = client.get(f"/crm/opportunities/{opp.id}").get_data(as_text=True)
    assert 'data-action="claim"' in page
    client.post(f"/crm/opportunities/{opp.id}/claim")
    assert "已认领" in client.get(f"/crm/opportunities/{opp.id}").get_data(as_text=True)
    client.post("/logout")
    login(client, a)
    late = client.post(f"/crm/opportunities/{opp.id}/claim", follow_redirects=True)
    assert f"已被{b.name}认领" in late.get_data(as_text=True)
    assert client.get(f"/crm/opportunities/{opp.id}").status_code == 404
    owned = make_opportunity(make_customer(people["c"]), people["c"])
    assert client.post(f"/crm/opportunities/{owned.id}/claim").status_code == 404
    client.post("/logout")
    login(client, manager)
    page = client.get(f"/crm/opportunities/{opp.id}").get_data(as_text=True)
    assert 'id="assign-form"' in page and f'<option value="{people["c"].id}"' not in page
    client.post(f"/crm/opportunities/{opp.id}/assign", data={"owner_id": str(a.id)})
    db.session.expire_all()
    assert db.session.get(Opportunity, opp.id).owner_id == a.id
    client.post(f"/crm/opportunities/{opp.id}/assign", data={"owner_id": str(people["c"].id)})
    db.session.expire_all()
    assert db.session.get(Opportunity, opp.id).owner_id == a.id


def test_create_form(client, sales_pair, make_user):
    li, _ = sales_pair
    customer = make_customer(li)
    login(client, li)
    page = client.get(f"/crm/opportunities/new?customer_id={customer.id}").get_data(
        as_text=True)
    assert 'name="unowned"' not in page  # only assigners announce
    response = client.post("/crm/opportunities/new", data={
        "customer_id": customer.id, "product_name": "精密空调", "quantity": "2",
        "estimated_amount": "92000", "source": "phone", "requirements": "机房"})
    opp = db.session.scalar(select(Opportunity).where(Opportunity.product_name == "精密空调"))
    assert response.headers["Location"].endswith(f"/crm/opportunities/{opp.id}")
    assert (opp.owner_id, opp.quantity, str(opp.estimated_amount)) == (li.id, 2, "92000.00")
    bad = client.post("/crm/opportunities/new", data={
        "customer_id": customer.id, "product_name": "", "quantity": "0"})
    assert bad.status_code == 200 and "请填写产品" in bad.get_data(as_text=True)


def test_opportunity_pages_in_english(client, three):
    """Labels declared as data (statuses, sources, the unclaimed owner) are shown in the
    reader's language, in the list, the kanban, the form and the export."""
    from flask_babel import refresh

    client.post("/locale/en")
    refresh()  # Babel keeps the locale in the app context this test holds across requests
    listed = client.get("/crm/opportunities/").get_data(as_text=True)
    assert "<td>Quoted</td>" in listed and "<td>New</td>" in listed and "已报价" not in listed
    assert "Status: all" in listed and "Board</a>" in listed
    board = client.get("/crm/opportunities/board").get_data(as_text=True)
    assert "Negotiating" in board and "Customer name: " in board and "谈判中" not in board
    form = client.get("/crm/opportunities/new").get_data(as_text=True)
    assert ">Website<" in form and "官网" not in form
    export = client.get("/crm/opportunities/?export=csv").get_data(as_text=True)
    assert "Quoted" in export and "Product" in export and "已报价" not in export


def test_the_owner_choices_follow_users_names_and_roles(client, three, sales_pair, make_user):
    """The owner filter's choices are kept between requests, while no user, name, state or
    role changes (the auth epoch): each such change shows on the next page."""
    from sqlalchemy import text

    def choices() -> dict[str, str]:
        page = client.get("/crm/opportunities/").get_data(as_text=True)
        select_ = page[page.index('name="owner_id"'):]
        return dict(re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>',
                               select_[:select_.index("</select>")]))

    def elsewhere(sql: str, **params: object) -> None:  # another process, a database tool
        with db.engine.begin() as conn:
            conn.execute(text(sql), params)
        db.session.remove()

    li, zhao = sales_pair
    assert choices()[str(zhao.id)] == "zhao"
    wang = make_user("sales", username="wang")
    assert str(wang.id) in choices()
    elsewhere("UPDATE core_user SET display_name = '赵六' WHERE id = :u", u=zhao.id)
    assert choices()[str(zhao.id)] == "赵六"
    elsewhere("UPDATE core_user SET active = :no WHERE id = :u", no=False, u=wang.id)
    assert str(wang.id) not in choices()
    assert client.get(f"/crm/opportunities/?owner_id={wang.id}").status_code == 400
    elsewhere("DELETE FROM core_user_role WHERE user_id = :u", u=zhao.id)
    assert str(zhao.id) not in choices() and str(li.id) in choices()


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_list_cells_are_the_column_writers_html(app_ctx, sales_pair, locale):
    """The opportunity list writes its rows' cells in one piece; they must stay what the
    list's columns would write, for every kind of row (unowned, no amount, never followed
    up, a name to escape) and in either language."""
    from flask_babel import force_locale

    from modules.crm.web.opportunities import LIST
    from modules.crm.web.opportunities import _list_rows
    from modules.crm.web.opportunities import _row_cells

    li, _zhao = sales_pair
    customer = make_customer(li, customer_name="<b>&Co</b>")
    make_opportunity(customer, li, product_name="配电柜 <x>", estimated_amount=None)
    make_opportunity(customer, None, quantity=3)
    won = make_opportunity(customer, li)
    with unit_of_work(ctx_for(li)):
        db.session.get(Opportunity, won.id).status = "won"
        db.session.get(Opportunity, won.id).followed_up_at = utcnow()
    rows = db.session.execute(_list_rows(select(Opportunity), None)).all()
    with app_ctx.test_request_context("/crm/opportunities/"), force_locale(locale):
        generic, written = LIST.column_cells(), _row_cells()
        assert len(rows) == 3
        for row in rows:
            assert written(row) == generic(row)
