"""Stock pages in Chromium at desktop width and on a phone (390 px): the parts list with
its filters, a part request's approval, a receipt — and no horizontal overflow."""

from __future__ import annotations

import pytest

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser
WIDTHS = {"desktop": (1400, 900), "phone": (390, 844)}


def _stock(live, engineer):  # noqa: ANN001, ANN202
    from modules.stock.services import catalogue
    from modules.stock.services import ledger
    from modules.stock.services import requests
    from tests.modules.stock.factories import open_ticket

    with live.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            main = catalogue.create_warehouse(ctx, "WH-MAIN", "主仓库（上海浦东）")
            flt = catalogue.create_part(ctx, {
                "part_code": "AC-FILTER-001", "part_name": "空调滤网", "category": "filter",
                "specification": "500×300mm 高效除尘", "min_stock_alert": 5,
                "applicable_models": "KFR-35GW, KFR-50LW, KFR-72LW 等多种柜机与挂机型号"})
            comp = catalogue.create_part(ctx, {
                "part_code": "AC-COMP-2023", "part_name": "变频压缩机", "category": "compressor",
                "min_stock_alert": 3})
            ledger.receive(ctx, flt.id, main.id, 12, "20.00")
            ledger.receive(ctx, comp.id, main.id, 1, "900.00")
        ticket = open_ticket()
        as_eng = ServiceContext(actor=db.session.merge(engineer), source="web")
        with unit_of_work(as_eng):
            req = requests.create_request(as_eng, [{"part_id": flt.id, "quantity": 2}],
                                          ticket_id=ticket, notes="3楼空调制冷不好，更换滤网")
        ids = flt.id, comp.id, main.id, req.id
        db.session.remove()
    return ids


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
def test_parts_list_approval_and_receipt(page, live, width):
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    engineer = live.user("zhang", "engineer", display_name="张工")
    live.user("liu", "warehouse", display_name="刘仓管")
    flt_id, _comp_id, _main_id, req_id = _stock(live, engineer)
    log_in(page, live, "liu")

    page.goto(f"{live.url}/stock/parts")
    listing = page.inner_text("#list-stock_part")
    assert "AC-FILTER-001" in listing and "AC-COMP-2023" in listing
    _no_horizontal_overflow(page)
    if width == "phone":  # the filters fold into a sheet below 576 px
        page.click("button[data-bs-target='#list-filters']")
        page.wait_for_selector("#list-filters.show")
    page.select_option("select[name=low_stock]", "1")
    page.locator(".list-filters button[type=submit]:visible").last.click()
    page.wait_for_url("**low_stock=1**")
    listing = page.inner_text("#list-stock_part")
    assert "AC-COMP-2023" in listing and "AC-FILTER-001" not in listing

    page.goto(f"{live.url}/stock/requests")
    _no_horizontal_overflow(page)
    page.click(f"#list-stock_part_request a:has-text('PR-{req_id}')")
    page.wait_for_url(f"**/stock/requests/{req_id}")
    _no_horizontal_overflow(page)
    page.click("[data-action=approve]")
    assert "已批准" in page.inner_text(".alert")
    assert page.get_attribute("[data-status]", "data-status") == "issued"

    page.goto(f"{live.url}/stock/receipt")
    _no_horizontal_overflow(page)
    # The part picker: typing suggests parts (from /stock/parts/suggest); the code is sent.
    page.fill("input[name=part_id_code]", "ac-fil")
    page.locator("#f-part_id-list option[value='AC-FILTER-001']").wait_for(state="attached")
    page.fill("input[name=part_id_code]", "AC-FILTER-001")
    page.fill("input[name=quantity]", "abc")
    page.click("[data-action=save]")
    assert "数量必须是整数" in page.inner_text(".alert")
    page.fill("input[name=quantity]", "8")
    page.fill("input[name=unit_cost]", "22.50")
    page.click("[data-action=save]")
    assert "已入库" in page.inner_text(".alert")

    page.goto(f"{live.url}/stock/parts/{flt_id}")
    _no_horizontal_overflow(page)
    assert page.inner_text("[data-warehouse=WH-MAIN]") == "18"  # 12 − 2 issued + 8
    assert "领用出库" in page.inner_text("#ledger")
