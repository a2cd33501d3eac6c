"""The navbar's global search: searchers of installed modules, filtered by permission, each
scoped by record rules; grouped results on a page and as the dropdown's JSON."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import or_
from sqlalchemy import select

from core.extensions import db
from core.registration import Searcher
from core.registration import SearchHit
from modules.crm.models.customer import Customer
from tests.conftest import login
from tests.modules.crm.factories import make_customer


def _customers(ctx: Any, term: str, limit: int) -> list[SearchHit]:
    """A fixture searcher written as a module would: through ``ctx.scoped``."""
    stmt = ctx.scoped(select(Customer).where(or_(Customer.customer_name.ilike(f"%{term}%"),
                                                 Customer.phone.like(f"%{term}%")))
                      .order_by(Customer.id).limit(limit), Customer)
    return [SearchHit(c.customer_name, f"/crm/customers/{c.id}", c.phone or "")
            for c in db.session.scalars(stmt)]


@pytest.fixture
def searchers(app_ctx: Any, monkeypatch: Any) -> list[Searcher]:
    registry = app_ctx.extensions["tandem_registry"]
    found = [Searcher("t.customers", "客户", _customers, permission="crm.customer.read"),
             Searcher("t.admin", "用户", lambda ctx, term, limit: [SearchHit("只给管理员", "/u")],
                      permission="core.user.manage", sequence=200)]
    monkeypatch.setattr(registry, "searchers", found)
    return found


def test_a_partial_phone_finds_my_customer_and_never_another_salespersons(client, make_user,
                                                                         searchers):
    a, b = make_user("sales", username="a"), make_user("sales", username="b")
    make_customer(a, customer_name="上海盛安建设", phone="13912345678")
    make_customer(b, customer_name="杭州恒达机电", phone="13912349999")
    login(client, a)
    page = client.get("/search?q=1234").get_data(as_text=True)
    assert "上海盛安建设" in page and "杭州恒达机电" not in page
    assert 'data-searcher="t.customers"' in page and "只给管理员" not in page
    data = client.get("/search/suggest?q=1391234").get_json()
    assert data["groups"] == [{"id": "t.customers", "label": "客户", "failed": False, "hits": [
        {"title": "上海盛安建设", "url": data["groups"][0]["hits"][0]["url"],
         "detail": "13912345678"}]}]
    assert client.get("/search/suggest?q=恒达").get_json()["groups"] == []
    assert "没有找到" in client.get("/search?q=恒达").get_data(as_text=True)


def test_the_searchers_a_user_may_use_and_a_broken_one(client, make_user, searchers, caplog):
    def broken(ctx, term, limit):
        raise RuntimeError("index gone")

    searchers.append(Searcher("t.broken", "工单", broken, sequence=300))
    login(client, make_user("admin", username="root"))
    data = client.get("/search/suggest?q=x").get_json()
    assert [(g["id"], g["failed"]) for g in data["groups"]] == [("t.admin", False),
                                                                 ("t.broken", True)]
    assert client.get("/search?q=x").status_code == 200
    assert any("t.broken" in r.getMessage() for r in caplog.records)


def test_empty_and_long_terms_and_the_navbar_box(client, make_user, searchers):
    login(client, make_user("sales", username="a"))
    assert client.get("/search/suggest?q=").get_json()["groups"] == []
    assert client.get("/search?q=" + "x" * 5000).status_code == 200
    home = client.get("/").get_data(as_text=True)
    assert 'id="global-search"' in home and "search.js" in home
    client.post("/logout")
    assert client.get("/search/suggest?q=x").status_code in (302, 401)


def test_the_core_finds_users_for_those_who_may_read_them(client, make_user):
    make_user("sales", username="li.sales", display_name="李销售", phone="13900001111")
    login(client, make_user("manager", username="boss"))
    data = client.get("/search/suggest?q=0000111").get_json()
    assert [(g["id"], [h["title"] for h in g["hits"]]) for g in data["groups"]] == [
        ("core.users", ["李销售"])]
    client.post("/logout")
    login(client, make_user("sales", username="s9"))
    assert all(g["id"] != "core.users"
               for g in client.get("/search/suggest?q=li").get_json()["groups"])
