"""Security tables: users, roles, grants, teams, API tokens."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import func
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship
from sqlalchemy.sql import ColumnElement

from core.db import AuditedMixin
from core.db import TimestampMixin
from core.db import utcnow
from core.extensions import db

CORE_ROLES = {
    "admin": "管理员",
    "manager": "经理",
    "sales": "销售",
    "engineer": "工程师",
    "warehouse": "仓库",
}

user_roles = Table(
    "core_user_role",
    db.metadata,
    Column("user_id", ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_code", ForeignKey("core_role.code", ondelete="CASCADE"), primary_key=True),
)


class Role(db.Model):
    __tablename__ = "core_role"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    module: Mapped[str] = mapped_column(String(64), default="core")


class RolePermission(db.Model):
    """A permission granted to a role (seeded from module defaults, editable by admins)."""

    __tablename__ = "core_role_permission"

    role_code: Mapped[str] = mapped_column(
        ForeignKey("core_role.code", ondelete="CASCADE"), primary_key=True
    )
    permission: Mapped[str] = mapped_column(String(128), primary_key=True)


class Team(AuditedMixin, db.Model):
    __tablename__ = "core_team"
    __label__ = "团队"
    __record_title__ = "name"
    __labels__ = {"name": "名称", "manager_id": "经理"}
    __references__ = {"manager_id": "core_user"}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # No database FK here: core_user.team_id already points at this table, and a cycle
    # would need ALTER TABLE constraints that SQLite lacks.
    manager_id: Mapped[int | None] = mapped_column(Integer, index=True)
    manager: Mapped[User | None] = relationship(
        primaryjoin="foreign(Team.manager_id) == User.id", viewonly=True
    )


class User(UserMixin, AuditedMixin, TimestampMixin, db.Model):
    __tablename__ = "core_user"
    __audit_exclude__ = ("password_hash",)
    __label__ = "用户"
    __record_title__ = "name"  # a change of an owner_id reads as the user's name
    __labels__ = {"username": "用户名", "display_name": "姓名", "wecom_userid": "企业微信账号",
                  "phone": "手机号", "email": "邮箱", "active": "启用", "locale": "语言",
                  "team_id": "团队"}
    __hidden_in_history__ = ("last_login_at", "session_generation")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(16))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("core_team.id", ondelete="SET NULL"))
    last_login_at: Mapped[datetime | None]
    # Moved by logout, a password change or reset, disabling and a change of roles or team:
    # a browser session carries the value it logged in under, and one that differs is over
    # (``core.web.auth``), in every process, since it is read with the user's row.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")
    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])

    @property
    def is_active(self) -> bool:  # flask-login
        return bool(self.active)

    @property
    def role_codes(self) -> set[str]:
        return {r.code for r in self.roles}

    @property
    def is_admin(self) -> bool:
        return "admin" in self.role_codes

    @hybrid_property
    def name(self) -> str:
        return self.display_name or self.username

    @name.inplace.expression
    @classmethod
    def _name_expression(cls) -> ColumnElement[str]:
        """The same in SQL, for lists that select names rather than load users."""
        return func.coalesce(func.nullif(cls.display_name, ""), cls.username)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "core_api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
