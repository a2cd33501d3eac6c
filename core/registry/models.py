"""Installed state of modules, and a counter that tells running servers to rebuild."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.db import utcnow
from core.extensions import db


class CoreModule(db.Model):
    __tablename__ = "core_module"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # uninstalled, to_install, installed, to_upgrade, to_remove or missing
    state: Mapped[str] = mapped_column(String(16), default="uninstalled")
    installed_version: Mapped[str | None] = mapped_column(String(32))
    depends: Mapped[list] = mapped_column(JSON, default=list)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    installed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CoreState(db.Model):
    """Small key/value rows; ``registry_version`` moves on every install/uninstall/upgrade."""

    __tablename__ = "core_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # 64-bit: ``changes_pruned_upto`` is a change-event id (core_0006)
    value: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                       default=0)
