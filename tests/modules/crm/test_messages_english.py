"""crm's messages follow the reader: a user whose locale is ``en`` reads errors, field errors
and bot replies in English, whether he uses the API or the bot; a Chinese user (the default)
keeps the Chinese texts."""

from __future__ import annotations

import re

import pytest

from core.bot import IncomingMessage
from core.bot import dispatch
from core.extensions import db
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity
from tests.modules.crm.factories import mobile

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def tom(people):
    """Salesman ``a`` of team 一组, reading English."""
    people["a"].locale = "en"
    db.session.commit()
    return people["a"]


def say(text, userid, chat="chat-en"):
    return dispatch(IncomingMessage(text, userid, chat)).to_text()


def test_api_errors_are_in_the_callers_language(api, tom):
    invalid = api("a").post("/api/v1/customers", json={"customer_name": "Acme", "phone": "12345"})
    assert invalid.status_code == 422
    error = invalid.json["error"]
    assert error["message"].startswith("Please check: Invalid mobile number")
    assert error["fields"]["phone"].startswith("Invalid mobile number: enter an 11-digit")
    assert not HAN.search(invalid.get_data(as_text=True))

    taken = make_customer(tom, customer_name="老客户", phone=mobile())
    duplicate = api("a").post("/api/v1/customers",
                              json={"customer_name": "Acme", "phone": taken.phone})
    assert duplicate.status_code == 409
    message = duplicate.json["error"]["message"]
    assert message == (f"Mobile number {taken.phone} is already used by your customer "
                       f"“老客户” ({taken.number})")  # the name is data: it stays as it is
    assert duplicate.json["error"]["fields"] == {"phone": message}

    # The same calls by a Chinese colleague: the texts are unchanged.
    zh = api("b").post("/api/v1/customers", json={"customer_name": "张三", "phone": "12345"})
    assert zh.json["error"]["fields"]["phone"] == (
        "手机号格式不正确，请输入 11 位中国大陆手机号（如 138 1234 5678）")
    assert zh.json["error"]["message"].startswith("请检查：手机号格式不正确")
    zh = api("b").post("/api/v1/customers", json={"customer_name": "张三", "phone": taken.phone})
    assert zh.status_code == 409
    assert zh.json["error"]["message"] == (
        f"手机号 {taken.phone} 已被其他销售负责的客户使用，不能重复建档；如需跟进请联系您的经理")


def test_bot_replies_are_in_the_senders_language(tom, people):
    tom.wecom_userid = "tom.en"
    people["b"].wecom_userid = "li.zh"
    db.session.commit()
    mine = make_opportunity(make_customer(tom), tom)
    theirs = make_opportunity(make_customer(people["b"]), people["b"])

    assert say(f"#跟进 {mine.number}", "tom.en") == (
        "Write the follow-up, e.g. #跟进 OPP-1023 Proposal sent")
    assert say(f"#丢单 {mine.number}", "tom.en") == (
        "Write why it was lost, e.g. #丢单 OPP-1023 Price above the competition")
    assert say(f"#跟进 {mine.number} 已发方案", "tom.en") == (
        f"Follow-up recorded on {mine.number}: 已发方案")
    assert say(f"#成交 {mine.number}", "tom.en") == (
        "The opportunity cannot go from “Contacted” to “Won”")
    assert say(f"#报价 {mine.number} 185000", "tom.en") == (
        f"{mine.number} quoted at ¥185,000.00 (current quote)")
    card = dispatch(IncomingMessage(f"#成交 {mine.number}", "tom.en", "chat-en")).card
    assert card.source == "Won" and card.emphasis == ("Won amount", "¥185,000.00")
    assert card.fields == [
        ("Customer", mine.customer.customer_name), ("Number", mine.number), ("Status", "Won"),
        ("Owner", tom.name), ("Estimated amount", "¥185,000.00")]
    assert [b.text for b in card.buttons] == ["View"]
    # Sent later, outside the sender's locale, the card keeps its reader's language.
    assert "> Customer: " in card.to_markdown() and "[Details](" in card.to_markdown()
    assert card.to_template_card()["jump_list"][0]["title"] == "Details"
    assert say("#帮助 跟进", "tom.en").startswith(
        "#跟进 [OPP-number] text　Record a follow-up on an opportunity")

    # A Chinese colleague, the same commands: the texts are unchanged.
    assert say(f"#丢单 {theirs.number}", "li.zh") == "请写丢单原因，例如：#丢单 OPP-1023 价格高于竞品"
    assert say(f"#跟进 {theirs.number} 已发方案", "li.zh") == (
        f"已记录 {theirs.number} 的跟进：已发方案")
    assert say(f"#成交 {theirs.number}", "li.zh") == "商机不能从“已联系”变为“成交”"
    assert say(f"#报价 {theirs.number} 185000", "li.zh") == (
        f"{theirs.number} 已报价 ¥185,000.00（当前报价）")
    card = dispatch(IncomingMessage(f"#成交 {theirs.number}", "li.zh", "chat-zh")).card
    assert card.source == "已成交" and card.emphasis == ("成交金额", "¥185,000.00")
    assert [k for k, _v in card.fields] == ["客户", "编号", "状态", "负责人", "预计金额"]
    assert [b.text for b in card.buttons] == ["查看"]
    assert say("#帮助 跟进", "li.zh").startswith("#跟进 [OPP-编号] 内容　记录商机跟进")
