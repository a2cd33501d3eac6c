from __future__ import annotations

import pytest

from core.bot.parser import fold
from core.bot.parser import parse_reference
from core.bot.parser import parse_text
from core.bot.parser import remove_span


def test_fold_keeps_positions():
    text = "＃跟进　ＯＰＰ－１，好"
    assert fold(text) == "#跟进 OPP-1,好"
    assert len(fold(text)) == len(text)


@pytest.mark.parametrize(
    ("text", "trigger", "args", "argv"),
    [
        ("#认领", "认领", "", []),
        ("＃认领", "认领", "", []),
        ("# 认领", "认领", "", []),
        (
            "#跟进 已发送方案，客户考虑中",
            "跟进",
            "已发送方案，客户考虑中",
            ["已发送方案", "客户考虑中"],
        ),
        ("＃跟进：已发方案；下周回访", "跟进", "已发方案；下周回访", ["已发方案", "下周回访"]),
        ("#报价　１８５０００", "报价", "１８５０００", ["185000"]),
        ("#报价，185000", "报价", "185000", ["185000"]),
        ("＃进度 ５０％", "进度", "５０％", ["50%"]),
        ("#申请配件 AC-COMP-2023、1", "申请配件", "AC-COMP-2023、1", ["AC-COMP-2023", "1"]),
        ("#HELP", "help", "", []),
    ],
)
def test_parse_command(text, trigger, args, argv):
    parsed = parse_text(text)
    assert (parsed.trigger, parsed.args, parsed.argv, parsed.explicit) == (
        trigger,
        args,
        argv,
        True,
    )


@pytest.mark.parametrize(
    "text",
    [
        "@Tandem #认领 OPP-7",
        "@Tandem\u2005#认领 OPP-7",  # WeCom puts U+2005 after a mention
        "＠机器人　＃认领　OPP-7",
        "@Tandem Bot #认领 OPP-7",  # robot names may contain spaces
    ],
)
def test_leading_bot_mention_is_stripped(text):
    parsed = parse_text(text)
    assert (parsed.trigger, parsed.args, parsed.mention_names) == ("认领", "OPP-7", [])


def test_plain_text_is_not_explicit():
    parsed = parse_text("@Tandem 帮助")
    assert (parsed.trigger, parsed.explicit) == ("帮助", False)
    assert parse_text("   ") is None
    assert parse_text("@Tandem") is None


def test_mentions_in_arguments():
    assert parse_text("#转派 @李工").mention_names == ["李工"]
    assert parse_text("＃协作＠张工，＠lisi").mention_names == ["张工", "lisi"]
    assert parse_text("#跟进 发到 a@b.com 了").mention_names == []


def test_parse_reference():
    ref = parse_reference("跟进OPP-1023 已发方案", "OPP-")
    assert (ref.text, ref.value, ref.span) == ("OPP-1023", "1023", (2, 10))
    assert parse_reference("ｏｐｐ－１０２３", "OPP-").text == "OPP-1023"
    assert parse_reference("工单 as20240202123456abc", "AS").text == "AS20240202123456ABC"
    assert parse_reference("CUS-12", "CUS-").value == "12"
    assert parse_reference("XOPP-1", "OPP-") is None
    assert parse_reference("OPP-", "OPP-") is None
    assert parse_reference("ASK 一下", "AS") is None
    assert parse_reference("编号 W-7b", "W-", pattern=r"\d+") is None


def test_remove_span_keeps_chinese_punctuation():
    text = "OPP-1023，已发方案，客户考虑中。"
    ref = parse_reference(text, "OPP-")
    assert remove_span(text, ref.span) == "已发方案，客户考虑中。"
    text = "已发方案 OPP-9 客户考虑中"
    assert remove_span(text, parse_reference(text, "OPP-").span) == "已发方案 客户考虑中"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("18.5万", "185000.00"),
        ("1.85万元", "18500.00"),
        ("¥185,000", "185000.00"),
        ("￥185,000", "185000.00"),
        ("185000元", "185000.00"),
        ("185,000", "185000.00"),
        ("185000", "185000.00"),
        ("１８５０００", "185000.00"),  # full-width digits
        ("18.5 万", "185000.00"),
        ("¥ 12,345.50 元", "12345.50"),
        ("RMB 2千", "2000.00"),
        ("0.5w", "5000.00"),
        ("3块", "3.00"),
    ],
)
def test_amount_forms(text, value):
    from decimal import Decimal

    from core.bot.parser import parse_amount

    assert parse_amount(text) == Decimal(value)


@pytest.mark.parametrize(
    "text", ["", "abc", "50%", "OPP-1023", "1,85", "18.5万 含安装", "万元", "12a"]
)
def test_not_one_amount(text):
    from core.bot.parser import parse_amount

    assert parse_amount(text) is None


def test_find_amount_in_a_sentence_and_remove_it():
    from decimal import Decimal

    from core.bot.parser import find_amount

    text = "OPP-7 报价，18.5万，含安装"
    found = find_amount(text)
    assert found.value == Decimal("185000.00")
    assert remove_span(text, found.span) == "OPP-7 报价 含安装"
