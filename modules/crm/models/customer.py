"""Customers, their contacts and follow-ups.

Field names are the business's own (``customer_name``, ``customer_type``,
``customer_level`` …). The pool module builds on ``owner_id``, ``owner_since``, ``status``,
``last_follow_up_at`` and ``locked``.
"""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship
from sqlalchemy.orm import synonym

from core.db import AuditedMixin
from core.db import TimestampMixin
from core.extensions import db
from core.security.models import User

CUSTOMER_TYPES = {"individual": "个人", "enterprise": "企业"}
CUSTOMER_LEVELS = {"important": "重要", "normal": "普通", "potential": "潜在"}
CUSTOMER_STATUSES = {"active": "活跃", "inactive": "非活跃", "in_pool": "公海"}
CUSTOMER_SOURCES = {
    "referral": "转介绍",
    "website": "官网",
    "exhibition": "展会",
    "cold_call": "电话开发",
    "wecom": "企业微信",
    "advertising": "广告",
    "other": "其他",
}
FOLLOW_UP_CHANNELS = {
    "phone": "电话",
    "visit": "上门拜访",
    "wechat": "微信/企业微信",
    "email": "邮件",
    "meeting": "会议",
    "other": "其他",
}

NUMBER_PREFIX = "CUS-"
_NUMBER_RE = re.compile(r"^\s*CUS-?(\d+)\s*$", re.IGNORECASE)


def customer_number(customer_id: int) -> str:
    """The reference shown in chat and the API: ``CUS-000123``."""
    return f"{NUMBER_PREFIX}{customer_id:06d}"


def split_tags(tags: str | None) -> list[str]:
    """``"重点,老客户"`` (as stored) → ``["重点", "老客户"]``."""
    return [t for t in (tags or "").split(",") if t]


def parse_customer_number(ref: str) -> int | None:
    """``CUS-000123`` (or ``cus123``) → 123; None when ``ref`` is not a customer number."""
    match = _NUMBER_RE.match(ref or "")
    return int(match.group(1)) if match else None


class Customer(AuditedMixin, TimestampMixin, db.Model):
    __tablename__ = "crm_customer"
    __table_args__ = (
        # Phones are stored normalised (13812345678); NULLs do not collide.
        Index("uq_crm_customer_phone", "phone", unique=True),
        # The tax id is unique among enterprise customers only.
        Index(
            "uq_crm_customer_tax_id_enterprise",
            "tax_id",
            unique=True,
            postgresql_where=text("customer_type = 'enterprise'"),
            sqlite_where=text("customer_type = 'enterprise'"),
        ),
        Index("ix_crm_customer_owner_status", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_type: Mapped[str] = mapped_column(String(16), default="individual")
    customer_name: Mapped[str] = mapped_column(String(200), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    tax_id: Mapped[str | None] = mapped_column(String(18))
    industry: Mapped[str | None] = mapped_column(String(64))
    customer_level: Mapped[str] = mapped_column(String(16), default="normal", index=True)
    # Comma-separated, normalised by the service ("重点,老客户"); see ``tag_list``.
    tags: Mapped[str | None] = mapped_column(String(500))
    address: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(32))
    remark: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"), index=True
    )
    # When the current owner got the customer (create, assignment, claim, handover).
    owner_since: Mapped[datetime | None]
    last_follow_up_at: Mapped[datetime | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Contact.id"
    )
    follow_ups: Mapped[list[FollowUp]] = relationship(
        back_populates="customer",
        cascade="all, delete-orphan",
        order_by="FollowUp.follow_up_at.desc()",
    )

    # The API calls it ``last_follow_up``; both names work in queries and code.
    last_follow_up = synonym("last_follow_up_at")

    @property
    def number(self) -> str:
        return customer_number(self.id)

    @property
    def owner_name(self) -> str | None:
        return self.owner.name if self.owner else None

    @property
    def tag_list(self) -> list[str]:
        return split_tags(self.tags)

    @property
    def type_label(self) -> str:
        return CUSTOMER_TYPES.get(self.customer_type, self.customer_type)

    @property
    def level_label(self) -> str:
        return CUSTOMER_LEVELS.get(self.customer_level, self.customer_level)

    @property
    def status_label(self) -> str:
        return CUSTOMER_STATUSES.get(self.status, self.status)

    @property
    def source_label(self) -> str:
        return CUSTOMER_SOURCES.get(self.source or "", self.source or "")

    @property
    def is_enterprise(self) -> bool:
        return self.customer_type == "enterprise"

    def __repr__(self) -> str:
        return f"<Customer {self.id} {self.customer_name}>"


class Contact(AuditedMixin, TimestampMixin, db.Model):
    """A person at a customer (an enterprise has many)."""

    __tablename__ = "crm_contact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("crm_customer.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    wechat: Mapped[str | None] = mapped_column(String(64))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    remark: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship(back_populates="contacts")

    def __repr__(self) -> str:
        return f"<Contact {self.id} {self.name}>"


class FollowUp(AuditedMixin, TimestampMixin, db.Model):
    """One contact with a customer (optionally about an opportunity)."""

    __tablename__ = "crm_follow_up"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("crm_customer.id", ondelete="CASCADE"), index=True
    )
    # The opportunity this follow-up is about; the opportunities part may turn it into a FK.
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_opportunity.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"), index=True
    )
    follow_up_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    content: Mapped[str] = mapped_column(Text)
    next_follow_up_date: Mapped[date | None] = mapped_column(Date)

    customer: Mapped[Customer] = relationship(back_populates="follow_ups")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    @property
    def channel_label(self) -> str:
        return FOLLOW_UP_CHANNELS.get(self.channel, self.channel)

    def __repr__(self) -> str:
        return f"<FollowUp {self.id} customer={self.customer_id}>"
