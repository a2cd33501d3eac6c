"""Issue 19 #4: every list (pages and API) exports as CSV or Excel with its filters and record
rules, streamed, and formula-safe."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from core.exports import csv_chunks
from core.exports import safe_cell
from core.exports import xlsx_chunks
from tests.conftest import login
from tests.modules.crm.factories import api_callers
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_people


@pytest.fixture
def people(app_ctx: Any, make_user: Any) -> dict[str, Any]:
    return make_people(make_user)


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.data[:300]
    assert response.is_streamed
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_safe_cell_neutralises_every_formula_start_and_strips_nul():
    for raw in ("=1+1", "+1+1", "-A1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(raw) == "'" + raw
    assert safe_cell("a\x00b") == "ab"
    assert safe_cell("-3.5") == "-3.5" and safe_cell(7) == 7


def test_writers_neutralise_header_and_cells_and_stream_in_chunks():
    rows = ([f"=cmd|{i}", i] for i in range(1200))
    chunks = list(csv_chunks(["=h", "n"], rows, batch=500))
    assert len(chunks) >= 3  # one per 500 rows, and the rest
    text = b"".join(chunks).decode("utf-8").lstrip("\ufeff")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["'=h", "n"] and parsed[1] == ["'=cmd|0", "0"]
    data = b"".join(xlsx_chunks(["a"], ([f"@x{i}\x00"] for i in range(3))))
    sheet = load_workbook(io.BytesIO(data)).active
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["'@x0", "'@x1", "'@x2"]


def test_list_page_export_keeps_filters_and_record_rules(client: Any, people: dict) -> None:
    make_customer(people["a"], customer_name="甲的重要客户", customer_level="important")
    make_customer(people["a"], customer_name="甲的普通客户", customer_level="normal")
    make_customer(people["c"], customer_name="丙的重要客户", customer_level="important")
    login(client, people["a"])
    names = {r[1] for r in _csv(client.get("/crm/customers/?export=csv"))[1:]}
    assert names == {"甲的重要客户", "甲的普通客户"}  # not c's: record rules
    names = {r[1] for r in _csv(client.get("/crm/customers/?export=csv&customer_level=important"))[1:]}
    assert names == {"甲的重要客户"}  # the page's filter
    response = client.get("/crm/customers/?export=xlsx")
    assert response.is_streamed
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert {r[1] for r in sheet.iter_rows(min_row=2, values_only=True)} == \
        {"甲的重要客户", "甲的普通客户"}


def test_api_list_export_keeps_filters_record_rules_and_is_formula_safe(
        client: Any, people: dict) -> None:
    make_customer(people["a"], customer_name="=HYPERLINK(1)", customer_level="important")
    make_customer(people["a"], customer_name="甲的普通客户", customer_level="normal")
    make_customer(people["c"], customer_name="丙的重要客户", customer_level="important")
    api = api_callers(client, people)
    rows = _csv(api("a").get("/api/v1/customers?format=csv"))
    col = rows[0].index("customer_name")
    assert {r[col] for r in rows[1:]} == {"'=HYPERLINK(1)", "甲的普通客户"}
    rows = _csv(api("a").get("/api/v1/customers?format=csv&customer_level=important"))
    assert [r[col] for r in rows[1:]] == ["'=HYPERLINK(1)"]
    manager = _csv(api("manager").get("/api/v1/customers?format=csv"))
    assert len(manager) - 1 == 2  # his team's (a's), not c's of the other team
    response = api("a").get("/api/v1/customers?format=xlsx")
    assert response.status_code == 200 and response.is_streamed
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    names = {r[header.index("customer_name")]
             for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert names == {"'=HYPERLINK(1)", "甲的普通客户"}


def _set_locale(user: Any, locale: str) -> None:
    from core.extensions import db

    user.locale = locale
    db.session.commit()


def test_exports_are_capped_per_user_and_per_process_with_a_clear_answer(
        client: Any, people: dict, app: Any, monkeypatch: Any) -> None:
    from core.exports import SLOTS

    monkeypatch.setitem(app.config, "TANDEM_EXPORTS_PER_USER", 1)
    monkeypatch.setitem(app.config, "TANDEM_EXPORTS_PER_PROCESS", 2)
    _set_locale(people["c"], "en")
    make_customer(people["a"], customer_name="甲的客户")
    api = api_callers(client, people)
    first = api("a").get("/api/v1/customers?format=csv")  # streaming: not read yet
    assert first.status_code == 200 and first.is_streamed
    assert SLOTS.running == {people["a"].id: 1}  # held while it streams
    rows = _csv(first)[1:]
    assert len(rows) == 1 and "甲的客户" in rows[0]
    first.close()
    assert SLOTS.running == {}  # read to the end: freed
    # Exports still streaming (other requests of this process), as export_response takes them:
    release_a = SLOTS.take(people["a"].id, 2, 1)
    again = api("a").get("/api/v1/customers?format=csv")
    assert again.status_code == 429
    assert again.json["error"]["message"] == "您已有 1 个导出正在进行，请等待完成后再导出"
    release_c = SLOTS.take(people["c"].id, 2, 1)  # another user may: now the process is full
    busy = api("b").get("/api/v1/customers?format=csv")
    assert busy.status_code == 429 and busy.json["error"]["message"] == \
        "服务器正忙于其他导出，请稍后再试"
    english = api("c").get("/api/v1/customers?format=csv")
    assert english.status_code == 429
    assert english.json["error"]["message"] == \
        "You already have 1 export running; wait for it to finish before exporting again"
    login(client, people["b"])
    page = client.get("/crm/customers/?export=csv")
    assert page.status_code == 429 and "服务器正忙于其他导出" in page.get_data(as_text=True)
    release_a()
    release_a()  # twice is harmless
    release_c()
    assert SLOTS.running == {}
    assert "甲的客户" in _csv(api("a").get("/api/v1/customers?format=csv"))[1]


def test_an_export_past_its_time_limit_stops_and_frees_its_slot(
        client: Any, people: dict, app: Any, monkeypatch: Any) -> None:
    from core.exports import SLOTS
    from core.exports import ExportTimeout

    monkeypatch.setitem(app.config, "TANDEM_EXPORT_SECONDS", 1e-9)
    make_customer(people["a"], customer_name="甲的客户")
    login(client, people["a"])
    with pytest.raises(ExportTimeout):  # the download breaks off (raised while streaming)
        client.get("/crm/customers/?export=csv").get_data()
    assert SLOTS.running == {}
    monkeypatch.setitem(app.config, "TANDEM_EXPORT_SECONDS", 60)
    assert "甲的客户" in _csv(client.get("/crm/customers/?export=csv"))[1]
