"""crm's and pool's audited models declare how they read in history: no field shows under
its column name, bookkeeping is hidden, and every label has its English."""

from __future__ import annotations

import pytest

from core.db import AuditedMixin
from core.extensions import db
from core.history import field_label
from core.history import hidden_fields
from core.history import undeclared_fields


def _audited():
    import modules.crm.models  # noqa: F401
    import modules.pool.models  # noqa: F401

    return sorted((m.class_ for m in db.Model.registry.mappers
                   if issubclass(m.class_, AuditedMixin)
                   and m.class_.__tablename__.startswith(("crm_", "pool_"))),
                  key=lambda c: c.__tablename__)


@pytest.mark.parametrize("model", _audited(), ids=lambda c: c.__tablename__)
def test_every_field_has_a_label(app_ctx, model):
    assert undeclared_fields(model) == []
    assert getattr(model, "__label__", None), model


def test_bookkeeping_is_hidden(app_ctx):
    from modules.crm.models.customer import Customer
    from modules.crm.models.opportunity import Opportunity
    from modules.crm.models.opportunity import Quote

    assert "last_follow_up_at" in hidden_fields(Customer)
    assert "followed_up_at" in hidden_fields(Opportunity)
    assert "is_current" in hidden_fields(Quote)
    assert field_label(Opportunity, "owner_id") == "负责人"
