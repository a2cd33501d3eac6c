"""Admin pages and the shared list view, through the test client."""

from __future__ import annotations

import io

import pytest
from flask import request
from sqlalchemy import event
from sqlalchemy import select

from core.audit import AuditLog
from core.extensions import db
from core.security.models import RolePermission
from core.security.models import User

PAGES = ["/admin/users", "/admin/users/new", "/admin/roles", "/admin/teams", "/admin/settings",
         "/admin/audit", "/admin/jobs", "/admin/apps"]


@pytest.mark.parametrize("url", PAGES)
def test_admin_pages_render_for_admin_and_are_403_for_sales(client, make_user, url):
    from tests.conftest import login

    admin = make_user("admin", username="root")
    sales = make_user("sales", username="s1")
    login(client, sales)
    assert client.get(url).status_code == 403
    client.post("/logout")
    login(client, admin)
    assert client.get(url).status_code == 200


def test_create_user_through_the_form_and_duplicate_keeps_the_input(client, login_as):
    login_as("admin", username="root")
    form = {"username": "newbie", "display_name": "新同事", "roles": ["sales"], "team_id": "",
            "password": "long-enough-1", "active": "y", "wecom_userid": "newbie.w"}
    assert client.post("/admin/users/new", data=form).status_code == 302
    user = db.session.scalar(select(User).where(User.username == "newbie"))
    assert user.role_codes == {"sales"} and user.wecom_userid == "newbie.w"
    again = client.post("/admin/users/new", data={**form, "display_name": "又一个"})
    page = again.get_data(as_text=True)
    assert again.status_code == 200 and "已存在" in page and 'value="又一个"' in page


def test_edit_and_deactivate_a_user(client, login_as, make_user):
    login_as("admin", username="root")
    user = make_user("sales", username="s9")
    response = client.post(f"/admin/users/{user.id}", data={
        "display_name": "改名", "roles": ["sales", "engineer"], "team_id": "", "email": ""})
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.display_name == "改名" and not user.active
    assert user.role_codes == {"sales", "engineer"}


def test_permission_matrix_changes_what_a_user_can_open(client, login_as, make_user):
    from tests.conftest import login

    login_as("admin", username="root")
    grants = [f"{g.role_code}|{g.permission}" for g in db.session.scalars(select(RolePermission))]
    client.post("/admin/roles", data={"grant": [*grants, "sales|core.audit.read"]})
    client.post("/logout")
    login(client, make_user("sales", username="s2"))
    assert client.get("/admin/audit").status_code == 200


def test_secret_settings_are_never_shown_back(client, login_as, app):
    registry = app.extensions["tandem_registry"]
    secret_keys = [k for k, s in registry.settings.items() if s.secret]
    if not secret_keys:
        pytest.skip("no module with secret settings installed")
    key = secret_keys[0]
    login_as("admin", username="root")
    client.post("/admin/settings", data={key: "super-secret-value-1234"})
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "super-secret-value-1234" not in page and "1234" in page
    client.post("/admin/settings", data={key: ""})  # empty = keep
    from core.settings import get_setting

    assert get_setting(key) == "super-secret-value-1234"


def test_one_bad_setting_saves_none_of_the_form(client, login_as):
    """A value that does not parse refuses the whole form: the good values in it are not
    saved either (the unit of work rolls back; the page says which field was wrong)."""
    from core.settings import get_setting

    login_as("admin", username="root")
    before = get_setting("wecom.oa_app_id")
    response = client.post("/admin/settings", follow_redirects=True,
                           data={"wecom.oa_app_id": "wx-new-app-id",
                                 "wecom.verify_add_ways": "[2, "})
    page = response.get_data(as_text=True)
    assert "未保存" in page and "格式不正确" in page
    assert get_setting("wecom.oa_app_id") == before != "wx-new-app-id"


def test_same_change_from_web_and_api_is_audited_with_each_source(client, login_as):
    from core.security.services import issue_token
    from core.services import ServiceContext
    from core.services import unit_of_work

    admin = login_as("admin", username="root")
    target = db.session.scalar(select(User).where(User.username == "root"))
    client.post(f"/admin/users/{target.id}", data={"display_name": "网页改名", "roles": ["admin"],
                                                    "team_id": "", "active": "y"})
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        token = issue_token(ctx, admin)
    client.patch(f"/api/v1/users/{target.id}", json={"display_name": "接口改名"},
                 headers={"Authorization": f"Bearer {token}"})
    rows = db.session.scalars(select(AuditLog).where(
        AuditLog.model == "core_user", AuditLog.record_id == str(target.id),
        AuditLog.action == "update").order_by(AuditLog.id)).all()
    changes = [(r.source, r.changes.get("display_name")) for r in rows if "display_name" in r.changes]
    assert changes == [("web", ["root", "网页改名"]), ("api", ["网页改名", "接口改名"])]
    page = client.get("/admin/audit?source=api").get_data(as_text=True)
    assert "接口改名" in page and "网页改名 → 接口改名" in page


def test_list_view_search_sort_export_and_bad_sort(client, login_as, make_user):
    login_as("admin", username="root")
    for i in range(3):
        make_user("sales", username=f"zz{i}", display_name=f"销售{i}")
    page = client.get("/admin/users?q=zz&sort=-username").get_data(as_text=True)
    assert page.index("zz2") < page.index("zz0")
    assert client.get("/admin/users?sort=password_hash").status_code == 400
    csv_text = client.get("/admin/users?q=zz&export=csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeff用户名") and csv_text.count("zz") == 3
    xlsx = client.get("/admin/users?q=zz&export=xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [c.value for c in sheet[1]][:2] == ["用户名", "姓名"] and sheet.max_row == 4


def test_list_page_costs_the_same_queries_at_two_sizes(client, login_as, make_user):
    login_as("admin", username="root")
    engine = db.engine
    counts = []

    def count_page():
        statements = []

        def listener(*args):
            statements.append(1)

        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/admin/users").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    make_user("sales", username="a1")
    counts.append(count_page())
    for i in range(15):
        make_user("sales", username=f"b{i}")
    counts.append(count_page())
    assert counts[0] == counts[1]


def test_english_locale_and_shanghai_time(client, login_as):
    login_as("admin", username="root")
    client.post("/locale/en", data={"next": "/"})
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Users" in page and "Log out" in page
    from datetime import UTC
    from datetime import datetime

    from core.web.templating import local_dt
    from core.web.templating import money

    assert money("1234.5") == "¥1,234.50"
    with client.application.test_request_context():
        assert local_dt(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == "2026-01-01 08:00"


def test_unread_count_shows_under_the_bell(client, login_as):
    from core.notify import notify
    from core.services import ServiceContext
    from core.services import unit_of_work

    user = login_as("sales", username="s1")
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        notify(ctx, [user], "新的公海客户", "3 个客户可领取")
    page = client.get("/").get_data(as_text=True)
    assert 'id="unread-count">1<' in page
    assert "新的公海客户" in client.get("/notifications").get_data(as_text=True)
    client.post("/notifications/read")
    assert 'id="unread-count"' not in client.get("/").get_data(as_text=True)


def test_the_badge_read_before_the_view_is_read_again_once_the_inbox_changes(app_ctx,
                                                                              make_user):
    """A signed-in user's page reads his unread count with the auth epoch, before the view
    runs; a view that changes his inbox (marks messages read, delivers him one) shows the
    count as it is then, not as it was read."""
    from flask import session

    from core.notify import mark_read
    from core.notify import notify
    from core.notify import unread_count
    from core.notify.models import InboxMessage
    from core.services import ServiceContext
    from core.services import unit_of_work
    from core.web.request_state import read_request_state

    user = make_user("sales")
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        notify(ctx, [user], "一", "1")
        notify(ctx, [user], "二", "2")
    first = db.session.scalars(select(InboxMessage.id).where(InboxMessage.user_id == user.id))
    with app_ctx.test_request_context("/"):
        session["_user_id"] = str(user.id)
        read_request_state()
        assert request.environ["tandem.unread_count"] == (user.id, 2)
        assert unread_count(user) == 2
        with unit_of_work(own := ServiceContext(actor=user, source="web")):
            mark_read(own, [next(iter(first))])
        assert unread_count(user) == 1
        with unit_of_work(ctx):
            notify(ctx, [user], "三", "3")
        assert unread_count(user) == 2
    for path, method in (("/", "POST"), ("/api/v1/customers", "GET")):  # only pages show it
        with app_ctx.test_request_context(path, method=method):
            session["_user_id"] = str(user.id)
            read_request_state()
            assert "tandem.auth_epoch" in request.environ
            assert "tandem.unread_count" not in request.environ


def test_an_english_admin_reads_service_errors_and_notices_in_english(client, login_as,
                                                                      make_user):
    client.post("/locale/en", data={"next": "/"})
    page = client.get("/admin/users", follow_redirects=True).get_data(as_text=True)
    assert "Please log in first." in page and "Enter your username" not in page
    assert "Enter your username" in client.post("/login", data={}).get_data(as_text=True)
    login_as("admin", username="root")
    client.post("/locale/en", data={"next": "/"})
    make_user("sales", username="taken")
    form = {"username": "taken", "display_name": "", "roles": ["sales"], "team_id": "",
            "password": "long-enough-1", "active": "y"}
    page = client.post("/admin/users/new", data=form).get_data(as_text=True)
    assert "Username taken already exists" in page  # flashed
    assert "Username already exists" in page  # on the field
    assert "已存在" not in page
    response = client.post("/admin/teams", data={"name": "East", "manager_id": ""},
                           follow_redirects=True)
    assert "Team East created" in response.get_data(as_text=True)
    page = client.post("/admin/teams", data={"name": "East", "manager_id": ""})
    assert "A team with this name already exists" in page.get_data(as_text=True)


def test_page_errors_are_tandem_pages_in_the_readers_language(client, login_as):
    """A bad filter value, an unknown address, a refused method: the page says what went
    wrong in Chinese or English, with the navigation bar; the API keeps its JSON errors."""
    login_as("admin", username="root")
    for url, code, title in (("/admin/users?sort=password", 400, "请求无效"),
                             ("/admin/nowhere", 404, "页面不存在"),
                             ("/notifications/read", 405, "不支持的请求方法")):
        response = client.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == code, url
        assert f'data-status="{code}"' in page and f"<h1 class=\"h4\">{title}</h1>" in page
        assert 'id="bell"' in page  # the navigation bar, to go on from
        assert "The browser (or proxy)" not in page and "Bad Request" not in page
    client.post("/locale/en", data={"next": "/"})
    page = client.get("/admin/users?sort=password").get_data(as_text=True)
    assert "Invalid request" in page and "请求无效" not in page
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404 and response.json["error"]["code"]
