"""A customer's self-intake in progress on the official account (seed 001 阶段二): after
"售后" / "维修" the next message is the problem's description."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.extensions import db


class Intake(db.Model):
    __tablename__ = "service_wecom_intake"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_type: Mapped[str] = mapped_column(String(16), default="repair")
    started_at: Mapped[datetime]
