"""Stock pages: every page renders for a warehouse keeper, the parts list filters, a
request is approved and a receipt recorded from the web, permissions and record rules."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from modules.stock.models import PartRequest
from tests.conftest import login
from tests.modules.stock.factories import make_part
from tests.modules.stock.factories import make_request
from tests.modules.stock.factories import make_warehouse
from tests.modules.stock.factories import on_hand
from tests.modules.stock.factories import open_ticket
from tests.modules.stock.factories import receive


def _stocked():  # noqa: ANN202
    low = make_part("AC-COMP-2023", part_name="变频压缩机", category="compressor",
                    min_stock_alert=3)
    ok = make_part("AC-FILTER-001", part_name="空调滤网", category="filter", min_stock_alert=2)
    main = make_warehouse("WH-MAIN", name="主仓库")
    receive(low, main, 2)
    receive(ok, main, 10)
    return low, ok, main


def test_every_stock_page_renders_for_the_warehouse_keeper(client, login_as, make_user):
    login_as("warehouse")
    low, _ok, _main = _stocked()
    req = make_request(make_user("engineer"), low, 1, ticket_id=open_ticket())
    for url in ["/stock/parts", f"/stock/parts/{low.id}", "/stock/parts/new",
                f"/stock/parts/{low.id}/edit", "/stock/requests", "/stock/requests/new",
                f"/stock/requests/{req.id}", "/stock/receipt", "/stock/transfer",
                "/stock/count", "/stock/purchase-requests", "/stock/purchase-orders",
                "/stock/warehouses", "/stock/suppliers", "/stock/usage"]:
        response = client.get(url)
        assert response.status_code == 200, url


def test_parts_list_filters_low_stock_category_and_search(client, login_as):
    login_as("warehouse")
    _stocked()
    page = client.get("/stock/parts?low_stock=1").get_data(as_text=True)
    assert "AC-COMP-2023" in page and "AC-FILTER-001" not in page
    page = client.get("/stock/parts?category=filter").get_data(as_text=True)
    assert "AC-FILTER-001" in page and "AC-COMP-2023" not in page
    page = client.get("/stock/parts?q=压缩机").get_data(as_text=True)
    assert "AC-COMP-2023" in page and "AC-FILTER-001" not in page
    assert client.get("/stock/parts?low_stock=x").status_code == 400


def test_low_stock_list_filters_with_the_low_stock_clause_itself(client, login_as):
    """The page's statement carries ``min_stock_alert > 0 AND on_hand_total <
    min_stock_alert`` as written (the rule of ``queries.low_stock_clause`` and of the API),
    not a ``CASE … END = '1'`` flag: PostgreSQL evaluated that CASE on each of the 20,000
    rows scanned, twice (the page and its count), about 0.7 ms of the page (bench/); and
    it has no parameters."""
    from sqlalchemy import event

    login_as("warehouse")
    low, ok, main = _stocked()
    at_minimum = make_part("AC-CAP-003", min_stock_alert=4)
    receive(at_minimum, main, 4)  # on-hand = minimum: not below it
    make_part("AC-NOMIN-004", min_stock_alert=0)  # no minimum, no stock: never low
    statements: list[str] = []
    parameters: list[object] = []

    def seen(conn, cursor, statement, params, *args):  # noqa: ANN001, ANN202
        statements.append(statement)
        parameters.append(params)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        page = client.get("/stock/parts?low_stock=1").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert low.part_code in page
    for code in (ok.part_code, at_minimum.part_code, "AC-NOMIN-004"):
        assert code not in page, code
    assert "共 1 条" in page
    listed = [i for i, s in enumerate(statements)
              if "stock_part.on_hand_total" in s and "ORDER BY" in s]
    assert len(listed) == 1, statements
    # Its constants (the rule's 0, the count's cap, LIMIT, OFFSET) are in its SQL: with no
    # parameters PostgreSQL plans the prepared statement once per connection, not per run.
    if db.engine.dialect.name == "postgresql":  # SQLite adds ``OFFSET ?`` to a bare LIMIT
        assert not parameters[listed[0]], parameters[listed[0]]
    listed = [statements[listed[0]]]
    assert "CASE" not in listed[0].upper()
    assert listed[0].count("stock_part.on_hand_total < stock_part.min_stock_alert") == 2


def test_approve_from_the_web_issues_and_reject_needs_a_reason(client, login_as, make_user):
    _low, ok, main = _stocked()
    eng = make_user("engineer")
    first, second = make_request(eng, ok, 3, ticket_id=open_ticket()), make_request(eng, ok, 1)
    login_as("warehouse")
    response = client.post(f"/stock/requests/{first.id}/approve",
                           data={"warehouse_id": main.id, "when_short": "queue"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(PartRequest, first.id).status == "issued"
    assert on_hand(ok, main) == 7
    client.post(f"/stock/requests/{second.id}/reject", data={"reason": ""})
    db.session.expire_all()
    assert db.session.get(PartRequest, second.id).status == "pending"
    page = client.get(f"/stock/requests/{second.id}").get_data(as_text=True)
    assert "驳回需要填写原因" in page
    client.post(f"/stock/requests/{second.id}/reject", data={"reason": "型号不符"})
    db.session.expire_all()
    assert db.session.get(PartRequest, second.id).status == "rejected"


def test_receipt_form_records_stock_and_bad_input_is_kept_with_a_message(client, login_as):
    login_as("warehouse")
    _low, ok, main = _stocked()
    response = client.post("/stock/receipt", data={"part_id": ok.id, "warehouse_id": main.id,
                                                   "quantity": "abc", "unit_cost": "20"})
    assert response.status_code == 422
    assert "数量必须是整数" in response.get_data(as_text=True)
    response = client.post("/stock/receipt", data={"part_id": ok.id, "warehouse_id": main.id,
                                                   "quantity": "5", "unit_cost": "20"})
    assert response.status_code == 302
    assert on_hand(ok, main) == 15


def test_engineer_requests_and_sees_only_his_own_requests(client, make_user):
    low, ok, _main = _stocked()
    me, other = make_user("engineer"), make_user("engineer")
    theirs = make_request(other, ok, 1)
    ticket = open_ticket()
    login(client, me)
    response = client.post("/stock/requests/new", data={"part_id": low.id, "quantity": "1",
                                                         "ticket_id": str(ticket),
                                                         "purpose": "repair"})
    assert response.status_code == 302
    mine = db.session.scalar(select(PartRequest).where(PartRequest.requester_id == me.id))
    assert (mine.status, mine.ticket_id) == ("pending", ticket)
    assert client.get(f"/stock/requests/{theirs.id}").status_code == 404
    listing = client.get("/stock/requests").get_data(as_text=True)
    assert mine.number in listing and theirs.number not in listing
    assert client.post(f"/stock/requests/{mine.id}/approve").status_code == 403
    assert client.get("/stock/receipt").status_code == 403


def test_count_adjusts_the_difference(client, login_as):
    login_as("warehouse")
    _low, ok, main = _stocked()
    response = client.post(f"/stock/count?warehouse_id={main.id}",
                           data={"warehouse_id": main.id, f"counted_{ok.id}": "8"})
    assert response.status_code == 302
    assert on_hand(ok, main) == 8


def test_parts_list_in_english(client, login_as):
    user = login_as("warehouse")
    _stocked()
    from core.security.services import update_user
    from core.services import ServiceContext
    from core.services import unit_of_work

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        update_user(ctx, db.session.merge(user), locale="en")
    page = client.get("/stock/parts").get_data(as_text=True)
    assert "Part code" in page and "Minimum stock" in page


def test_usage_statistics_by_part_engineer_month_and_model(client, login_as, make_user):
    from modules.stock.services import requests as svc
    from tests.modules.stock.factories import as_user

    _low, ok, _main = _stocked()
    eng = make_user("engineer", display_name="张工")
    req = make_request(eng, ok, 3, ticket_id=open_ticket())
    as_user(make_user("warehouse"), svc.approve_request, req.id)
    as_user(eng, svc.return_unused, req.id, req.lines[0].id, 1)
    login_as("manager")
    page = client.get("/stock/usage?group=part").get_data(as_text=True)
    assert "AC-FILTER-001 空调滤网" in page and "<td class=\"text-end\">2</td>" in page
    assert "张工" in client.get("/stock/usage?group=engineer").get_data(as_text=True)
    assert "未知" in client.get("/stock/usage?group=model").get_data(as_text=True)
    month = client.get("/stock/usage?group=month&date_from=2020-01-01").get_data(as_text=True)
    assert "<td class=\"text-end\">2</td>" in month
    # The shell's chart (ECharts option as JSON) with its table and the export beside it.
    assert 'id="usage-chart"' in page and 'id="usage-chart-option"' in page
    import json
    import re

    option = json.loads(re.search(r'id="usage-chart-option">(.*?)</script>', page, re.S)[1])
    assert option["xAxis"]["data"] == ["AC-FILTER-001 空调滤网"]
    assert option["series"][0]["data"] == [2]
    csv = client.get("/stock/usage?group=part&export=csv")
    assert csv.mimetype == "text/csv"
    assert "AC-FILTER-001 空调滤网,2" in csv.get_data(as_text=True)
    xlsx = client.get("/stock/usage?group=engineer&export=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get("/stock/usage?group=bogus").status_code == 400
    assert client.get("/stock/usage?date_from=x").status_code == 400


def test_suppliers_page_creates_a_supplier(client, login_as):
    login_as("warehouse")
    response = client.post("/stock/suppliers", data={"name": "苏州恒温电气配件厂",
                                                     "contact_name": "郑女士"})
    assert response.status_code == 302
    assert "苏州恒温电气配件厂" in client.get("/stock/suppliers").get_data(as_text=True)
    client.post("/stock/suppliers", data={"name": "苏州恒温电气配件厂"})
    assert "已存在" in client.get("/stock/suppliers").get_data(as_text=True)


def test_the_request_list_costs_the_same_queries_at_two_sizes(client, login_as, make_user):
    from sqlalchemy import event

    login_as("warehouse")
    _stocked()
    eng = make_user("engineer")
    client.get("/stock/requests?q=滤网")  # per-process caches filled once
    counts = []
    for n in (2, 8):
        while (done := db.session.query(PartRequest).count()) < n:
            make_request(eng, make_part(f"AC-N-{done}"), 1, notes="更换滤网")
        seen: list[str] = []

        def note(*args, seen=seen):  # noqa: ANN002, ANN202
            seen.append(args[2])

        event.listen(db.engine, "before_cursor_execute", note)
        try:
            assert client.get("/stock/requests?q=滤网").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        counts.append(len(seen))
    assert counts[0] == counts[1]


def test_parts_list_rows_written_in_python_show_each_cell(client, login_as):
    """The rows' HTML is written in one piece (``_part_cells``): link, category label,
    on-hand with its unit, the low-stock mark, price, the phone-hidden cells, escaping."""
    login_as("warehouse")
    low, _ok, _main = _stocked()
    make_part("AC-X-9", part_name="<script>x</script>", specification="<b>", unit_price="12.5")
    page = client.get("/stock/parts").get_data(as_text=True)
    row = page[page.index(f'<tr data-id="{low.id}">'):]
    row = row[:row.index("</tr>")]
    assert f'<a href="/stock/parts/{low.id}">AC-COMP-2023</a>' in row
    assert '<td class="d-none d-md-table-cell">压缩机</td>' in row
    assert "<td>⚠ 3</td>" in row and "变频压缩机" in row
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    assert "&lt;b&gt;" in page and "¥12.50" in page
    assert 'id="part-filters"' in page and 'data-bs-target="#list-filters"' in page


def test_part_pickers_take_a_typed_or_scanned_code_with_suggestions(client, login_as):
    """A catalogue of 20,000 parts does not fit a <select>: the forms take the part's code
    (any case), suggest parts as one types, and refuse a code of no part on the field."""
    login_as("warehouse")
    low, ok, main = _stocked()
    response = client.post("/stock/receipt", data={"part_id_code": ok.part_code.lower(),
                                                   "warehouse_id": main.id, "quantity": "5"})
    assert response.status_code == 302 and on_hand(ok, main) == 15
    response = client.post("/stock/receipt", data={"part_id_code": "NOPE-1",
                                                   "warehouse_id": main.id, "quantity": "5"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "没有编码为 NOPE-1 的配件" in page
    assert 'value="NOPE-1"' in page  # what was typed is kept
    items = client.get("/stock/parts/suggest?q=ac-").get_json()["items"]
    assert {i["value"] for i in items} == {low.part_code, ok.part_code}
    assert client.get("/stock/parts/suggest?q=%25").get_json()["items"] == []  # no wildcard
    assert client.get("/stock/parts/suggest?q=").get_json()["items"] == []
    form = client.get(f"/stock/requests/new?part_id={ok.id}").get_data(as_text=True)
    assert f'name="part_id_code" value="{ok.part_code}"' in form


def test_count_sheet_lists_the_warehouse_parts_and_finds_others(client, login_as,
                                                                 monkeypatch):
    from modules.stock.web import views

    login_as("warehouse")
    _low, ok, main = _stocked()
    elsewhere = make_part("AC-PUMP-9", part_name="排水泵")
    sheet = client.get(f"/stock/count?warehouse_id={main.id}").get_data(as_text=True)
    assert f"counted_{ok.id}" in sheet and f"counted_{elsewhere.id}" not in sheet
    found = client.get(f"/stock/count?warehouse_id={main.id}&q=排水").get_data(as_text=True)
    assert f"counted_{elsewhere.id}" in found and f"counted_{ok.id}" not in found
    monkeypatch.setattr(views, "COUNT_ROWS", 1)
    capped = client.get(f"/stock/count?warehouse_id={main.id}").get_data(as_text=True)
    assert 'id="count-more"' in capped and capped.count('name="counted_') == 1


def test_part_form_names_substitutes_by_code_and_keeps_them(client, login_as):
    """Substitutes are codes (any part of the catalogue, not the first 500 of a select),
    shown again on edit so saving the form keeps them; unknown codes are refused together."""
    login_as("warehouse")
    low, ok, _main = _stocked()
    form = {"part_code": low.part_code, "part_name": low.part_name, "category": "compressor",
            "unit": "个", "unit_price": "0", "min_stock_alert": "3", "reorder_quantity": "0"}
    response = client.post(f"/stock/parts/{low.id}/edit",
                           data={**form, "substitute_codes": f"{ok.part_code.lower()}、X-1, Y-2"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "没有这些编码的配件：X-1、Y-2" in page
    response = client.post(f"/stock/parts/{low.id}/edit",
                           data={**form, "substitute_codes": ok.part_code.lower()})
    assert response.status_code == 302
    db.session.expire_all()
    assert [p.id for p in db.session.get(type(low), low.id).substitutes] == [ok.id]
    edit = client.get(f"/stock/parts/{low.id}/edit").get_data(as_text=True)
    assert f'name="substitute_codes" value="{ok.part_code}"' in edit
