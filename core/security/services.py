"""User, role, team and token services (shared by the CLI, admin pages and the API)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from datetime import timedelta
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import select

from core.db import utcnow
from core.errors import ConflictError
from core.errors import NotFoundError
from core.errors import ValidationError
from core.extensions import db
from core.security.models import ApiToken
from core.security.models import Role
from core.security.models import Team
from core.security.models import User
from core.security.passwords import MIN_LENGTH
from core.security.passwords import hash_password
from core.security.principal import cached
from core.security.principal import load_user
from core.security.principal import remember

if TYPE_CHECKING:
    from core.services import ServiceContext

TOKEN_PREFIX = "tdm_"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


def _roles(codes: Iterable[str]) -> list[Role]:
    codes = list(dict.fromkeys(codes))
    roles = list(db.session.scalars(select(Role).where(Role.code.in_(codes))))
    missing = set(codes) - {r.code for r in roles}
    if missing:
        message = _("角色不存在：%(codes)s", codes=_("、").join(sorted(missing)))
        raise ValidationError(message, fields={"roles": message})
    return roles


def create_user(
    ctx: ServiceContext,
    username: str,
    *,
    roles: Iterable[str] = (),
    password: str | None = None,
    display_name: str = "",
    wecom_userid: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    team: Team | None = None,
) -> User:
    ctx.require("core.user.manage")
    username = (username or "").strip()
    if not username:
        raise ValidationError(_("用户名不能为空"), fields={"username": _("用户名不能为空")})
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise ConflictError(_("用户名 %(username)s 已存在", username=username),
                            fields={"username": _("用户名已存在")})
    if wecom_userid and db.session.scalar(select(User.id).where(User.wecom_userid == wecom_userid)):
        raise ConflictError(_("企业微信账号已绑定其他用户"), fields={"wecom_userid": _("已被绑定")})
    if password is not None and len(password) < MIN_LENGTH:
        raise ValidationError(_("密码至少 %(n)s 位", n=MIN_LENGTH),
                              fields={"password": _("密码过短")})
    user = User(
        username=username,
        display_name=display_name or username,
        wecom_userid=wecom_userid or None,
        phone=phone,
        email=email,
        password_hash=hash_password(password) if password else None,
        team_id=team.id if team else None,
    )
    user.roles = _roles(roles)
    db.session.add(user)
    db.session.flush()
    return user


def set_password(ctx: ServiceContext, user: User, password: str) -> None:
    if ctx.actor is None or ctx.actor.id != user.id:
        ctx.require("core.user.manage")
    if len(password) < MIN_LENGTH:
        raise ValidationError(_("密码至少 %(n)s 位", n=MIN_LENGTH),
                              fields={"password": _("密码过短")})
    user.password_hash = hash_password(password)
    db.session.flush()


def get_user_by_username(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(_("用户 %(username)s 不存在", username=username))
    return user


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(ctx: ServiceContext, user: User, label: str = "") -> str:
    """Create an API token for ``user``; the raw token is returned once and never stored."""
    if ctx.actor is None or ctx.actor.id != user.id:
        ctx.require("core.user.manage")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(user_id=user.id, token_hash=_hash_token(raw), prefix=raw[:10], label=label)
    )
    db.session.flush()
    return raw


def revoke_token(ctx: ServiceContext, token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(_("令牌不存在"))
    if ctx.actor is None or ctx.actor.id != token.user_id:
        ctx.require("core.user.manage")
    token.revoked_at = ctx.now
    db.session.flush()


def user_for_token(raw: str) -> User | None:
    """The active user owning a valid, unrevoked token (kept per process while the auth
    epoch is unchanged: revoking a token moves it)."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    digest = _hash_token(raw)
    found = cached(("token", digest), lambda: _live_token(digest))
    if found is None:
        return None
    token_id, user_id, last_used_at = found
    user = load_user(user_id)
    if user is None:
        return None
    now = utcnow()
    # Recorded at most every few minutes, so reading the API does not write on every call.
    if last_used_at is None or now - last_used_at > TOKEN_TOUCH_INTERVAL:
        token = db.session.get(ApiToken, token_id)
        if token is None:  # deleted since it was kept
            return None
        token.last_used_at = now
        remember(("token", digest), (token_id, user_id, now))
    return user


def _live_token(digest: str) -> tuple[int, int, datetime | None] | None:
    row = db.session.execute(
        select(ApiToken.id, ApiToken.user_id, ApiToken.last_used_at)
        .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))).first()
    return tuple(row) if row is not None else None


PROFILE_FIELDS = ("display_name", "phone", "email", "wecom_userid", "locale")


def update_user(ctx: ServiceContext, user: User, **fields: object) -> User:
    """Change profile fields, roles (``roles=[codes]``), team (``team_id``) and ``active``.

    A user may change his own profile fields; everything else needs ``core.user.manage``."""
    own_profile = ctx.actor is not None and ctx.actor.id == user.id and set(fields) <= set(
        PROFILE_FIELDS
    )
    if not own_profile:
        ctx.require("core.user.manage")
    errors: dict[str, str] = {}
    wecom = fields.get("wecom_userid")
    if wecom and db.session.scalar(
        select(User.id).where(User.wecom_userid == wecom, User.id != user.id)
    ):
        raise ConflictError(_("企业微信账号已绑定其他用户"), fields={"wecom_userid": _("已被绑定")})
    for key in PROFILE_FIELDS:
        if key in fields:
            value = fields[key]
            setattr(user, key, (value.strip() or None) if isinstance(value, str) else value)
    if "display_name" in fields and not user.display_name:
        user.display_name = user.username
    if "roles" in fields:
        user.roles = _roles(fields["roles"] or [])  # type: ignore[arg-type]
    if "team_id" in fields:
        team_id = fields["team_id"]
        if team_id and db.session.get(Team, team_id) is None:
            errors["team_id"] = _("团队不存在")
        user.team_id = team_id or None  # type: ignore[assignment]
    if "active" in fields:
        if not fields["active"] and ctx.actor is not None and ctx.actor.id == user.id:
            errors["active"] = _("不能停用自己的账号")
        else:
            user.active = bool(fields["active"])
    if errors:
        raise ValidationError.of_fields(errors)
    db.session.flush()
    return user
