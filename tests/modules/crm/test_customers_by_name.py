"""``customers_by_name``: the one lookup of customers by name that the imports share (crm's
contacts, equipment's units, service's batch repair requests) — through the record rules,
a clear reason when a name finds none or several, any number of names."""

from __future__ import annotations

import pytest

from core.errors import ValidationError
from modules.crm import queries
from modules.crm.models.customer import Customer
from modules.crm.queries import customers_by_name
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import make_customer


def test_names_are_found_through_the_record_rules(people):
    mine = make_customer(people["a"], customer_name="华东制冷")
    make_customer(people["a"], customer_name="重名客户", customer_type="individual")
    make_customer(people["b"], customer_name="重名客户", customer_type="individual")
    make_customer(people["c"], customer_name="别组客户")
    found = customers_by_name(ctx_for(people["manager"]),
                              ["华东制冷", "重名客户", "别组客户", "不存在", None],
                              Customer.phone)
    assert found.only("华东制冷") == mine.id
    assert found.rows[mine.id].phone == mine.phone  # the extra column asked for
    assert found.problem("华东制冷") is None
    assert found.problem("重名客户") == "有多个客户名为“重名客户”"
    assert found.problem("别组客户") == "找不到客户“别组客户”"  # another team's: not seen
    with pytest.raises(ValidationError) as refused:
        found.only("不存在")
    assert refused.value.fields == {"customer_name": "找不到客户“不存在”"}
    # Seen by its owner: one 重名客户 only.
    own = customers_by_name(ctx_for(people["a"]), ["重名客户", "别组客户"])
    assert len(own.ids["重名客户"]) == 1 and own.problem("别组客户")


def test_many_names_are_looked_up_in_chunks(people, monkeypatch):
    monkeypatch.setattr(queries, "NAME_CHUNK", 2)
    made = [make_customer(people["a"], customer_name=f"客户{i}") for i in range(5)]
    found = customers_by_name(ctx_for(people["a"]), [f"客户{i}" for i in range(5)])
    assert [found.only(f"客户{i}") for i in range(5)] == [c.id for c in made]
