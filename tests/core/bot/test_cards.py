from __future__ import annotations

import re

from core.bot.messages import Card
from core.bot.messages import CardButton
from core.bot.messages import CardReply
from core.bot.messages import TextReply
from core.bot.messages import as_reply


def _card(**kwargs):
    values = {
        "title": "中央空调制冷不佳",
        "source": "新售后工单",
        "description": "客户：ABC公司 | 设备：3楼中央空调",
        "emphasis": ("优先级", "高"),
        "fields": [("订单号", "OR20241108001"), ("设备型号", "格力GMV-H120")],
        "url": "https://tandem.example/ticket/123",
        "record": ("service_ticket", 123),
    }
    return Card(**(values | kwargs))


def test_button_card_is_button_interaction():
    card = _card(
        buttons=[
            CardButton.action("认领", "service.ticket.claim", 123),
            CardButton.link("查看详情", "https://tandem.example/ticket/123"),
        ]
    )
    tc = card.to_template_card()
    assert tc["card_type"] == "button_interaction"
    assert tc["main_title"] == {"title": "中央空调制冷不佳"}
    assert tc["source"] == {"desc": "新售后工单"}
    assert tc["emphasis_content"] == {"title": "高", "desc": "优先级"}
    assert tc["sub_title_text"] == "客户：ABC公司 | 设备：3楼中央空调"
    assert tc["horizontal_content_list"] == [
        {"keyname": "订单号", "value": "OR20241108001"},
        {"keyname": "设备型号", "value": "格力GMV-H120"},
    ]
    assert tc["card_action"] == {"type": 1, "url": "https://tandem.example/ticket/123"}
    assert tc["button_list"] == [
        {"text": "认领", "style": 1, "key": "service.ticket.claim:123"},
        {"text": "查看详情", "style": 1, "type": 1, "url": "https://tandem.example/ticket/123"},
    ]
    assert re.fullmatch(r"[A-Za-z0-9_\-@]{1,128}", tc["task_id"])
    assert tc["task_id"] == card.to_template_card()["task_id"]  # stable per card


def test_card_without_buttons_is_text_notice_and_caps():
    card = _card(fields=[(f"k{i}", str(i)) for i in range(9)])
    tc = card.to_template_card()
    assert tc["card_type"] == "text_notice"
    assert "button_list" not in tc
    assert len(tc["horizontal_content_list"]) == 6
    buttons = [CardButton.action(str(i), "x.y", i) for i in range(8)]
    assert len(Card("t", buttons=buttons).to_template_card()["button_list"]) == 6


def test_task_id_is_unique_and_safe():
    a, b = Card("t", record=("crm opp/x", 1)), Card("t", record=("crm opp/x", 1))
    assert a.ensure_task_id() != b.ensure_task_id()
    assert re.fullmatch(r"[A-Za-z0-9_\-@]+", a.task_id)
    assert Card("t", task_id="mine").ensure_task_id() == "mine"


def test_markdown_fallback():
    md = _card(buttons=[CardButton.action("认领", "service.ticket.claim", 123)]).to_markdown()
    assert "**中央空调制冷不佳**" in md
    assert "优先级：**高**" in md
    assert "> 订单号：OR20241108001" in md
    assert "(https://tandem.example/ticket/123)" in md
    assert "认领" in md


def test_as_reply():
    card = Card("t")
    assert as_reply(card) == CardReply(card)
    assert as_reply("好") == TextReply("好")
    assert as_reply(None).text == "已完成。"
    assert as_reply(TextReply("x")) == TextReply("x")
