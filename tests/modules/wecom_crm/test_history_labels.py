"""A customer's WeCom identity reads in people's words in history (core.history
declarations): no field shows under its column name, and the audit log names a binding's
and an external contact's fields and statuses in Chinese."""

from __future__ import annotations

import pytest

from core.extensions import db
from core.history import hidden_fields
from core.history import undeclared_fields
from core.services import ServiceContext
from core.services import unit_of_work
from modules.wecom_crm.models import Binding
from modules.wecom_crm.models import ExternalLink
from tests.conftest import audit_changes
from tests.conftest import login
from tests.modules.crm.factories import make_customer


@pytest.mark.parametrize("model", [Binding, ExternalLink], ids=lambda c: c.__tablename__)
def test_every_audited_field_has_a_label(app_ctx, model):
    assert undeclared_fields(model) == []
    assert getattr(model, "__label__", None)


def test_the_transfer_stamp_is_bookkeeping(app_ctx):
    assert "transfer_updated_at" in hidden_fields(ExternalLink)


def test_a_binding_and_a_contacts_transfer_read_in_words(client, app_ctx, make_user):
    owner = make_user("sales")
    customer = make_customer(owner, customer_name="王先生")
    with unit_of_work(ServiceContext.system("job")):  # each its own moment: one entry each
        binding = Binding(customer_id=customer.id, oa_openid="openid-1", binding_status="temp")
        link = ExternalLink(customer_id=customer.id, external_userid="wm_ext1",
                            follow_userid="li.sales", add_way=2)
        db.session.add_all([binding, link])
    with unit_of_work(ctx := ServiceContext.system("job")):
        binding.binding_status, binding.is_verified = "linked", True
        link.transfer_status, link.transfer_updated_at = "waiting", ctx.now
    with unit_of_work(ctx := ServiceContext.system("job")):
        link.transfer_status, link.transfer_updated_at = "refused", ctx.now
    login(client, make_user("admin"))
    body, changes = audit_changes(client, "wecom_crm_binding", binding.id)
    assert f"企业微信绑定 #{binding.id}" in body
    assert "绑定状态：临时绑定 → 已关联企业微信" in changes and "已认证：否 → 是" in changes
    assert "客户：王先生" in changes  # the creation, the customer by name
    body, changes = audit_changes(client, "wecom_crm_external_link", link.id)
    assert "转移状态：等待客户接替 → 客户拒绝" in changes, changes
    assert "transfer_updated_at" not in body
