"""Core endpoints (the caller, users, tokens), the OpenAPI document and JSON errors for
unknown ``/api/v1`` paths."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from typing import Any

from flask import Blueprint
from flask import current_app
from flask import request
from flask_babel import force_locale
from flask_babel import gettext as _
from pydantic import BaseModel
from pydantic import Field
from pydantic import StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from core.api.endpoint import API_PREFIX
from core.api.endpoint import bearer_user
from core.api.endpoint import http_error_response
from core.api.endpoint import is_api_request
from core.api.endpoint import json_response
from core.api.endpoint import route
from core.api.listing import Listing
from core.api.openapi import document
from core.api.openapi import render_docs
from core.api.schemas import ApiIn
from core.api.schemas import ApiOut
from core.errors import NotFoundError
from core.errors import ValidationError
from core.extensions import db
from core.i18n import locale_of
from core.security.access import AUTHENTICATED
from core.security.access import public
from core.security.models import ApiToken
from core.security.models import Role
from core.security.models import Team
from core.security.models import User
from core.security.models import user_roles
from core.security.services import create_user as create
from core.security.services import issue_token
from core.security.services import revoke_token as revoke
from core.security.services import update_user as update
from core.services import ServiceContext

bp = Blueprint("api_core", __name__, url_prefix=API_PREFIX)
TAGS = ["core"]


class UserOut(ApiOut):
    id: int
    username: str
    display_name: str
    wecom_userid: str | None
    phone: str | None
    email: str | None
    active: bool
    locale: str | None
    roles: list[str]
    team_id: int | None
    created_at: datetime
    updated_at: datetime


class RoleOut(ApiOut):
    code: str
    label: str
    module: str


class UserIn(ApiIn):
    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(default="", max_length=100)
    roles: list[str] = Field(default_factory=list)
    password: Annotated[str, StringConstraints(strip_whitespace=False)] | None = Field(
        default=None, max_length=128
    )
    wecom_userid: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    team_id: int | None = None


class UserPatch(ApiIn):
    display_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    wecom_userid: str | None = Field(default=None, max_length=64)
    active: bool | None = None
    roles: list[str] | None = None
    team_id: int | None = None


class UserQuery(BaseModel):
    role: str | None = Field(default=None, description="角色代码")


class TokenIn(ApiIn):
    label: str = Field(default="", max_length=100)


class TokenOut(ApiOut):
    id: int
    prefix: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="完整令牌，仅此一次返回")


USERS = Listing(
    User,
    sort={
        "username": User.username,
        "display_name": User.display_name,
        "created_at": User.created_at,
    },
    default_sort="username",
    filters={"active": User.active, "team_id": User.team_id, "username": User.username},
    ranges={"created_at": User.created_at},
    search=[User.username, User.display_name, User.phone],
    search_help="用户名、姓名或手机号包含",
)


def _user_dict(user: User) -> dict[str, Any]:
    return {
        **{c: getattr(user, c) for c in UserOut.model_fields if c != "roles"},
        "roles": sorted(user.role_codes),
    }


def _user(ctx: ServiceContext, user_id: int) -> User:
    user = db.session.scalar(ctx.scoped(select(User).where(User.id == user_id), User))
    if user is None:
        raise NotFoundError(_("用户不存在"))
    return user


@route(bp, "/me", permission=AUTHENTICATED, response=UserOut, tags=TAGS)
def me(ctx: ServiceContext) -> dict[str, Any]:
    """The caller."""
    return _user_dict(ctx.actor)


@route(
    bp,
    "/users",
    permission="core.user.read",
    response=UserOut,
    listing=USERS,
    query=UserQuery,
    tags=TAGS,
)
def list_users(ctx: ServiceContext, query: UserQuery) -> Any:
    """List users."""
    stmt = select(User)
    if query.role:
        members = select(user_roles.c.user_id).where(user_roles.c.role_code == query.role)
        stmt = stmt.where(User.id.in_(members))
    return USERS.page(ctx, stmt, serialize=_user_dict)


@route(
    bp,
    "/users",
    methods=["POST"],
    permission="core.user.manage",
    body=UserIn,
    response=UserOut,
    status=201,
    tags=TAGS,
)
def create_user(ctx: ServiceContext, body: UserIn) -> dict[str, Any]:
    """Create a user (a duplicate username or WeCom account answers 409)."""

    data = body.model_dump()
    team = _team(data.pop("team_id"))
    return _user_dict(create(ctx, data.pop("username"), team=team, **data))


def _team(team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = db.session.get(Team, team_id)
    if team is None:
        raise ValidationError(_("团队不存在"), fields={"team_id": _("团队不存在")})
    return team


@route(bp, "/users/<int:user_id>", permission="core.user.read", response=UserOut, tags=TAGS)
def get_user(ctx: ServiceContext, user_id: int) -> dict[str, Any]:
    """One user."""
    return _user_dict(_user(ctx, user_id))


@route(
    bp,
    "/users/<int:user_id>",
    methods=["PATCH"],
    permission="core.user.manage",
    body=UserPatch,
    response=UserOut,
    tags=TAGS,
)
def update_user(ctx: ServiceContext, user_id: int, body: UserPatch) -> dict[str, Any]:
    """Change the fields sent (audited with source ``api``)."""

    user = _user(ctx, user_id)
    update(ctx, user, **body.model_dump(exclude_unset=True))
    return _user_dict(user)


@route(bp, "/roles", permission="core.user.read", response=RoleOut, many=True, tags=TAGS)
def list_roles(ctx: ServiceContext) -> Any:
    """The roles (their codes are a user's ``roles``)."""
    return db.session.scalars(select(Role).order_by(Role.code))


@route(bp, "/tokens", permission=AUTHENTICATED, response=TokenOut, many=True, tags=TAGS)
def list_tokens(ctx: ServiceContext) -> Any:
    """The caller's API tokens (without their secret)."""
    stmt = select(ApiToken).where(ApiToken.user_id == ctx.actor_id).order_by(ApiToken.id)
    return db.session.scalars(stmt)


@route(
    bp,
    "/tokens",
    methods=["POST"],
    permission=AUTHENTICATED,
    body=TokenIn,
    response=NewTokenOut,
    status=201,
    tags=TAGS,
)
def create_token(ctx: ServiceContext, body: TokenIn) -> dict[str, Any]:
    """Create an API token for the caller; the token is shown only in this answer."""

    raw = issue_token(ctx, ctx.actor, label=body.label)
    token = db.session.scalar(
        select(ApiToken)
        .where(ApiToken.user_id == ctx.actor_id, ApiToken.prefix == raw[:10])
        .order_by(ApiToken.id.desc())
    )
    return {**TokenOut.model_validate(token).model_dump(), "token": raw}


@route(
    bp,
    "/tokens/<int:token_id>",
    methods=["DELETE"],
    permission=AUTHENTICATED,
    status=204,
    tags=TAGS,
)
def revoke_token(ctx: ServiceContext, token_id: int) -> None:
    """Revoke one of the caller's tokens (another user's token answers 404)."""

    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != ctx.actor_id and not ctx.can("core.user.manage")):
        raise NotFoundError(_("令牌不存在"))
    revoke(ctx, token_id)


@bp.get("/openapi.json")
@public
def openapi() -> Any:
    """The OpenAPI document of every /api/v1 route."""

    return json_response(document(current_app))


@bp.get("/docs")
@public
def docs() -> Any:
    """A plain HTML list of the API's operations."""

    return render_docs(document(current_app))


def _caller_locale() -> str:
    """The language of the token's user, else the default (no token, or not valid)."""
    try:
        user = bearer_user()
    except SQLAlchemyError:
        db.session.rollback()
        user = None
    return locale_of(user)


def json_http_error(exc: HTTPException) -> Any:
    """An HTTP error of an API request as JSON, in the caller's language (the app's error
    handler, in :mod:`core.web.errors`, sends API requests here)."""
    with force_locale(_caller_locale()):
        return http_error_response(exc)


@bp.before_app_request
def _api_routing_errors() -> Any:
    """Unknown ``/api/v1`` paths and wrong methods answer JSON errors (404, 405)."""
    exc = request.routing_exception
    if exc is not None and not isinstance(exc, RequestRedirect) and is_api_request():
        return json_http_error(exc)  # type: ignore[arg-type]
    return None
