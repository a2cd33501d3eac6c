"""The changes outbox (``core_change_event``) and webhook subscriptions with their delivery
log. See :mod:`core.changes` for how the outbox is written and read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from core.db import utcnow
from core.extensions import db

# BIGINT on PostgreSQL (a busy outbox outgrows 2^31 ids); INTEGER on SQLite, where only an
# INTEGER PRIMARY KEY is the rowid (AUTOINCREMENT).
EventId = BigInteger().with_variant(Integer(), "sqlite")


class ChangeEvent(db.Model):
    """One created, updated or deleted record of a module, written in the transaction that
    made the change, right before its commit (so ``id`` follows commit order).

    ``data`` holds the record's values at commit (create, update) or its last values
    (delete: kept to decide who may see the deletion, never served)."""

    __tablename__ = "core_change_event"
    __table_args__ = (Index("ix_core_change_event_record", "model", "record_id"),)

    id: Mapped[int] = mapped_column(EventId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    module: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create, update, delete
    source: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(Integer)  # no FK: users come and go
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    changed: Mapped[list] = mapped_column(JSON, default=list)  # fields an update touched


class WebhookSubscription(db.Model):
    """An integrator's endpoint: every change event of ``modules`` that ``owner`` may see
    is POSTed to ``url``, signed with ``secret`` (HMAC-SHA256)."""

    __tablename__ = "core_webhook_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))
    modules: Mapped[list] = mapped_column(JSON, default=list)  # empty: every module
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"), index=True
    )
    # The last event id already turned into deliveries (the subscription's own cursor).
    last_event_id: Mapped[int] = mapped_column(EventId, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner = relationship("User", viewonly=True)


class WebhookDelivery(db.Model):
    """One event for one subscription: pending → sending → sent (or failed after the last
    attempt). Unique per (subscription, event): an event is delivered once."""

    __tablename__ = "core_webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_core_webhook_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("core_webhook_subscription.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(EventId)  # no FK: events are pruned
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    subscription = relationship(WebhookSubscription, viewonly=True)
