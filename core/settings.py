"""Settings declared by modules; values in the database, environment as the fallback."""

from __future__ import annotations

import json
import os
from typing import Any

from flask import current_app
from sqlalchemy import JSON
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core import hooks
from core.db import AuditedMixin
from core.extensions import db


class SettingValue(AuditedMixin, db.Model):
    __tablename__ = "core_setting"
    __label__ = "系统设置"
    __labels__ = {"key": "设置项", "value": "值"}

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)


def get_setting(key: str, default: Any = None) -> Any:
    """Database value, else the environment/config value, else the declared default."""
    row = db.session.get(SettingValue, key)
    return _resolve(key, row.value if row is not None else None, default)


def get_settings(prefix: str) -> dict[str, Any]:
    """Every declared setting whose key starts with ``prefix`` (``"wecom."``), resolved as
    :func:`get_setting` does, with one query (a message sent reads a dozen settings)."""
    from sqlalchemy import select

    stored = {row.key: row.value for row in db.session.scalars(
        select(SettingValue).where(SettingValue.key.startswith(prefix, autoescape=True)))}
    registry = hooks.registry_or_none()
    keys = [k for k in (registry.settings if registry else {}) if k.startswith(prefix)]
    return {key: _resolve(key, stored.get(key)) for key in keys}


def _resolve(key: str, stored: Any, default: Any = None) -> Any:
    if stored is not None:
        return stored
    registry = hooks.registry_or_none()
    decl = registry.settings.get(key) if registry else None
    env_name = decl.env if decl and decl.env else None
    if env_name and (current_app.config.get(env_name) or os.environ.get(env_name)):
        return current_app.config.get(env_name) or os.environ.get(env_name)
    if decl is not None and decl.default is not None:
        return decl.default
    return default


def set_setting(key: str, value: Any) -> None:
    """Store a value (flush only; the caller's unit of work commits)."""
    row = db.session.get(SettingValue, key)
    if row is None:
        row = SettingValue(key=key, value=value)
        db.session.add(row)
    else:
        row.value = value
    db.session.flush()


def mask_secret(value: Any) -> str:
    """Show only the last four characters of a secret."""
    text = value if isinstance(value, str) else json.dumps(value)
    if not text:
        return ""
    return "•" * 8 + text[-4:] if len(text) > 4 else "•" * 8
