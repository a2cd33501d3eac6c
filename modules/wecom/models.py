"""Tables of the WeCom channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.db import utcnow
from core.extensions import db


class ProcessedCallback(db.Model):
    """Dedupe keys of callbacks already applied (the fallback when Redis is absent)."""

    __tablename__ = "wecom_processed_callback"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CallbackLog(db.Model):
    """Every accepted callback, decrypted, for support and for the simulator."""

    __tablename__ = "wecom_callback_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # app, bot, oa
    kind: Mapped[str] = mapped_column(String(64))  # text, template_card_event, …
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    sender: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    duplicate: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExternalContactEvent(db.Model):
    """客户联系 events as they came (add / edit / delete …), unknown add_way codes kept."""

    __tablename__ = "wecom_external_contact_event"
    __table_args__ = (Index("ix_wecom_external_contact_event_ext", "external_userid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_type: Mapped[str] = mapped_column(String(64))
    userid: Mapped[str | None] = mapped_column(String(64))
    external_userid: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(64))
    add_way: Mapped[int | None]
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SentMessage(db.Model):
    """Outbound messages with WeCom's answer (partial failures such as invaliduser)."""

    __tablename__ = "wecom_sent_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(Integer, index=True)
    target: Mapped[str] = mapped_column(String(255))  # "app:user1|user2" or "webhook:sales"
    msgtype: Mapped[str] = mapped_column(String(32))
    errcode: Mapped[int | None]
    errmsg: Mapped[str | None] = mapped_column(String(255))
    invaliduser: Mapped[str | None] = mapped_column(String(255))
    response_code: Mapped[str | None] = mapped_column(String(255))
    msgid: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(db.Model):
    """A group-robot push, claimed (committed) before the request goes out and confirmed
    (committed) as soon as WeCom answered: the key that keeps a retried delivery from
    posting the same message to the group twice (webhooks have no idempotency key)."""

    __tablename__ = "wecom_webhook_delivery"

    notification_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
