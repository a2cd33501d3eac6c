"""Customer web pages with the test client: list, create (bad input keeps values, Chinese
errors), duplicates, detail (360° with a section from a fixture module), edit, follow-ups,
export, record rules."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from core.extensions import db
from modules.crm.models.customer import Customer
from modules.crm.models.customer import FollowUp
from tests.conftest import login
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import mobile
from tests.modules.crm.factories import tax_id


def text(response) -> str:
    return response.get_data(as_text=True)


def test_list_shows_only_visible_customers(client, people):
    make_customer(people["a"], customer_name="甲的客户")
    make_customer(people["c"], customer_name="丙的客户")
    make_customer(None, customer_name="公海里的客户")
    login(client, people["a"])
    page = text(client.get("/crm/customers/"))
    assert "甲的客户" in page and "公海里的客户" in page and "丙的客户" not in page
    assert 'data-menu="customers.list"' in page
    page = text(client.get("/crm/customers/?q=丙"))
    assert "丙的客户" not in page and "没有符合条件的客户" in page
    page = text(client.get("/crm/customers/?status=in_pool"))
    assert "公海里的客户" in page and "甲的客户" not in page


def test_list_counts_what_the_user_sees_on_any_page(client, people, monkeypatch):
    """The total shown comes with the page's rows, and is right on a page past the end."""
    from flask import current_app

    make_customer(people["a"], customer_name="甲一")
    make_customer(people["a"], customer_name="甲二")
    make_customer(people["c"], customer_name="丙的客户")
    login(client, people["a"])
    monkeypatch.setitem(current_app.config, "TANDEM_PAGE_SIZE", 1)
    first = text(client.get("/crm/customers/?sort=id"))
    assert "共 2 条" in first and "甲一" in first and "甲二" not in first and "1 / 2" in first
    # The sorted heading shows its direction and turns it round; the others sort ascending.
    assert '/crm/customers/?sort=-id&amp;page=1" class="link-body-emphasis' in first
    assert "客户编号 ▲</a>" in first and "客户名称</a>" in first
    assert '/crm/customers/?sort=customer_name&amp;page=1"' in first
    assert "客户编号 ▼</a>" in text(client.get("/crm/customers/?sort=-id"))
    second = text(client.get("/crm/customers/?sort=id&page=2"))
    assert "共 2 条" in second and "甲二" in second and "2 / 2" in second
    beyond = text(client.get("/crm/customers/?sort=id&page=7"))
    assert "共 2 条" in beyond and "没有符合条件的客户" in beyond
    assert "共 0 条" in text(client.get("/crm/customers/?q=没有这个"))


def test_export_respects_record_rules(client, people):
    make_customer(people["a"], customer_name="甲的客户")
    make_customer(people["c"], customer_name="丙的客户")
    login(client, people["manager"])
    response = client.get("/crm/customers/?export=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = text(response)
    assert body.startswith("\ufeff客户编号,客户名称")
    assert "甲的客户" in body and "丙的客户" not in body


def test_create_with_bad_input_keeps_values_and_shows_chinese_errors(client, people):
    login(client, people["a"])
    response = client.post(
        "/crm/customers/new",
        data={
            "customer_type": "enterprise",
            "customer_name": "好公司",
            "phone": "12345",
            "tax_id": "91110000600037341X",
            "customer_level": "normal",
            "tags": "重点 老客户",
            "owner_id": str(people["a"].id),
        },
    )
    page = text(response)
    assert response.status_code == 200
    assert "手机号格式不正确" in page and "统一社会信用代码校验位不正确" in page
    assert 'value="好公司"' in page and 'value="12345"' in page and 'value="重点 老客户"' in page
    assert db.session.scalar(select(Customer)) is None


def test_create_then_detail_and_edit(client, people):
    login(client, people["a"])
    response = client.post(
        "/crm/customers/new",
        data={
            "customer_type": "individual",
            "customer_name": "张先生",
            "phone": "+86 138-0000-1234",
            "customer_level": "important",
            "tags": "重点",
            "source": "referral",
            "owner_id": str(people["a"].id),
        },
    )
    assert response.status_code == 302
    customer = db.session.scalar(select(Customer))
    assert customer.phone == "13800001234" and customer.owner_id == people["a"].id
    assert response.headers["Location"].endswith(f"/crm/customers/{customer.id}")
    page = text(client.get(f"/crm/customers/{customer.id}"))
    assert "张先生" in page and customer.number in page and "转介绍" in page
    assert 'id="section-contacts"' in page and 'id="section-follow-ups"' in page
    edit = client.get(f"/crm/customers/{customer.id}/edit")
    assert edit.status_code == 200 and 'value="13800001234"' in text(edit)
    response = client.post(
        f"/crm/customers/{customer.id}/edit",
        data={
            "customer_type": "individual",
            "customer_name": "张先生",
            "phone": "13800001234",
            "customer_level": "normal",
            "owner_id": str(people["a"].id),
            "industry": "酒店餐饮",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).industry == "酒店餐饮"


def test_duplicate_phone_links_a_visible_customer_only(client, people):
    mine = make_customer(people["a"], phone=mobile(801))
    make_customer(people["c"], phone=mobile(802), customer_name="别人的秘密客户")
    login(client, people["a"])
    data = {
        "customer_type": "individual",
        "customer_name": "新客户",
        "customer_level": "normal",
        "owner_id": str(people["a"].id),
    }
    page = text(client.post("/crm/customers/new", data=data | {"phone": mobile(801)}))
    assert mine.number in page and f"/crm/customers/{mine.id}" in page
    page = text(client.post("/crm/customers/new", data=data | {"phone": mobile(802)}))
    assert "其他销售负责的客户" in page and "别人的秘密客户" not in page
    assert 'id="duplicate-link"' not in page


def test_others_customers_answer_404_and_pool_is_read_only(client, people):
    theirs = make_customer(people["c"])
    pooled = make_customer(None, customer_name="公海客户X")
    login(client, people["a"])
    assert client.get(f"/crm/customers/{theirs.id}").status_code == 404
    assert client.get(f"/crm/customers/{theirs.id}/edit").status_code == 404
    page = text(client.get(f"/crm/customers/{pooled.id}"))
    assert "公海客户X" in page and 'data-action="edit"' not in page
    assert client.get(f"/crm/customers/{pooled.id}/edit").status_code == 403
    response = client.post(f"/crm/customers/{pooled.id}/follow-ups", data={"content": "x"})
    assert response.status_code == 422 and "公海客户需先领取" in text(response)


def test_follow_up_and_contact_forms(client, people):
    customer = make_customer(people["a"], customer_type="enterprise")
    login(client, people["a"])
    response = client.post(
        f"/crm/customers/{customer.id}/follow-ups", data={"channel": "visit", "content": ""}
    )
    assert response.status_code == 422 and "跟进内容不能为空" in text(response)
    response = client.post(
        f"/crm/customers/{customer.id}/follow-ups",
        data={
            "channel": "visit",
            "content": "上门演示设备",
            "follow_up_at": "2024-05-01T10:00",
            "next_follow_up_date": "2024-05-08",
        },
    )
    assert response.status_code == 302
    follow_up = db.session.scalar(select(FollowUp))
    assert follow_up.follow_up_at.isoformat() == "2024-05-01T02:00:00+00:00"
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).last_follow_up_at == follow_up.follow_up_at
    response = client.post(
        f"/crm/customers/{customer.id}/contacts", data={"name": "王主任", "phone": "138 0000 9999"}
    )
    assert response.status_code == 302
    page = text(client.get(f"/crm/customers/{customer.id}"))
    assert "上门演示设备" in page and "2024-05-01 10:00" in page and "王主任" in page
    response = client.post(f"/crm/customers/{customer.id}/contacts", data={"phone": "1"})
    assert response.status_code == 422
    assert "姓名不能为空" in text(response) and "电话格式不正确" in text(response)


def test_sales_cannot_export_others_or_delete(client, people):
    mine = make_customer(people["a"])
    login(client, people["a"])
    assert client.post(f"/crm/customers/{mine.id}/delete").status_code == 403


def test_enterprise_form_requires_tax_id(client, people):
    login(client, people["b"])
    page = text(
        client.post(
            "/crm/customers/new",
            data={
                "customer_type": "enterprise",
                "customer_name": "某公司",
                "customer_level": "normal",
                "owner_id": str(people["b"].id),
            },
        )
    )
    assert "企业客户必须填写统一社会信用代码" in page
    response = client.post(
        "/crm/customers/new",
        data={
            "customer_type": "enterprise",
            "customer_name": "某公司",
            "customer_level": "normal",
            "owner_id": str(people["b"].id),
            "tax_id": tax_id(803),
        },
    )
    assert response.status_code == 302


def test_360_view_shows_sections_of_other_modules(make_app):
    """demo_b contributes sections; crm does not import it; permissions and failures handled."""
    from core.services import ServiceContext
    from core.services import unit_of_work
    from modules.crm.web.customers import customer_sections

    app = make_app(modules=["crm", "demo_a", "demo_b"])
    with app.app_context():
        from core.security.services import create_user

        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            sales = create_user(ctx, "s1", roles=["sales"], password="secret-pass-1")
            admin = create_user(ctx, "ad", roles=["admin"], password="secret-pass-1")
        customer = make_customer(sales)
        rendered = customer_sections(ServiceContext(actor=sales), customer)
        sections = {s["id"]: s for s in rendered}
        assert [s for s in sections if s.startswith("demo_b")] == ["demo_b_gadgets",
                                                                  "demo_b_broken"]
        assert "该部分加载失败" in sections["demo_b_broken"]["html"]
        url = f"/crm/customers/{customer.id}"
        db.session.remove()
    client = app.test_client()
    login(client, sales)
    page = text(client.get(url))
    assert "Gadgets of customer" in page and "小工具" in page and "secret" not in page
    client = app.test_client()
    login(client, admin)
    page = text(client.get(url))
    assert "管理员区" in page and "<p>secret</p>" in page


def test_pages_in_english(client, people):
    make_customer(people["a"], customer_name="Acme", customer_level="important")
    login(client, people["a"])
    client.post("/locale/en", data={"next": "/"})
    page = text(client.get("/crm/customers/"))
    assert "New customer" in page and "Important" in page and "客户名称" not in page


def test_edit_and_delete_contact(app_ctx, client, people):
    from core.services import ServiceContext
    from core.services import unit_of_work
    from modules.crm.models.customer import Contact
    from modules.crm.services.contacts import add_contact

    customer = make_customer(people["a"], customer_type="enterprise")
    ctx = ServiceContext.system()
    with unit_of_work(ctx):
        contact_id = add_contact(ctx, customer.id, {"name": "刘工"}).id
    other = app_ctx.test_client()
    login(other, people["b"])
    assert other.get(f"/crm/customers/contacts/{contact_id}/edit").status_code == 404
    # requests share the test's app context, so flask-login's cached user must be dropped
    g.pop("_login_user", None)
    login(client, people["a"])
    page = text(client.get(f"/crm/customers/contacts/{contact_id}/edit"))
    assert 'value="刘工"' in page and 'data-action="delete-contact"' in page
    response = client.post(
        f"/crm/customers/contacts/{contact_id}/edit", data={"name": "刘工", "email": "bad"}
    )
    assert "邮箱格式不正确" in text(response)
    response = client.post(
        f"/crm/customers/contacts/{contact_id}/edit", data={"name": "刘总", "title": "总经理"}
    )
    assert response.status_code == 302
    assert db.session.get(Contact, contact_id).title == "总经理"
    response = client.post(f"/crm/customers/contacts/{contact_id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, contact_id) is None


def test_excel_export_sort_and_bad_filters(client, people):
    import io

    from openpyxl import load_workbook

    make_customer(people["a"], customer_name="乙客户", tags="重点")
    make_customer(people["a"], customer_name="甲客户")
    make_customer(people["c"], customer_name="丙客户")
    login(client, people["a"])
    response = client.get("/crm/customers/?export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("客户编号", "客户名称")
    assert sorted(r[1] for r in rows[1:]) == ["乙客户", "甲客户"]
    page = text(client.get("/crm/customers/?sort=customer_name"))
    assert page.index("乙客户") < page.index("甲客户")  # 乙 (U+4E59) sorts before 甲 (U+7532)
    assert "丙客户" not in page
    page = text(client.get("/crm/customers/?tag=重点"))
    assert "乙客户" in page and "甲客户" not in page
    assert client.get("/crm/customers/?status=bogus").status_code == 400
    assert client.get("/crm/customers/?sort=phone").status_code == 400


def test_next_links_page_by_keyset_through_ties_and_empty_values(client, people, monkeypatch):
    """Following 下一页 (a keyset cursor of the last row) walks the list as page numbers
    (OFFSET) do — every customer once, in order — through equal sort values and empty
    ones, in both directions."""
    import html
    import re
    from datetime import timedelta

    from flask import current_app

    from core.db import utcnow

    now = utcnow().replace(microsecond=0)
    stamps = [now, now, None, now - timedelta(days=1), None, now, now - timedelta(days=2)]
    for n, stamp in enumerate(stamps):
        make_customer(people["a"], customer_name=f"键集{n}", last_follow_up_at=stamp)
    login(client, people["a"])
    monkeypatch.setitem(current_app.config, "TANDEM_PAGE_SIZE", 2)

    def names(page: str) -> list[str]:
        return re.findall(r">(键集\d)</a>", page)

    for sort in ("-last_follow_up", "last_follow_up", "-id", "customer_name"):
        by_number = [name for p in range(1, 5)
                     for name in names(text(client.get(f"/crm/customers/?sort={sort}&page={p}")))]
        assert sorted(by_number) == [f"键集{n}" for n in range(7)], sort
        walked, url = [], f"/crm/customers/?sort={sort}"
        for _ in range(4):
            page = text(client.get(url))
            walked += names(page)
            following = re.search(r'href="([^"]*)">下一页', page)
            if not following or "after=" not in following.group(1):
                break
            url = html.unescape(following.group(1))
        assert walked == by_number, sort
