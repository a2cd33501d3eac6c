"""The chart component: ECharts vendored with its version and checksum, a chart's option as
a JSON data island, its table and exports beside it (on the demo_a example page)."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.extensions import db
from core.web.charts import bar_option
from core.web.charts import option_json
from tests.conftest import cleaned_context
from tests.conftest import installed_app
from tests.conftest import login

VENDOR = Path(__file__).parents[3] / "core/web/static/vendor/echarts"


def test_echarts_is_vendored_with_its_version_and_checksums():
    record = dict(line.split("=", 1) for line in (VENDOR / "VERSION").read_text().splitlines()
                  if "=" in line and not line.startswith("#"))
    assert record["package"] == "echarts" and re.fullmatch(r"\d+\.\d+\.\d+", record["version"])
    assert record["integrity"].startswith("sha512-")
    data = (VENDOR / "echarts.min.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == record["sha256"]
    sums = dict(reversed(line.split()) for line in (VENDOR / "SHA256SUMS").read_text().splitlines())
    assert sums["echarts.min.js"] == record["sha256"]
    assert hashlib.sha256((VENDOR / "LICENSE").read_bytes()).hexdigest() == sums["LICENSE"]
    assert b"Apache" in (VENDOR / "LICENSE").read_bytes()


def test_option_json_cannot_close_its_script_tag():
    text = str(option_json(bar_option(["</script><b>"], [("a&b", [1])])))
    assert "</script>" not in text and "<b>" not in text and "&" not in text
    assert json.loads(text)["xAxis"]["data"] == ["</script><b>"]


@pytest.fixture(scope="module")
def chart_app(databases: Any, instance_dir: Any) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["demo_a"]) as app:
        yield app


@pytest.fixture
def chart_client(chart_app: Any) -> Iterator[Any]:
    with cleaned_context(chart_app) as app:
        yield app.test_client()


def _setup(rows: list[tuple[str, str]]) -> Any:
    from core.security.services import create_user
    from core.services import ServiceContext
    from core.services import unit_of_work

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        user = create_user(ctx, "s1", roles=("sales",), password="secret-pass-1")
    table = db.metadata.tables["demo_a_widget"]
    if rows:  # (an empty list would insert one row of defaults)
        db.session.execute(table.insert(), [{"name": n, "owner_id": user.id, "status": s}
                                            for n, s in rows])
    db.session.commit()
    return user


def test_the_chart_has_its_data_its_table_and_its_exports(chart_client):
    login(chart_client, _setup([("a", "new"), ("b", "new"), ("c", "done")]))
    page = chart_client.get("/demo-a/chart").get_data(as_text=True)
    island = re.search(r'<script type="application/json" id="by-status-option">(.*?)</script>',
                       page, re.S).group(1)
    option = json.loads(island)
    assert option["xAxis"]["data"] == ["新建", "进行中", "完成"]
    assert option["series"][0]["data"] == [2, 0, 1]
    assert 'data-chart="by-status-option"' in page and "vendor/echarts/echarts.min.js" in page
    table = page.split('id="by-status-table"')[1]
    assert "<th>状态</th><th>数量</th>" in table and "<td>新建</td><td>2</td>" in table
    csv = chart_client.get("/demo-a/chart?export=csv")
    assert csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True).lstrip("\ufeff").splitlines() == [
        "状态,数量", "新建,2", "进行中,0", "完成,1"]
    xlsx = chart_client.get("/demo-a/chart?export=xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)][1] == ["新建", 2]
    assert db.session.scalar(select(db.func.count()).select_from(
        db.metadata.tables["demo_a_widget"])) == 3


def test_funnel_and_pie_options_carry_their_figures():
    from decimal import Decimal

    from core.web.charts import funnel_option
    from core.web.charts import pie_option

    funnel = json.loads(str(option_json(funnel_option([("新建", 40), ("已报价", 12)]))))
    assert funnel["series"][0]["type"] == "funnel"
    assert funnel["series"][0]["data"] == [{"name": "新建", "value": 40},
                                           {"name": "已报价", "value": 12}]
    pie = json.loads(str(option_json(pie_option([("企业微信", Decimal("185000.50"))]))))
    assert pie["series"][0]["data"] == [{"name": "企业微信", "value": 185000.5}]
    money = bar_option(["9月"], [("成交金额", [Decimal("1.5")])], money=True, kind="line")
    assert money["yAxis"]["tandemMoney"] is True and money["series"][0]["type"] == "line"


def test_a_chart_without_figures_says_so_and_keeps_its_table(chart_client):
    """A chart whose series are all empty or zero shows "no data" instead of bare axes;
    its table and exports stay (the zeros are figures of the table)."""
    from core.web.charts import has_figures

    assert not has_figures(bar_option(["a", "b"], [("x", [None, 0]), ("y", [0, None])]))
    assert not has_figures({"series": [{"data": [{"name": "a", "value": 0}]}]})
    assert not has_figures({"series": []}) and not has_figures({})
    assert has_figures(bar_option(["a", "b"], [("x", [None, 0]), ("y", [0, 0.5])]))
    assert has_figures({"series": [{"data": [{"name": "a", "value": 3}]}]})
    login(chart_client, _setup([]))
    page = chart_client.get("/demo-a/chart").get_data(as_text=True)
    assert "所选期间暂无数据" in page and 'id="by-status-option"' not in page
    assert "<td>新建</td><td>0</td>" in page.split('id="by-status-table"')[1]
    assert chart_client.get("/demo-a/chart?export=csv").status_code == 200
