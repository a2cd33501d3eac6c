"""The request's user, grants and team, kept per process while the auth epoch is unchanged:
not read again on every request, yet any change — by a service, or by SQL from another
connection, as another process or a database tool would — shows on the very next request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy import text

from core.extensions import db
from core.security.services import issue_token
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import login


def _epoch() -> int:
    with db.engine.connect() as conn:
        return conn.scalar(text("SELECT value FROM core_state WHERE key = 'auth_epoch'"))


def _elsewhere(sql: str, **params: object) -> None:
    """A committed write on a connection of its own (another process, a database tool).

    The test's session is closed after it: requests here share the test's app context and
    session, whose objects would otherwise stand in for the rows; a server's request starts
    with a fresh session."""
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)
    db.session.remove()


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001, ANN202
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_repeated_request_reads_no_user_role_grant_or_team_rows(client, make_user):
    manager = make_user("manager")
    login(client, manager)
    assert client.get("/crm/customers/").status_code == 200
    with _statements() as seen:
        assert client.get("/crm/customers/").status_code == 200
    security = [s for s in seen if any(t in s for t in (
        "FROM core_user ", "FROM core_user_role", "FROM core_role_permission", "JOIN core_team"))]
    assert security == []
    assert sum("auth_epoch" in s for s in seen) == 1


def test_a_role_given_elsewhere_counts_on_the_next_request(client, make_user):
    user = make_user()  # no role
    login(client, user)
    assert client.get("/crm/customers/").status_code == 403
    _elsewhere("INSERT INTO core_user_role (user_id, role_code) VALUES (:u, 'sales')", u=user.id)
    assert client.get("/crm/customers/").status_code == 200
    _elsewhere("DELETE FROM core_user_role WHERE user_id = :u", u=user.id)
    assert client.get("/crm/customers/").status_code == 403


def test_the_kept_menu_bar_follows_roles_and_language(client, make_user):
    """The navigation bar is rendered once per user, language and epoch: a role given or
    taken shows in the menus of the next page, and so does a change of language."""
    from flask_babel import refresh

    user = make_user()  # no role: no customer menu
    login(client, user)
    assert 'data-menu="customers.list"' not in client.get("/").get_data(as_text=True)
    _elsewhere("INSERT INTO core_user_role (user_id, role_code) VALUES (:u, 'sales')", u=user.id)
    page = client.get("/").get_data(as_text=True)
    assert 'data-menu="customers.list"' in page and ">客户列表<" in page
    assert page.count(">客户列表<") == 2  # the bar and the home page's card
    client.post("/locale/en")
    refresh()  # the test's app context outlives the request that switched
    page = client.get("/").get_data(as_text=True)
    assert ">Customer list<" in page and ">客户列表<" not in page
    _elsewhere("DELETE FROM core_user_role WHERE user_id = :u", u=user.id)
    assert 'data-menu="customers.list"' not in client.get("/").get_data(as_text=True)


def test_a_grant_changed_elsewhere_counts_on_the_next_request(client, make_user):
    login(client, make_user("sales"))
    assert client.get("/admin/users").status_code == 403
    _elsewhere("INSERT INTO core_role_permission (role_code, permission) "
               "VALUES ('sales', 'core.user.read')")
    try:
        assert client.get("/admin/users").status_code == 200
    finally:  # grants outlive a test (the seeded ones are kept between tests)
        _elsewhere("DELETE FROM core_role_permission WHERE role_code = 'sales' "
                   "AND permission = 'core.user.read'")
    assert client.get("/admin/users").status_code == 403


def test_a_user_deactivated_elsewhere_is_out_on_the_next_request(client, make_user):
    user = make_user("sales")
    login(client, user)
    assert client.get("/crm/customers/").status_code == 200
    _elsewhere("UPDATE core_user SET active = :no WHERE id = :u", no=False, u=user.id)
    assert client.get("/crm/customers/").status_code == 302  # to the login page


def test_a_team_changed_elsewhere_counts_on_the_next_request(client, make_user):
    from tests.modules.crm.factories import make_customer

    boss, member = make_user("manager"), make_user("sales")
    customer = make_customer(member)
    login(client, boss)
    assert customer.customer_name not in client.get("/crm/customers/").get_data(as_text=True)
    _elsewhere("INSERT INTO core_team (name, manager_id) "
               "VALUES ('东区', :b)", b=boss.id)
    _elsewhere("UPDATE core_user SET team_id = (SELECT id FROM core_team WHERE name = '东区') "
               "WHERE id = :m", m=member.id)
    assert customer.customer_name in client.get("/crm/customers/").get_data(as_text=True)


def test_the_kept_record_rule_follows_a_role_changed_elsewhere(client, make_user):
    """A user's rule clauses are kept per epoch: a role changed elsewhere applies the other
    role's rule (here a salesperson made manager sees his team's customers) on the next
    request, and taking it back narrows the list again."""
    from tests.modules.crm.factories import make_customer

    lead, member = make_user("sales"), make_user("sales")
    customer = make_customer(member)
    _elsewhere("INSERT INTO core_team (name, manager_id) VALUES ('西区', :b)", b=lead.id)
    _elsewhere("UPDATE core_user SET team_id = (SELECT id FROM core_team WHERE name = '西区') "
               "WHERE id = :m", m=member.id)
    login(client, lead)
    assert customer.customer_name not in client.get("/crm/customers/").get_data(as_text=True)
    _elsewhere("UPDATE core_user_role SET role_code = 'manager' WHERE user_id = :u", u=lead.id)
    assert customer.customer_name in client.get("/crm/customers/").get_data(as_text=True)
    _elsewhere("UPDATE core_user_role SET role_code = 'sales' WHERE user_id = :u", u=lead.id)
    assert customer.customer_name not in client.get("/crm/customers/").get_data(as_text=True)


def test_a_token_revoked_elsewhere_is_refused_on_the_next_call(client, make_user):
    user = make_user("sales")
    with unit_of_work(ctx := ServiceContext.system("cli")):
        raw = issue_token(ctx, user)
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/customers", headers=headers).status_code == 200
    before = _epoch()
    assert client.get("/api/v1/customers", headers=headers).status_code == 200
    assert _epoch() == before  # using a token (its last use) moves nothing
    _elsewhere("UPDATE core_api_token SET revoked_at = CURRENT_TIMESTAMP WHERE user_id = :u",
               u=user.id)
    assert client.get("/api/v1/customers", headers=headers).status_code == 401


@pytest.mark.parametrize("sql", [
    "UPDATE core_user SET display_name = 'x' WHERE id = :u",
    "INSERT INTO core_user_role (user_id, role_code) VALUES (:u, 'manager')",
    "UPDATE core_role_permission SET permission = permission WHERE role_code = 'sales'",
    "INSERT INTO core_team (name, manager_id) "
    "VALUES ('西区', :u)",
    "UPDATE core_api_token SET revoked_at = CURRENT_TIMESTAMP WHERE user_id = :u",
    "DELETE FROM core_user_role WHERE user_id = :u",
])
def test_every_write_to_who_may_do_what_moves_the_epoch(app_ctx, make_user, sql):
    user = make_user("sales")
    with unit_of_work(ctx := ServiceContext.system("cli")):
        issue_token(ctx, user)
    before = _epoch()
    _elsewhere(sql, u=user.id)
    assert _epoch() > before


def test_other_writes_leave_the_epoch_alone(app_ctx, make_user):
    user = make_user("sales")
    with unit_of_work(ctx := ServiceContext.system("cli")):
        issue_token(ctx, user)
    before = _epoch()
    _elsewhere("UPDATE core_api_token SET last_used_at = CURRENT_TIMESTAMP")
    _elsewhere("UPDATE core_state SET value = value + 1 WHERE key = 'registry_version'")
    assert _epoch() == before


def test_a_served_page_reads_version_epoch_and_badge_in_its_first_statement(make_app):
    """Through the server entry point: nothing before the request's own transaction, whose
    first statement reads the registry version, the auth epoch and the unread count."""
    from werkzeug.test import Client

    from core.security.services import create_user
    from core.wsgi import TandemDispatcher
    from tests.conftest import base_config

    app = make_app()
    with app.app_context(), unit_of_work(ctx := ServiceContext.system("cli")):
        create_user(ctx, "root", roles=["admin"], password="secret-pass-1")
    dispatcher = TandemDispatcher(config=base_config(app.config["SQLALCHEMY_DATABASE_URI"],
                                                     app.instance_path))
    client = Client(dispatcher)
    client.post("/login", data={"username": "root", "password": "secret-pass-1"})
    with dispatcher.app.app_context(), _statements() as seen:
        assert client.get("/admin/users").status_code == 200
    first = seen[0]
    assert all(part in first for part in ("'registry_version'", "'auth_epoch'",
                                          "FROM core_inbox_message"))
    assert [s for s in seen if "core_state" in s or "core_inbox_message" in s] == [first]
