"""Core endpoints: the caller, users, tokens and the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from core.api import api_view
from core.api import error_response
from core.api import json_body
from core.api import paginate
from core.errors import NotFoundError
from core.extensions import db
from core.security.access import public
from core.security.models import User

bp = Blueprint("api_core", __name__, url_prefix="/api/v1")


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    wecom_userid: str | None
    phone: str | None
    email: str | None
    active: bool
    roles: list[str]
    team_id: int | None
    created_at: datetime | None


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    wecom_userid: str | None = Field(default=None, max_length=64)
    active: bool | None = None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=100)


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "wecom_userid": user.wecom_userid,
        "phone": user.phone,
        "email": user.email,
        "active": user.active,
        "roles": sorted(user.role_codes),
        "team_id": user.team_id,
        "created_at": user.created_at.isoformat() if user.created_at else None,
    }


@bp.get("/me")
@api_view("authenticated", response=UserOut, tags=["core"])
def me(ctx: Any) -> dict:
    """The caller."""
    return user_json(ctx.actor)


@bp.get("/users")
@api_view(
    "core.user.read",
    list_endpoint=True,
    tags=["core"],
    query=[("q", "string", "用户名或姓名包含"), ("active", "boolean", "是否启用")],
)
def users(ctx: Any) -> dict:
    """List users."""
    stmt = select(User)
    if request.args.get("q"):
        like = f"%{request.args['q']}%"
        stmt = stmt.where(User.username.ilike(like) | User.display_name.ilike(like))
    if request.args.get("active") in ("true", "false"):
        stmt = stmt.where(User.active.is_(request.args["active"] == "true"))
    return paginate(
        ctx,
        stmt,
        User,
        user_json,
        default_sort="username",
        sorts={
            "username": User.username.asc(),
            "-username": User.username.desc(),
            "created_at": User.created_at.asc(),
            "-created_at": User.created_at.desc(),
        },
    )


def _user(ctx: Any, user_id: int) -> User:
    user = db.session.scalar(ctx.scoped(select(User).where(User.id == user_id), User))
    if user is None:
        raise NotFoundError("用户不存在")
    return user


@bp.get("/users/<int:user_id>")
@api_view("core.user.read", response=UserOut, tags=["core"])
def user_detail(ctx: Any, user_id: int) -> dict:
    """One user."""
    return user_json(_user(ctx, user_id))


@bp.patch("/users/<int:user_id>")
@api_view("core.user.manage", body=UserPatch, response=UserOut, tags=["core"])
def user_patch(ctx: Any, user_id: int) -> dict:
    """Change a user's profile fields (audited with source api)."""
    from core.security.services import update_user

    user = _user(ctx, user_id)
    update_user(ctx, user, **json_body(UserPatch, partial=True))
    return user_json(user)


@bp.post("/tokens")
@api_view("authenticated", body=TokenIn, status=201, tags=["core"])
def token_create(ctx: Any) -> dict:
    """Create an API token for the caller (shown once)."""
    from core.security.services import issue_token

    data = json_body(TokenIn)
    return {"token": issue_token(ctx, ctx.actor, label=data["label"])}


@bp.delete("/tokens/<int:token_id>")
@api_view("authenticated", status=204, tags=["core"])
def token_revoke(ctx: Any, token_id: int) -> None:
    """Revoke one of the caller's tokens."""
    from core.security.models import ApiToken
    from core.security.services import revoke_token

    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != ctx.actor_id and not ctx.can("core.user.manage")):
        raise NotFoundError("令牌不存在")
    revoke_token(ctx, token_id)


@bp.get("/openapi.json")
@public
def openapi() -> Any:
    """The OpenAPI document of every /api/v1 route."""
    from core.api.openapi import build

    return jsonify(build(current_app))


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _api_http_error(exc: HTTPException) -> Any:
    if request.path.startswith("/api/"):
        code = "not_found" if exc.code == 404 else "method_not_allowed"
        message = "接口不存在" if exc.code == 404 else "不支持的请求方法"
        return error_response(code, message, exc.code or 400)
    return exc
