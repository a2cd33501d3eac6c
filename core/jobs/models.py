"""Failed job runs, kept for the admin page whichever runner ran them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.db import utcnow
from core.extensions import db


class JobFailure(db.Model):
    __tablename__ = "core_job_failure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    args: Mapped[list] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text)
    runner: Mapped[str] = mapped_column(String(16))  # inprocess / rq
    rq_job_id: Mapped[str | None] = mapped_column(String(64))
    final: Mapped[bool] = mapped_column(default=True)  # no retry left
    retried_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    @property
    def summary(self) -> str:
        """The exception's line (the last of the traceback kept in ``error``)."""
        lines = [line for line in (self.error or "").strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""
