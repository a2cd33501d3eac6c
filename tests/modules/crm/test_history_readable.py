"""History in people's words on an opportunity: a change by the web, one by the API and one
by the bot are three readable entries — field labels, status labels, money, Beijing times,
the actor and the channel — and no column name or raw code anywhere."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from core.audit import AuditLog
from core.bot import IncomingMessage
from core.bot import dispatch
from core.extensions import db
from core.history import undeclared_fields
from core.security.services import issue_token
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm.models.customer import Customer
from modules.crm.models.opportunity import Opportunity
from tests.conftest import login
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity

COLUMNS = {c.key for c in Opportunity.__table__.columns}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def _timeline(page: str) -> str:
    return page.split('id="timeline"')[1].split("</form>", 1)[1]


def test_web_api_and_bot_changes_read_as_three_labelled_entries(client, make_user):
    li = make_user("sales", username="li", display_name="李销售", wecom_userid="li.sales")
    opp = make_opportunity(make_customer(li, customer_name="上海盛安建设有限公司"), li)
    login(client, li)

    assert client.post(f"/crm/opportunities/{opp.id}/status",
                       data={"status": "contacted"}).status_code == 302
    with unit_of_work(ctx := ServiceContext.system("cli")):
        token = issue_token(ctx, li)
    assert client.patch(f"/api/v1/opportunities/{opp.id}",
                        json={"estimated_amount": "276000", "product_name": "螺杆式冷水机组"},
                        headers={"Authorization": f"Bearer {token}"}).status_code == 200
    dispatch(IncomingMessage(f"#报价 {opp.number} 185000", "li.sales", "g1"))

    page = client.get(f"/crm/opportunities/{opp.id}").get_data(as_text=True)
    timeline = _timeline(page)
    entries = timeline.split('class="timeline-entry')[1:]
    by_source = {re.search(r'data-source="(\w+)"', e).group(1): _text(e) for e in entries}
    assert set(by_source) == {"cli", "web", "api", "bot"}  # one entry per action
    assert len(entries) == 4

    assert "状态变更" in by_source["web"] and "状态：新建 → 已联系" in by_source["web"]
    assert "最远阶段：新建 → 已联系" in by_source["web"] and "网页" in by_source["web"]
    assert "预计金额：¥185,000.00 → ¥276,000.00" in by_source["api"]
    assert "产品：中央空调 → 螺杆式冷水机组" in by_source["api"] and "API" in by_source["api"]
    assert "报价" in by_source["bot"] and "¥185,000.00" in by_source["bot"]
    assert "机器人" in by_source["bot"] and "李销售" in by_source["bot"]
    creation = by_source["cli"]
    assert "创建" in creation and "负责人：李销售" in creation and "→" not in creation
    assert "客户：上海盛安建设有限公司" in creation

    # Times are Beijing times (UTC+8), as the rest of the page.
    rows = db.session.scalars(select(AuditLog).where(
        AuditLog.model == "crm_opportunity", AuditLog.record_id == str(opp.id),
        AuditLog.source == "web")).all()
    beijing = (rows[0].at.replace(tzinfo=None) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert beijing in by_source["web"]

    words = set(re.findall(r"[a-z_]+", _text(timeline)))
    assert not words & COLUMNS - {"status"} and "status" not in _text(timeline).lower()
    assert "contacted" not in _text(timeline) and "quoted" not in _text(timeline)
    assert "T" not in re.sub(r"[^0-9T:-]", " ", _text(timeline)).split()  # no ISO times


def test_a_login_writes_no_audit_row(client, make_user):
    user = make_user("sales", username="s1")
    before = db.session.scalar(select(db.func.count()).select_from(AuditLog))
    login(client, user)
    client.post("/logout")
    login(client, user)
    assert db.session.scalar(select(db.func.count()).select_from(AuditLog)) == before


def test_crm_customer_and_opportunity_declare_every_field():
    assert undeclared_fields(Customer) == []
    assert undeclared_fields(Opportunity) == []


def test_times_dates_money_and_choices_read_as_people_write_them(app_ctx):
    from core.history import readable_changes

    changes = readable_changes(Opportunity, {
        "closed_at": [None, "2026-10-28T01:42:38.219907+00:00"],
        "expected_close_date": ["2026-11-30", "2026-12-31"],
        "estimated_amount": ["185000.00", "276000"],
        "status": ["quoted", "won"],
        "followed_up_at": [None, "2026-10-28T01:42:38+00:00"],  # bookkeeping: hidden
        "quote": [None, "185000.00"],
    }, {})
    assert [(c.label, c.old, c.new) for c in changes] == [
        ("关闭时间", "—", "2026-10-28 09:42"),
        ("预计成交日期", "2026-11-30", "2026-12-31"),
        ("预计金额", "¥185,000.00", "¥276,000.00"),
        ("状态", "已报价", "成交"),
        ("报价", "—", "¥185,000.00"),
    ]
