"""Orders and their lines read in people's words in history (core.history declarations):
no field shows under its column name, and an order's timeline names its fields and
statuses in Chinese."""

from __future__ import annotations

import re

import pytest

from core.history import hidden_fields
from core.history import undeclared_fields
from modules.sales.models import Order
from modules.sales.models import OrderLine
from tests.conftest import login
from tests.modules.sales.factories import advance
from tests.modules.sales.factories import make_order


@pytest.mark.parametrize("model", [Order, OrderLine], ids=lambda c: c.__tablename__)
def test_every_audited_field_has_a_label(app_ctx, model):
    assert undeclared_fields(model) == []
    assert getattr(model, "__label__", None)


def test_the_share_version_is_bookkeeping(app_ctx):
    assert "share_version" in hidden_fields(Order)


def test_an_orders_timeline_reads_status_and_times_in_words(client, people):
    order = advance(people["a"], make_order(people["a"]), "confirmed", "paid")
    login(client, people["a"])
    page = client.get(f"/sales/orders/{order.id}").get_data(as_text=True)
    timeline = page.split('id="timeline"', 1)[1]
    assert '<span class="text-body">状态</span>：已确认 → 已付款' in timeline
    assert '<span class="text-body">付款时间</span>' in timeline
    assert '<span class="text-body">订单金额</span>：¥37,000.00' in timeline  # the creation
    labels = re.findall(r'<span class="text-body">([^<]*)</span>', timeline)
    assert labels and not [x for x in labels if re.fullmatch(r"[a-z_]+", x)], labels
    assert "confirmed → paid" not in timeline and "share_version" not in timeline
