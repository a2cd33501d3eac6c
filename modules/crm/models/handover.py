"""Customer handover (客户交接): preparation → review → confirmation → completed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from core.db import AuditedMixin
from core.db import TimestampMixin
from core.db import utcnow
from core.extensions import db
from core.security.models import User

STAGES = {
    "preparation": "准备",
    "review": "审核",
    "confirmation": "确认",
    "completed": "已完成",
    "cancelled": "已取消",
}
ACTIONS = {
    "start": "发起",
    "checklist": "完善清单",
    "submit": "提交审核",
    "approve": "审核通过",
    "reject": "退回",
    "confirm": "确认接收",
    "cancel": "取消",
}
REASONS = {"resignation": "离职", "position_change": "岗位调整", "other": "其他"}


class Handover(AuditedMixin, TimestampMixin, db.Model):
    __tablename__ = "crm_handover"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL")
    )
    to_user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id"))
    initiator_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(16), default="preparation", index=True)
    checklist: Mapped[list] = mapped_column(JSON, default=list)
    completed_at: Mapped[datetime | None]

    from_user: Mapped[User | None] = relationship(foreign_keys=[from_user_id], viewonly=True)
    to_user: Mapped[User] = relationship(foreign_keys=[to_user_id], viewonly=True)
    initiator: Mapped[User | None] = relationship(foreign_keys=[initiator_id], viewonly=True)
    customers: Mapped[list[HandoverCustomer]] = relationship(cascade="all, delete-orphan")
    steps: Mapped[list[HandoverStep]] = relationship(
        cascade="all, delete-orphan", order_by="HandoverStep.id"
    )

    @property
    def number(self) -> str:
        return f"HO-{self.id}"

    @property
    def stage_label(self) -> str:
        return STAGES.get(self.stage, self.stage)

    @property
    def reason_label(self) -> str:
        return REASONS.get(self.reason, self.reason)


class HandoverCustomer(db.Model):
    __tablename__ = "crm_handover_customer"

    handover_id: Mapped[int] = mapped_column(
        ForeignKey("crm_handover.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("crm_customer.id", ondelete="CASCADE"), primary_key=True
    )


class HandoverStep(db.Model):
    """Every step of a handover, kept for its history."""

    __tablename__ = "crm_handover_step"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handover_id: Mapped[int] = mapped_column(
        ForeignKey("crm_handover.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    stage_from: Mapped[str | None] = mapped_column(String(16))
    stage_to: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship(viewonly=True)
