"""A list view that keeps its page statements (``ListView.keep_statements``): built once
per reader, query string and auth epoch, each reader's with his own record rules, and
rebuilt when the epoch moves (a role granted) or the view is given another base."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from core.extensions import db
from tests.conftest import cleaned_context
from tests.conftest import installed_app
from tests.conftest import login


@pytest.fixture(scope="module")
def kept_app(databases: Any, instance_dir: Any) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["demo_a"]) as app:
        yield app


@pytest.fixture
def client(kept_app: Any) -> Iterator[Any]:
    with cleaned_context(kept_app) as app:
        app.extensions.pop("tandem_kept_pages", None)
        yield app.test_client()


def _user(username: str, *roles: str) -> Any:
    from core.security.services import create_user
    from core.services import ServiceContext
    from core.services import unit_of_work

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        return create_user(ctx, username, roles=roles, password="secret-pass-1")


def _widgets(rows: list[tuple[str, int | None]]) -> None:
    table = db.metadata.tables["demo_a_widget"]
    db.session.execute(table.insert(), [{"name": n, "owner_id": o, "status": "new"}
                                        for n, o in rows])
    db.session.commit()


def _hooks(app: Any) -> Any:
    """The fixture module's hooks, as the registry imported them."""
    return sys.modules[app.view_functions["demo_a.widgets_kept"].__module__]


@pytest.fixture
def builds(kept_app: Any, monkeypatch: Any) -> list[str]:
    """The query strings of the pages the view built (rather than took as kept)."""
    from flask import request

    view = _hooks(kept_app)._kept_view()
    built: list[str] = []
    original = type(view)._build_page

    def counted(self: Any, *args: Any) -> Any:
        built.append(request.query_string.decode())
        return original(self, *args)

    monkeypatch.setattr(type(view), "_build_page", counted)
    return built


def _names(client: Any, query: str = "") -> str:
    response = client.get(f"/demo-a/widgets-kept{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_kept_page_statement_is_reused_and_reads_current_rows(client, builds):
    me = _user("s1", "sales")
    _widgets([("alpha", me.id)])
    login(client, me)
    assert "alpha" in _names(client)
    _widgets([("beta", me.id)])  # the kept statement runs again: new rows show
    page = _names(client)
    assert "alpha" in page and "beta" in page and "共 2 条" in page
    assert builds == [""]
    assert "beta" in _names(client, "?q=beta") and "alpha" not in _names(client, "?q=beta")
    assert builds == ["", "q=beta"]


def test_each_reader_has_his_own_kept_statement_with_his_record_rules(client, builds,
                                                                     kept_app):
    me, other = _user("s1", "sales"), _user("s2", "sales")
    _widgets([("mine", me.id), ("theirs", other.id)])
    login(client, me)
    page = _names(client)
    assert "mine" in page and "theirs" not in page
    theirs = kept_app.test_client()  # another browser
    login(theirs, other)
    page = _names(theirs)
    assert "theirs" in page and "mine" not in page
    assert "mine" in _names(client)
    assert len(builds) >= 2  # his own (a login moves the epoch: the first one's again)


def test_a_kept_statement_is_rebuilt_when_the_auth_epoch_moves(client, builds):
    from core.security.services import update_user
    from core.services import ServiceContext
    from core.services import unit_of_work

    me, other = _user("s1", "sales"), _user("s2", "sales")
    _widgets([("mine", me.id), ("theirs", other.id)])
    login(client, me)
    assert "theirs" not in _names(client)
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):  # an admin: no record rule limits him any more
        update_user(ctx, db.session.get(type(me), me.id), roles=["sales", "admin"])
    login(client, me)  # a change of roles ended his sessions
    page = _names(client)
    assert "mine" in page and "theirs" in page
    assert builds == ["", ""]


def test_another_base_statement_is_not_served_a_kept_page(client, builds, monkeypatch,
                                                         kept_app):
    from sqlalchemy import select

    hooks = _hooks(kept_app)
    Widget = hooks.Widget  # noqa: N806 - the fixture module's model
    me = _user("s1", "sales")
    _widgets([("alpha", me.id), ("beta", me.id)])
    login(client, me)
    assert "alpha" in _names(client)
    monkeypatch.setattr(hooks, "KEPT_WIDGETS_BASE", select(Widget).where(Widget.name == "beta"))
    page = _names(client)
    assert "beta" in page and "alpha" not in page
    assert builds == ["", ""]


def test_plain_rows_of_a_page_see_the_sessions_pending_changes(kept_app):
    """Plain rows are read through the session's connection (core.paging), after a flush
    of what the session holds, as its autoflush would: a pending row is listed and
    counted, a renamed one read with its new name."""
    from sqlalchemy import select

    from core.paging import page_with_total

    Widget = _hooks(kept_app).Widget  # noqa: N806 - the fixture module's model
    with cleaned_context(kept_app):
        _widgets([("old", None)])
        renamed = db.session.scalars(select(Widget)).one()
        renamed.name = "renamed"
        db.session.add(Widget(name="pending", status="new"))
        stmt = select(Widget)
        page = stmt.with_only_columns(Widget.id, Widget.name).order_by(Widget.id).limit(5)
        rows, total = page_with_total(page, stmt, Widget.id, 100, entities=False,
                                      from_start=True)
        assert [row.name for row in rows] == ["renamed", "pending"]
        assert total == 2
        db.session.rollback()
