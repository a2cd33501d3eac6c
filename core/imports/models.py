"""The import log: who imported what, when, with which result (issue 19 #3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from core.db import utcnow
from core.extensions import db
from core.security.models import User

STATUSES = {"pending": "等待中", "running": "进行中", "done": "已完成", "failed": "失败"}


class ImportLog(db.Model):
    """One run of an import file, a dry run or the import itself. The uploaded file and the
    error report are kept under the instance folder (``imports/``), named by the run's id."""

    __tablename__ = "core_import_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    stored_file: Mapped[str] = mapped_column(String(255))  # name under instance/imports
    dry_run: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(16), default="web")
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"), index=True)
    locale: Mapped[str] = mapped_column(String(16), default="zh_CN")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_rows: Mapped[int] = mapped_column(Integer, default=0)
    error_rows: Mapped[int] = mapped_column(Integer, default=0)
    error_report: Mapped[str | None] = mapped_column(String(255))  # name under instance/imports
    message: Mapped[str | None] = mapped_column(Text)
    dry_run_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_import_log.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    actor: Mapped[User | None] = relationship(viewonly=True)

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return int(self.processed_rows * 100 / self.total_rows) if self.total_rows else 0
