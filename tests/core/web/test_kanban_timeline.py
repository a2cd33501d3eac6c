"""The kanban component and the record timeline, on the demo_a fixture module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from core.extensions import db
from tests.conftest import cleaned_context
from tests.conftest import installed_app
from tests.conftest import login


@pytest.fixture(scope="module")
def board_app(databases: Any, instance_dir: Any) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["demo_a"]) as app:
        yield app


@pytest.fixture
def board(board_app: Any) -> Iterator[Any]:
    with cleaned_context(board_app) as app:
        yield app.test_client()


def _user(username: str, *roles: str) -> Any:
    from core.security.services import create_user
    from core.services import ServiceContext
    from core.services import unit_of_work

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        return create_user(ctx, username, roles=roles, password="secret-pass-1")


def _widgets(rows: list[tuple[str, int | None, str]]) -> None:
    table = db.metadata.tables["demo_a_widget"]
    db.session.execute(table.insert(), [{"name": n, "owner_id": o, "status": s}
                                        for n, o, s in rows])
    db.session.commit()


def test_board_counts_and_cards_follow_the_record_rules(board):
    me, other = _user("s1", "sales"), _user("s2", "sales")
    _widgets([("a", me.id, "new"), ("b", me.id, "new"), ("c", me.id, "doing"),
              ("theirs", other.id, "new")])
    login(board, me)
    page = board.get("/demo-a/board").get_data(as_text=True)
    assert 'data-count="new">2<' in page and 'data-count="doing">1<' in page
    assert "theirs" not in page


def test_each_column_shows_its_newest_cards_up_to_the_limit_and_says_how_many_more(board):
    from core.web.kanban import Kanban

    me = _user("s1", "sales")
    per_column = Kanban.per_column  # the board's default
    _widgets([(f"n{i:02d}", me.id, "new") for i in range(per_column + 3)]
             + [("d1", me.id, "doing"), ("d2", me.id, "doing")])
    login(board, me)
    page = board.get("/demo-a/board").get_data(as_text=True)
    new_column = page.split('data-status="new"')[1].split('data-status="doing"')[0]
    shown = [f"n{i:02d}" for i in range(per_column + 3) if f">n{i:02d}<" in new_column]
    assert shown == [f"n{i:02d}" for i in range(3, per_column + 3)]  # the newest ones
    assert new_column.index(f">n{per_column + 2:02d}<") < new_column.index(">n03<")
    assert "还有 3 条" in new_column
    doing = page.split('data-status="doing"')[1]
    assert doing.index(">d2<") < doing.index(">d1<") and "还有" not in doing


def test_moving_a_card_calls_the_service_and_a_refusal_is_json(board):
    me = _user("s1", "sales")
    _widgets([("a", me.id, "new"), ("finished", me.id, "done")])
    login(board, me)
    table = db.metadata.tables["demo_a_widget"]
    ids = dict(db.session.execute(select(table.c.name, table.c.id)).all())
    assert board.post("/demo-a/board/move", json={"id": ids["a"], "status": "doing"}).json == {
        "ok": True}
    refused = board.post("/demo-a/board/move", json={"id": ids["finished"], "status": "new"})
    assert refused.status_code == 400
    assert refused.json["error"]["message"] == "已完成的小部件不能再移动"
    db.session.expire_all()
    assert dict(db.session.execute(select(table.c.name, table.c.status)).all()) == {
        "a": "doing", "finished": "done"}


def test_timeline_merges_audit_and_comments(board):
    me = _user("s1", "sales")
    login(board, me)
    _widgets([("w", me.id, "new")])
    table = db.metadata.tables["demo_a_widget"]
    wid = db.session.scalar(select(table.c.id))
    board.post("/demo-a/board/move", json={"id": wid, "status": "doing"})
    response = board.post(f"/timeline/demo_a_widget/{wid}/comments",
                          data={"body": "客户催了一次", "next": f"/demo-a/widgets/{wid}"})
    assert response.status_code == 302
    page = board.get(f"/demo-a/widgets/{wid}").get_data(as_text=True)
    assert "客户催了一次" in page
    assert "new → doing" in page
    assert page.index("客户催了一次") < page.index("new → doing")  # newest first


def test_comments_on_records_the_user_cannot_see_are_404(board):
    me, other = _user("s1", "sales"), _user("s2", "sales")
    _widgets([("theirs", other.id, "new")])
    wid = db.session.scalar(select(db.metadata.tables["demo_a_widget"].c.id))
    login(board, me)
    assert board.post(f"/timeline/demo_a_widget/{wid}/comments",
                      data={"body": "x"}).status_code == 404
    assert board.post("/timeline/core_user/1/comments", data={"body": "x"}).status_code == 404


def test_column_totals_filters_and_the_move_menu(board, board_app):
    """Each column's count and sum of ``amount`` in one GROUP BY through the record rules;
    a filter from the query string narrows the board; every card has a 移动到… menu."""
    from demo_a.models import Widget

    from core.services import ServiceContext
    from core.web.kanban import Kanban
    from core.web.listview import Filter

    me, other = _user("s1", "sales"), _user("s2", "sales")
    _widgets([("a", me.id, "new"), ("b", me.id, "new"), ("c", me.id, "doing"),
              ("theirs", other.id, "new")])
    ids = dict(db.session.execute(select(Widget.name, Widget.id)).all())
    names = {"a": "a", "b": "b", "c": "c"}
    kanban = Kanban(Widget, Widget.status, {"new": "新建", "doing": "进行中", "done": "完成"},
                    title=lambda w: w.name, move_endpoint="demo_a_board.move",
                    amount=Widget.id, reasons={"done": "完成说明"},
                    filters=[Filter("name", "名称", Widget.name, names, translate=False)])
    ctx = ServiceContext(actor=me, source="web")
    assert kanban.totals(ctx, select(Widget)) == {
        "new": (2, ids["a"] + ids["b"]), "doing": (1, ids["c"]), "done": (0, 0)}
    with board_app.test_request_context("/?name=b"):
        from flask_login import login_user

        login_user(me)
        page = kanban.render(ctx, select(Widget), title="看板")
    assert f'data-sum="new">¥{ids["b"]:,.2f}<' in page
    assert 'data-count="new">1<' in page and 'data-count="doing">0<' in page
    assert 'data-reason-label="完成说明"' in page and 'id="kanban-reason"' in page
    assert page.count("data-move-to=") == 3  # one card, one item per column
    with board_app.test_request_context("/?name=zzz"), pytest.raises(Exception) as bad:
        kanban.filtered(select(Widget))
    assert getattr(bad.value, "code", None) == 400
