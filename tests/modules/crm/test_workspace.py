"""crm's workspace cards and searchers: figures through the record rules, links to the
filtered lists, and a partial phone that finds one's own customer and never another
salesperson's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm.models.customer import FollowUp
from modules.crm.services.follow_ups import add_follow_up
from modules.crm.services.opportunities import add_quote
from modules.crm.services.opportunities import change_status
from modules.crm.workspace import follow_ups_card
from modules.crm.workspace import local_today
from modules.crm.workspace import my_opportunities_card
from modules.crm.workspace import search_customers
from modules.crm.workspace import search_opportunities
from modules.crm.workspace import team_card
from tests.conftest import login
from tests.modules.crm.factories import act
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity


@pytest.fixture
def req(app):
    with app.test_request_context("/"):
        yield


def _kpis(content):
    return {k.label: k.value for k in content.kpis}


@pytest.mark.usefixtures("req")
def test_my_opportunities_and_the_team_through_the_record_rules(people):
    a, b, c = people["a"], people["b"], people["c"]
    mine = make_opportunity(make_customer(a), a, estimated_amount="100000")
    make_opportunity(make_customer(a), a, estimated_amount="50000.50")
    won = make_opportunity(make_customer(a), a, estimated_amount="276000")
    act(a, add_quote, won.id, "185000")
    act(a, change_status, won.id, "won")
    make_opportunity(make_customer(b), b, estimated_amount="70000")
    make_opportunity(make_customer(c), c, estimated_amount="999999")  # another team
    make_opportunity(make_customer(None), None, estimated_amount="1000")  # unclaimed
    figures = _kpis(my_opportunities_card(ctx_for(a)))
    assert figures == {"进行中的商机": "2", "进行中金额": "¥15.00万", "本月成交": "1",
                       "本月成交额": "¥18.50万"}  # the won quote, not the estimate
    team = _kpis(team_card(ctx_for(people["manager"])))
    assert team["进行中的商机"] == "3" and team["进行中金额"] == "¥22.00万"
    assert team["待认领商机"] == "1"
    assert mine.id  # the link is the board filtered by owner
    links = {k.label: k.url for k in my_opportunities_card(ctx_for(a)).kpis}
    assert links["进行中的商机"] == f"/crm/opportunities/board?owner_id={a.id}"


@pytest.mark.usefixtures("req")
def test_follow_ups_due_today_and_overdue_are_mine_and_latest(people):
    a, b = people["a"], people["b"]
    today = local_today(ServiceContext.system())
    due = make_customer(a, customer_name="今天要跟的客户")
    late = make_customer(a, customer_name="逾期的客户")
    done = make_customer(a, customer_name="已经又跟进过的客户")
    later = make_customer(a, customer_name="下周再跟的客户")
    theirs = make_customer(b, customer_name="别人的客户")
    ctx = ctx_for(a)
    with unit_of_work(ctx):
        now = ctx.now
        add_follow_up(ctx, due.id, {"content": "报价", "follow_up_at": now - timedelta(days=3),
                                    "next_follow_up_date": today})
        add_follow_up(ctx, late.id, {"content": "方案", "follow_up_at": now - timedelta(days=5),
                                     "next_follow_up_date": today - timedelta(days=2)})
        add_follow_up(ctx, done.id, {"content": "一", "follow_up_at": now - timedelta(days=5),
                                     "next_follow_up_date": today - timedelta(days=1)})
        add_follow_up(ctx, done.id, {"content": "二", "follow_up_at": now - timedelta(hours=1)})
        add_follow_up(ctx, later.id, {"content": "三", "follow_up_at": now - timedelta(days=1),
                                      "next_follow_up_date": today + timedelta(days=7)})
    with unit_of_work(ctx_for(b)):
        add_follow_up(ctx_for(b), theirs.id, {"content": "四", "next_follow_up_date": today,
                                              "follow_up_at": now - timedelta(days=1)})
    card = follow_ups_card(ctx_for(a))
    assert card.total == 2
    assert [(i.title, i.badge) for i in card.items] == [("逾期的客户", "逾期 2 天"),
                                                        ("今天要跟的客户", "今天")]
    assert card.more_url == "/crm/customers/?follow=due"
    assert db.session.query(FollowUp).count() == 6


def test_the_due_list_is_the_cards_list(client, people):
    a = people["a"]
    customer = make_customer(a, customer_name="今天要跟的客户")
    make_customer(a, customer_name="不用跟的客户")
    ctx = ctx_for(a)
    with unit_of_work(ctx):
        add_follow_up(ctx, customer.id, {"content": "报价", "next_follow_up_date":
                                         local_today(ctx),
                                         "follow_up_at": ctx.now - timedelta(days=1)})
    login(client, a)
    page = client.get("/crm/customers/?follow=due").get_data(as_text=True)
    assert "今天要跟的客户" in page and "不用跟的客户" not in page


@pytest.mark.usefixtures("req")
def test_search_by_partial_phone_never_finds_another_salespersons_customer(people):
    a, c = people["a"], people["c"]
    mine = make_customer(a, customer_name="甲方", phone="13912345678")
    make_customer(c, customer_name="别组的客户", phone="13912349999")
    pool = make_customer(None, customer_name="公海客户", phone="13912340000")
    hits = search_customers(ctx_for(a), "1234", 10)
    assert {h.title for h in hits} == {"甲方", "公海客户"}  # own and pool, not c's
    assert {h.title for h in search_customers(ctx_for(c), "1391234", 10)} == {
        "别组的客户", "公海客户"}
    assert search_customers(ctx_for(a), "9999", 10) == []
    [hit] = search_customers(ctx_for(a), "甲", 10)
    assert hit.url == f"/crm/customers/{mine.id}" and hit.detail.startswith(mine.number)
    assert pool.status == "in_pool"


@pytest.mark.usefixtures("req")
def test_search_opportunities_by_number_or_product(people):
    a, c = people["a"], people["c"]
    opp = make_opportunity(make_customer(a), a, product_name="冷水机组")
    other = make_opportunity(make_customer(c), c, product_name="冷水机组")
    assert [h.title for h in search_opportunities(ctx_for(a), "冷水", 10)] == [
        f"{opp.number} 冷水机组 × 10"]
    assert len(search_opportunities(ctx_for(a), opp.number, 10)) == 1
    assert search_opportunities(ctx_for(a), other.number, 10) == []


@pytest.mark.usefixtures("req")
def test_kpi_amounts_in_wan_from_ten_thousand_yuan_on():
    from decimal import Decimal

    from modules.crm.workspace import money_short

    assert money_short(Decimal("98000")) == "¥98,000.00"
    assert money_short(Decimal("185000")) == "¥18.50万"
    assert money_short(Decimal("19013000")) == "¥1,901.30万"
