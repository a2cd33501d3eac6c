"""The import page in Chromium at desktop width and on a phone (390 px): upload a customer
file, see the dry run's row errors, confirm, see the import's result — without any
horizontal overflow (issue 19 #3)."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from core.extensions import db
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser
WIDTHS = {"desktop": (1400, 900), "phone": (390, 844)}


def _file(tmp_path) -> str:  # noqa: ANN001
    workbook = Workbook()
    for row in (["客户名称*", "客户类型", "联系电话", "客户分级"],
                ["浏览器导入客户", "个人", "13800000031", "重要"],
                ["电话不对的客户", "个人", "12345", "普通"],
                ["类型不对的客户", "神秘客户类型", "13800000033", "普通"]):
        workbook.active.append(row)
    path = tmp_path / "客户导入.xlsx"
    out = io.BytesIO()
    workbook.save(out)
    path.write_bytes(out.getvalue())
    return str(path)


def _no_horizontal_overflow(page) -> None:  # noqa: ANN001
    page.wait_for_load_state()
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the viewport"
    sideways = page.evaluate("""() => [...document.querySelectorAll('body *').values()]
        .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
                     && e.scrollWidth > e.clientWidth + 1).length""")
    assert sideways == 0, f"{sideways} element(s) scroll sideways"


@pytest.mark.parametrize("width", list(WIDTHS), ids=list(WIDTHS))
def test_customer_import_dry_run_errors_and_confirm(page, live, width, tmp_path):
    from modules.crm.models.customer import Customer

    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    user = live.user("wangxs", "sales", display_name="王销售")
    log_in(page, live, "wangxs")
    page.goto(f"{live.url}/imports/")
    _no_horizontal_overflow(page)
    page.select_option("select[name=kind]", "crm.customers")
    page.set_input_files("input[name=file]", _file(tmp_path))
    page.click("[data-import-form] button[type=submit]")
    page.wait_for_selector("[data-import-error-rows]")
    _no_horizontal_overflow(page)
    rows = page.locator("[data-import-error-rows] [data-row]")
    assert rows.count() == 2
    assert "第 3 行" in rows.nth(0).inner_text() and "联系电话" in rows.nth(0).inner_text()
    assert "“神秘客户类型”不是可选值" in rows.nth(1).inner_text()
    assert page.locator("[data-import-created]").inner_text() == "1"
    assert page.locator("[data-import-report]").is_visible()
    page.click("[data-import-confirm]")
    page.wait_for_selector("text=已导入")
    _no_horizontal_overflow(page)
    assert page.locator("[data-import-created]").inner_text() == "1"
    assert page.locator("[data-import-status]").inner_text() == "已完成"
    with live.app_context():
        customers = db.session.scalars(select(Customer)).all()
        assert [(c.customer_name, c.owner_id) for c in customers] == [("浏览器导入客户", user.id)]
        db.session.remove()
    page.goto(f"{live.url}/imports/")
    assert page.locator("[data-import-log]").count() == 2
    _no_horizontal_overflow(page)
