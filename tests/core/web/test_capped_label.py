"""One label for a capped count (core.paging.capped_label): "10,000+" beyond the cap, the
number below it; the list pages, the kanban columns and the workspace cards all show it."""

from __future__ import annotations

from core.paging import capped_label
from tests.conftest import login
from tests.modules.crm.factories import make_customer


def test_the_label_is_the_cap_with_a_plus_beyond_it_and_the_number_below():
    assert capped_label(10_001, 10_000) == "10,000+"
    assert capped_label(10_000, 10_000) == "10000"
    assert capped_label(10_000, 10_000, grouped=True) == "10,000"
    assert capped_label(1234, 10_000, grouped=True) == "1,234"
    assert capped_label(3, 2) == "2+"
    assert capped_label(123_456, None) == "123456"  # no cap: the exact count


def test_a_list_page_shows_its_capped_total_through_the_label(app_ctx, make_user, monkeypatch):
    admin = make_user("admin")
    for _ in range(3):
        make_customer(admin)
    client = app_ctx.test_client()
    login(client, admin)
    monkeypatch.setitem(app_ctx.config, "TANDEM_COUNT_CAP", 2)
    assert "共 2+ 条" in client.get("/crm/customers/").get_data(as_text=True)
    monkeypatch.setitem(app_ctx.config, "TANDEM_COUNT_CAP", 10_000)
    assert "共 3 条" in client.get("/crm/customers/").get_data(as_text=True)
