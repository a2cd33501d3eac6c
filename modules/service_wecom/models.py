"""A customer's self-intake on the official account (seed 001 阶段二): the intake in progress
(after "售后" / "维修" the next message is the problem's description), which follower reported
which ticket, and the pictures he sends, fetched by a job after the callback has answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.extensions import db


class Intake(db.Model):
    __tablename__ = "service_wecom_intake"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_type: Mapped[str] = mapped_column(String(16), default="repair")
    started_at: Mapped[datetime]


class Picture(db.Model):
    """A picture message (one per WeChat ``MsgId``) waiting for, or done by, the job that
    downloads it and puts it on ``ticket_id``: ``pending`` → ``attached`` / ``failed``.
    The key makes WeChat's retries of the message and the job's own retries one photo.
    A ``failed`` one is on the ticket's timeline and the customer is asked once to send it
    again (``notified_at``); one still waiting for a ticket (the intake was abandoned) is
    deleted after ``service_wecom.waiting_picture_days``."""

    __tablename__ = "service_wecom_picture"

    msgid: Mapped[str] = mapped_column(String(64), primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))
    pic_url: Mapped[str] = mapped_column(String(1000))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_ticket.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    photo_id: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime]
    notified_at: Mapped[datetime | None]


class CustomerReport(db.Model):
    """The official-account follower (``openid``) who reported a ticket himself: his
    pictures go on his own tickets, never on one a colleague of his company reported."""

    __tablename__ = "service_wecom_report"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("service_ticket.id", ondelete="CASCADE"), primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]
