"""Opportunities (商机) and their quotes."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from core.db import AuditedMixin
from core.db import TimestampMixin
from core.db import utcnow
from core.extensions import db
from core.security.models import User
from modules.crm.models.customer import Customer
from modules.crm.models.customer import FollowUp

STATUSES = {
    "new": "新建",
    "contacted": "已联系",
    "quoted": "已报价",
    "negotiating": "谈判中",
    "won": "成交",
    "lost": "丢单",
}
OPEN_STATUSES = ("new", "contacted", "quoted", "negotiating")
# Allowed moves; "lost" is possible from every open stage (with a reason).
TRANSITIONS = {
    "new": {"contacted", "quoted", "lost"},
    "contacted": {"quoted", "negotiating", "lost"},
    "quoted": {"negotiating", "won", "lost", "contacted"},
    "negotiating": {"quoted", "won", "lost"},
    "won": set(),
    "lost": {"new"},  # reopen
}
# The funnel's stages in order; ``stage_reached`` keeps the furthest one an opportunity got to
# (a lost opportunity still counts for the stages it passed).
STAGES = ("new", "contacted", "quoted", "negotiating", "won")
SOURCES = {"wecom": "企业微信", "phone": "电话", "website": "官网", "referral": "转介绍",
           "exhibition": "展会", "other": "其他"}
NUMBER_PREFIX = "OPP-"


def opportunity_number(opportunity_id: int) -> str:
    """123 → ``OPP-123``."""
    return f"{NUMBER_PREFIX}{opportunity_id}"


class Opportunity(AuditedMixin, TimestampMixin, db.Model):
    __tablename__ = "crm_opportunity"
    __table_args__ = (
        Index("ix_crm_opportunity_owner_status", "owner_id", "status"),
        Index("ix_crm_opportunity_status_created", "status", "created_at"),
        Index("ix_crm_opportunity_status_id", "status", "id"),  # kanban columns
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("estimated_amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("crm_customer.id", ondelete="CASCADE"),
                                             index=True)
    product_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    estimated_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    source: Mapped[str | None] = mapped_column(String(32))
    requirements: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"),
                                                 index=True)
    lost_reason: Mapped[str | None] = mapped_column(Text)
    stage_reached: Mapped[str] = mapped_column(String(16), default="new")
    followed_up_at: Mapped[datetime | None]
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    won_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    quotes: Mapped[list[Quote]] = relationship(back_populates="opportunity",
                                               order_by="Quote.id.desc()",
                                               cascade="all, delete-orphan")
    follow_ups: Mapped[list[FollowUp]] = relationship(
        primaryjoin="FollowUp.opportunity_id == Opportunity.id",
        foreign_keys="FollowUp.opportunity_id", order_by="FollowUp.follow_up_at.desc()",
        viewonly=True)

    @property
    def number(self) -> str:
        return opportunity_number(self.id)

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def current_quote(self) -> Quote | None:
        return next((q for q in self.quotes if q.is_current), None)


class Quote(AuditedMixin, db.Model):
    """A price offered; one per opportunity is current (the latest), enforced by a partial
    unique index."""

    __tablename__ = "crm_quote"
    __table_args__ = (
        Index("uq_crm_quote_current", "opportunity_id", unique=True,
              postgresql_where=text("is_current"), sqlite_where=text("is_current")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("crm_opportunity.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    valid_until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("core_user.id",
                                                             ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    opportunity: Mapped[Opportunity] = relationship(back_populates="quotes")
