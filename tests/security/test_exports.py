"""Issue 14 #7: exported cells are text, never formulas, and any text can be exported."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from core.extensions import db
from core.web.listview import safe_cell
from modules.crm.models.customer import Customer
from tests.conftest import backend
from tests.conftest import login
from tests.modules.crm.factories import make_customer

PAYLOADS = ['=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(A1)",
            "\tTAB", "\rCR"]


def test_safe_cell_neutralises_formula_starts_and_drops_unwritable_characters():
    for raw in PAYLOADS:
        assert safe_cell(raw) == "'" + raw
    assert safe_cell("a\x00b\x1fc") == "abc"
    assert safe_cell("-120.50") == "-120.50" and safe_cell(5) == 5 and safe_cell(None) is None
    assert safe_cell("普通客户") == "普通客户"


def test_customer_exports_carry_formulas_as_text(client, people):
    for n, raw in enumerate(PAYLOADS[:4]):  # names are stripped: no leading tab or CR
        make_customer(people["a"], customer_name=f"{raw}{n}")
    login(client, people["a"])
    rows = list(csv.reader(io.StringIO(
        client.get("/crm/customers/?export=csv").get_data(as_text=True).lstrip("\ufeff"))))
    names = {r[1] for r in rows[1:]}
    assert all(name.startswith("'") for name in names), names
    sheet = load_workbook(io.BytesIO(client.get("/crm/customers/?export=xlsx").data)).active
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert cells and all(c.data_type == "s" and str(c.value).startswith("'") for c in cells)


def test_a_nul_in_a_name_does_not_break_the_xlsx_export(client, people):
    if backend() == "postgresql":
        return  # PostgreSQL cannot store a NUL at all (the input guard refuses it)
    customer = make_customer(people["a"], customer_name="名字")
    db.session.get(Customer, customer.id).customer_name = "有\x00空字符"
    db.session.commit()
    login(client, people["a"])
    response = client.get("/crm/customers/?export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["有空字符"]
