"""Pool rules read in people's words in the audit log (core.history declarations)."""

from __future__ import annotations

from core.history import readable_changes
from core.history import undeclared_fields
from modules.pool.models import PoolRule


def test_pool_rule_declares_every_field(app_ctx):
    assert undeclared_fields(PoolRule) == []
    changes = readable_changes(PoolRule, {"customer_level": [None, "important"],
                                          "inactive_days": [30, 15]}, {})
    assert [(c.label, c.old, c.new) for c in changes] == [("分级", "—", "重要"),
                                                         ("未跟进回收（天）", "30", "15")]
