"""The home workspace: module cards by kind, permission and record rules, failures shown as
unavailable, and a useful page for a role nothing is installed for."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.registration import CardContent
from core.registration import Kpi
from core.registration import TodoItem
from core.registration import WorkspaceCard
from core.security.models import User
from tests.conftest import login


@pytest.fixture
def cards(app_ctx: Any, monkeypatch: Any) -> list[WorkspaceCard]:
    """The app's cards plus the ones a test appends (restored after the test)."""
    registry = app_ctx.extensions["tandem_registry"]
    cards = list(registry.workspace_cards)
    monkeypatch.setattr(registry, "workspace_cards", cards)
    return cards


def _my_users(ctx: Any) -> CardContent:
    """A to-do list that reads through the actor: only his own name."""
    mine = db.session.scalar(select(func.count()).select_from(User)
                             .where(User.id == ctx.actor_id))
    return CardContent(items=(TodoItem(f"待办-{ctx.actor.username}", "/x", "今天", "今天到期"),),
                       total=mine, more_url="/more")


def test_cards_are_shown_by_kind_to_those_who_may_see_them(client, cards, make_user):
    seen = []

    def kpis(ctx):
        seen.append(ctx.actor.username)
        return CardContent(kpis=(Kpi("本月成交", "¥185,000", "/won", hint="本月"),))

    cards += [
        WorkspaceCard("t.kpi", "销售指标", kpis, kind="kpi", permission="crm.customer.read"),
        WorkspaceCard("t.todo", "今天要跟进", _my_users, kind="todo"),
        WorkspaceCard("t.new", "新建", lambda ctx: CardContent(actions=(("新建客户", "/new"),)),
                      kind="actions", permission="crm.customer.create"),
        WorkspaceCard("t.hidden", "隐藏", lambda ctx: None),
    ]
    sales = make_user("sales", username="sales1")
    login(client, sales)
    page = client.get("/").get_data(as_text=True)
    assert seen == ["sales1"]  # computed with the user's own context
    kpi_row = page.split('id="workspace-kpis"')[1].split('id="workspace-todos"')[0]
    assert "销售指标" in kpi_row and "¥185,000" in kpi_row and 'href="/won"' in kpi_row
    assert "本月" in kpi_row
    assert 'href="/new"' in page.split('id="workspace-actions"')[1]
    todos = page.split('id="workspace-todos"')[1]
    assert "待办-sales1" in todos and "今天到期" in todos and 'data-total="1"' in todos
    assert "隐藏" not in page
    assert 'id="workspace-hint"' not in page

    client.post("/logout")
    engineer = make_user("engineer", username="eng1")
    login(client, engineer)
    page = client.get("/").get_data(as_text=True)
    assert "销售指标" not in page and "新建客户" not in page and seen == ["sales1"]
    assert "待办-eng1" in page


def test_a_failing_card_is_logged_and_shown_unavailable_not_a_500(client, cards, make_user,
                                                                  caplog):
    def broken(ctx):
        db.session.execute(select(func.count()).select_from(User).where(User.id / 0 > 1))
        raise RuntimeError("boom")

    cards += [WorkspaceCard("t.broken", "坏掉的卡片", broken, kind="todo", sequence=1),
              WorkspaceCard("t.after", "之后的卡片", _my_users, kind="todo", sequence=2)]
    login(client, make_user("sales", username="s1"))
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    broken_card = page.split('data-card="t.broken"')[1].split('data-card="t.after"')[0]
    assert "暂时无法显示" in broken_card
    assert "待办-s1" in page  # the next card still works on a clean transaction
    assert any("t.broken" in r.getMessage() for r in caplog.records)


def _crm_only_app(make_app: Any, *users: tuple[str, tuple[str, ...], str]) -> Any:
    """An app with crm alone: nothing an engineer works with (service, equipment, stock)."""
    from core.security.services import create_user
    from core.services import ServiceContext
    from core.services import unit_of_work

    app = make_app(modules=["crm"])
    with app.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            for username, roles, display_name in users:
                create_user(ctx, username, roles=roles, password="secret-pass-1",
                            display_name=display_name)
        db.session.remove()
    return app


def _home(app: Any, username: str) -> str:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": "secret-pass-1"})
    assert response.status_code == 302
    return client.get("/").get_data(as_text=True)


def test_an_engineer_without_his_apps_is_told_what_to_install_and_whom_to_ask(make_app):
    app = _crm_only_app(make_app, ("boss", ("admin",), "王管理"),
                        ("eng1", ("engineer",), "张工"))
    page = _home(app, "eng1")
    hint = page.split('id="workspace-hint"')[1].split("</div>")[0]
    assert "工程师的工作（售后工单、设备与保养）" in hint
    assert "王管理" in hint and "去安装应用" not in hint
    assert 'data-card="core.notifications"' in page  # the core's own card is there too


def test_an_engineer_with_his_apps_gets_their_cards_not_the_hint(client, make_user):
    login(client, make_user("engineer", username="eng1"))
    page = client.get("/").get_data(as_text=True)
    assert 'id="workspace-hint"' not in page


def test_the_admin_sees_the_system_card_and_a_link_to_install_apps(make_app):
    app = _crm_only_app(make_app, ("root", ("admin", "engineer"), "超管"))
    page = _home(app, "root")
    system = page.split('data-card="core.admin"')[1]
    assert "已安装应用" in system and "失败的后台任务" in system
    assert "/admin/jobs" in system and "/admin/users" in system
    assert "去安装应用" in page


def test_unread_notifications_card_lists_them(client, make_user):
    from core import notify
    from core.services import ServiceContext
    from core.services import unit_of_work

    user = make_user("sales", username="s1")
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        notify.notify(ctx, [user], "客户即将回收", "上海盛安建设 3 天后回收", url="/crm/x")
    login(client, user)
    card = client.get("/").get_data(as_text=True).split('data-card="core.notifications"')[1]
    assert "客户即将回收" in card and 'href="/crm/x"' in card and 'data-total="1"' in card


def test_an_administrator_alone_gets_his_overview_without_the_hint(client, make_user):
    login(client, make_user("admin", username="root2"))
    page = client.get("/").get_data(as_text=True)
    assert 'data-card="core.admin"' in page and 'id="workspace-hint"' not in page
