"""Stock's audited models read in people's words in history (core.history declarations):
no field shows under its column name, the ledger's running figures are hidden, and a part
request's history in the audit log names its fields and statuses in Chinese."""

from __future__ import annotations

import pytest

from core.history import hidden_fields
from core.history import undeclared_fields
from modules.stock import models
from modules.stock.services import catalogue
from modules.stock.services import requests as svc
from tests.conftest import audit_changes
from tests.conftest import login
from tests.modules.stock.factories import as_user
from tests.modules.stock.factories import make_part
from tests.modules.stock.factories import make_request
from tests.modules.stock.factories import make_warehouse
from tests.modules.stock.factories import receive

AUDITED = [m for m in models.MODELS if getattr(m, "__audited__", False)]


def test_the_audited_models_are_the_seven():
    assert {m.__name__ for m in AUDITED} == {
        "Supplier", "Part", "Warehouse", "PartRequest", "PurchaseRequest", "PurchaseOrder",
        "StockCount"}


@pytest.mark.parametrize("model", AUDITED, ids=lambda c: c.__tablename__)
def test_every_audited_field_has_a_label(app_ctx, model):
    assert undeclared_fields(model) == []
    assert getattr(model, "__label__", None)


def test_the_ledgers_figures_are_bookkeeping(app_ctx):
    assert {"on_hand_total", "average_cost"} <= hidden_fields(models.Part)


def test_a_part_request_and_a_part_edit_read_in_words(client, app_ctx, make_user):
    engineer, keeper = make_user("engineer", display_name="李工"), make_user("warehouse")
    part, main = make_part(part_name="空调滤网", category="filter"), make_warehouse(name="总仓")
    receive(part, main, 5)
    request = make_request(engineer, part, 2)
    as_user(keeper, svc.approve_request, request.id)
    as_user(keeper, catalogue.update_part, part.id, {"category": "compressor",
                                                     "min_stock_alert": "3"})
    login(client, make_user("admin"))
    body, changes = audit_changes(client, "stock_part_request", request.id)
    assert f"配件申请 #{request.id}" in body
    assert {"申请人：李工", "状态：待审批", "用途：维修", "紧急程度：普通"} <= set(changes), changes
    body, changes = audit_changes(client, "stock_part", part.id)
    assert "类别：滤网 → 压缩机" in changes and "最低库存：0 → 3" in changes, changes
    assert "配件名称：空调滤网" in changes  # its creation, in words
    assert "average_cost" not in body and "on_hand_total" not in body


def test_a_part_requests_decisions_are_audited_in_words(client, app_ctx, make_user):
    """Approval, issue and rejection move a request by conditional UPDATEs, which the flush
    listener never sees: each move is audited all the same, with who decided."""
    engineer, keeper = make_user("engineer", display_name="李工"), \
        make_user("warehouse", display_name="刘仓管")
    part, main = make_part(part_name="空调滤网", category="filter"), make_warehouse(name="总仓")
    receive(part, main, 5)
    issued, rejected = make_request(engineer, part, 2), make_request(engineer, part, 1)
    as_user(keeper, svc.approve_request, issued.id)
    as_user(keeper, svc.reject_request, rejected.id, "型号不符")
    login(client, make_user("admin"))
    _body, changes = audit_changes(client, "stock_part_request", issued.id)
    # approved and issued in one go: one entry (core.history folds a unit of work's rows)
    assert {"状态：待审批 → 已出库", "审批人：— → 刘仓管", "出库仓库：— → 总仓"} <= set(changes), \
        changes
    _body, changes = audit_changes(client, "stock_part_request", rejected.id)
    assert {"状态：待审批 → 已驳回", "审批意见：— → 型号不符"} <= set(changes), changes
