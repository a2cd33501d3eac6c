"""The REST API framework under ``/api/v1``, shared by every module.

A module endpoint::

    bp = Blueprint("crm_api", __name__, url_prefix="/api/v1")

    @bp.post("/customers")
    @api_view("crm.customer.create", body=CustomerIn, status=201, tags=["crm"])
    def create(ctx):
        customer = services.create_customer(ctx, json_body(CustomerIn))
        return customer_json(customer)

``api_view`` authenticates the bearer token (401 with ``WWW-Authenticate``), checks the
permission (403), passes a ``ServiceContext`` (source ``api``) as ``ctx``, runs the view in
one unit of work, maps :mod:`core.errors` to ``{"error": {"code", "message", "fields"}}``
with their status (404/409/422 …) and records metadata for the OpenAPI document. Lists use
:func:`paginate` (page/per_page, sort allowlist, record rules applied to rows and count).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from functools import wraps
from typing import Any

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError
from sqlalchemy import func
from sqlalchemy import select

from core.errors import TandemError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.security.access import AUTHENTICATED
from core.services import ServiceContext
from core.services import unit_of_work

MAX_PER_PAGE = 200


@dataclass
class ApiMeta:
    permission: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    query: list[tuple[str, str, str]] = field(default_factory=list)  # name, type, description
    status: int = 200
    summary: str = ""
    tags: list[str] = field(default_factory=list)
    list_endpoint: bool = False


def error_response(code: str, message: str, status: int, fields: Mapping | None = None) -> Any:
    response = jsonify({"error": {"code": code, "message": message, "fields": dict(fields or {})}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tandem"'
    return response


def _bearer_user() -> Any:
    from core.security.services import user_for_token

    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return user_for_token(header[7:].strip())


def api_view(
    permission: str,
    *,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    query: list[tuple[str, str, str]] | None = None,
    status: int = 200,
    summary: str = "",
    tags: list[str] | None = None,
    list_endpoint: bool = False,
) -> Callable:
    """Declare an API endpoint; the view is called as ``view(ctx, **url_args)``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = _bearer_user()
            if user is None:
                return error_response("unauthorized", "缺少、无效或已撤销的访问令牌", 401)
            ctx = ServiceContext(actor=user, source="api")
            try:
                if permission != AUTHENTICATED:
                    ctx.require(permission)
                with unit_of_work(ctx):
                    result = view(ctx, *args, **kwargs)
                db.session.commit()  # token last-used time
            except TandemError as exc:
                db.session.rollback()
                return error_response(exc.code, exc.message, exc.http_status, exc.fields)
            if isinstance(result, current_app.response_class):
                return result
            if result is None:
                return "", 204
            out = jsonify(result)
            out.status_code = status
            return out

        wrapped._tandem_permission = permission  # type: ignore[attr-defined]
        wrapped._api_meta = ApiMeta(  # type: ignore[attr-defined]
            permission=permission,
            body=body,
            response=response,
            query=list(query or []),
            status=status,
            summary=summary or (view.__doc__ or "").strip().split("\n")[0],
            tags=list(tags or []),
            list_endpoint=list_endpoint,
        )
        return wrapped

    return decorator


_MESSAGES = {
    "extra_forbidden": "不支持的字段",
    "missing": "必填",
    "literal_error": "取值无效",
    "enum": "取值无效",
    "string_too_long": "过长",
    "greater_than_equal": "数值过小",
    "decimal_parsing": "不是有效的金额",
}


def json_body(model: type[BaseModel], *, partial: bool = False) -> dict[str, Any]:
    """The request's JSON body validated by ``model`` (422 naming each invalid field).

    With ``partial`` only the fields the caller sent are returned (for PATCH)."""
    payload = request.get_json(silent=True)
    if payload is None and request.get_data():
        raise UserError("请求体不是有效的 JSON")
    if not isinstance(payload, dict):
        raise ValidationError("请求体必须是 JSON 对象", fields={"body": "必须是 JSON 对象"})
    try:
        parsed = model.model_validate(payload)
    except PydanticError as exc:
        fields = {
            ".".join(str(p) for p in e["loc"]) or "body": _MESSAGES.get(e["type"], "格式不正确")
            for e in exc.errors()
        }
        raise ValidationError("字段无效：" + "、".join(fields), fields=fields) from exc
    return parsed.model_dump(exclude_unset=partial)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValidationError(f"{name} 必须是整数", fields={name: "必须是整数"}) from exc
    if not low <= value <= high:
        raise ValidationError(f"{name} 超出范围 {low}–{high}", fields={name: "超出范围"})
    return value


def paginate(
    ctx: ServiceContext,
    stmt: Any,
    model: type,
    serialize: Callable[[Any], dict],
    *,
    sorts: Mapping[str, Any],
    default_sort: str,
) -> dict[str, Any]:
    """The list conventions: ``?page=&per_page=`` (≤200), ``?sort=-created_at,name`` from
    ``sorts`` (unknown key → 400 ``invalid_sort``); record rules apply to rows and count; the
    count is capped at ``TANDEM_COUNT_CAP`` (``total_capped`` says so)."""
    page = _int_arg("page", 1, 1, 10**6)
    per_page = _int_arg("per_page", 50, 1, MAX_PER_PAGE)
    keys = [k.strip() for k in (request.args.get("sort") or default_sort).split(",") if k.strip()]
    unknown = [k for k in keys if k not in sorts]
    if unknown:
        error = UserError(f"不支持的排序字段：{'、'.join(unknown)}（可用：{'、'.join(sorts)}）")
        error.code = "invalid_sort"
        raise error
    scoped = ctx.scoped(stmt, model)
    cap = int(current_app.config.get("TANDEM_COUNT_CAP", 10000))
    counted = db.session.scalar(
        select(func.count()).select_from(scoped.order_by(None).limit(cap + 1).subquery())
    )
    order = [sorts[k] for k in keys] + [model.id.desc()]
    rows = (
        db.session.scalars(scoped.order_by(*order).limit(per_page).offset((page - 1) * per_page))
        .unique()
        .all()
    )
    return {
        "data": [serialize(r) for r in rows],
        "meta": {
            "page": page,
            "per_page": per_page,
            "total": min(counted, cap),
            "total_capped": counted > cap,
            "sort": ",".join(keys),
        },
    }


def blueprints() -> list[Blueprint]:
    from core.api.views import bp

    return [bp]
