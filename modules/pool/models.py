"""Pool rules per customer level, and the history of every move in and out of the pool."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from core.db import AuditedMixin
from core.db import utcnow
from core.extensions import db
from core.security.models import User
from modules.crm.models.customer import CUSTOMER_LEVELS

REASONS = {
    "inactive_days": "长期未跟进回收",
    "no_deal": "长期未成交回收",
    "manual": "手动放入公海",
    "claim": "领取",
    "assign": "分配",
}
RECYCLE_REASONS = ("inactive_days", "no_deal", "manual")


class PoolRule(AuditedMixin, db.Model):
    """Recycling rules for one customer level (important / normal / potential)."""

    __tablename__ = "pool_rule"
    # How a rule reads in history (core.history); the labels are the rules page's.
    __label__ = "公海规则"
    __record_title__ = "customer_level"
    __labels__ = {"customer_level": "分级", "enabled": "启用",
                  "inactive_days": "未跟进回收（天）", "no_deal_days": "未成交回收（天）",
                  "remind_days": "提前提醒（天）", "max_customers": "持有上限",
                  "max_claims_per_day": "每日领取上限", "cooldown_days": "原负责人冷却（天）"}
    __choices__ = {"customer_level": CUSTOMER_LEVELS}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_level: Mapped[str] = mapped_column(String(16), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    inactive_days: Mapped[int] = mapped_column(Integer, default=30)  # N: without a follow-up
    no_deal_days: Mapped[int] = mapped_column(Integer, default=90)  # M: without a won deal
    remind_days: Mapped[int] = mapped_column(Integer, default=3)  # K: reminder before
    max_customers: Mapped[int] = mapped_column(Integer, default=200)  # held per salesperson
    max_claims_per_day: Mapped[int] = mapped_column(Integer, default=10)
    cooldown_days: Mapped[int] = mapped_column(Integer, default=7)  # previous owner waits


class PoolMove(db.Model):
    """One move of a customer: into the pool (recycled or released) or out (claim, assign)."""

    __tablename__ = "pool_move"
    # How a move reads in history (core.history).
    __label__ = "公海流转"
    __labels__ = {"customer_id": "客户", "from_owner_id": "原负责人", "to_owner_id": "新负责人",
                  "reason": "原因", "note": "说明", "actor_id": "操作人", "at": "时间"}
    __choices__ = {"reason": REASONS}
    __table_args__ = (
        Index("ix_pool_move_customer", "customer_id", "at"),
        Index("ix_pool_move_claims", "to_owner_id", "reason", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("crm_customer.id", ondelete="CASCADE"))
    from_owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL")
    )
    to_owner_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    from_owner: Mapped[User | None] = relationship(foreign_keys=[from_owner_id], viewonly=True)
    to_owner: Mapped[User | None] = relationship(foreign_keys=[to_owner_id], viewonly=True)
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id], viewonly=True)

    @property
    def reason_label(self) -> str:
        return REASONS.get(self.reason, self.reason)
