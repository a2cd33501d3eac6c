from __future__ import annotations

from tests.conftest import login


def test_login_page_renders_in_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.get_data(as_text=True)


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_admin_sees_apps_menu(client, make_user):
    admin = make_user("admin")
    login(client, admin)
    page = client.get("/").get_data(as_text=True)
    assert "应用" in page
    assert client.get("/admin/apps").status_code == 200


def test_sales_cannot_open_apps_page(client, login_as):
    login_as("sales")
    assert client.get("/admin/apps").status_code == 403
