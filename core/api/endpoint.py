"""The endpoint decorator: bearer auth, permission, body and query validation, the unit of
work, error mapping and rendering through the response model."""

from __future__ import annotations

import inspect
import json
import logging
import typing
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from functools import wraps
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request
from flask_babel import force_locale
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from core.api.listing import Listing
from core.api.listing import Page
from core.api.schemas import harden
from core.api.schemas import jsonable
from core.api.schemas import validate
from core.errors import TandemError
from core.errors import UserError
from core.extensions import db
from core.i18n import locale_of
from core.inputs import is_unstorable
from core.inputs import load_json
from core.security.access import AUTHENTICATED
from core.security.services import user_for_token
from core.services import ServiceContext
from core.services import unit_of_work

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

# Legacy query declarations: (name, "string" | "integer" | "boolean" | "number", description).
QueryParams = list[tuple[str, str, str]]


class InvalidJson(UserError):
    code = "invalid_json"


@dataclass
class ApiMeta:
    """What the OpenAPI generator knows about an endpoint (``view._api_meta``)."""

    permission: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    query_params: QueryParams = field(default_factory=list)
    listing: Listing | None = None
    list_endpoint: bool = False
    many: bool = False
    status: int = 200
    summary: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    errors: tuple[str, ...] = ()  # extra documented error statuses, e.g. ("410",)


def json_response(payload: Any, status: int = 200) -> Response:
    """A JSON response (UTF-8, fields in declaration order)."""
    return _plain_json_response(jsonable(payload), status)


def _plain_json_response(plain: Any, status: int) -> Response:
    """``plain`` is already made of JSON values (see :func:`jsonable`)."""
    text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(text, status=status, mimetype="application/json")


def error_response(
    code: str, message: str, status: int, fields: Mapping[str, str] | None = None
) -> Response:
    """``{"error": {"code", "message", "fields"}}`` with ``status`` (401 adds WWW-Authenticate)."""
    response = json_response(
        {"error": {"code": code, "message": str(message), "fields": dict(fields or {})}}, status
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tandem"'
    return response


_HTTP_ERRORS = {
    400: ("bad_request", _l("请求无效")),
    401: ("unauthorized", _l("缺少、无效或已撤销的访问令牌")),
    403: ("forbidden", _l("无权限")),
    404: ("not_found", _l("接口或记录不存在")),
    405: ("method_not_allowed", _l("不支持的请求方法")),
    413: ("too_large", _l("请求体过大")),
    415: ("unsupported_media_type", _l("不支持的内容类型")),
    429: ("rate_limited", _l("请求过于频繁，请稍后再试")),
}


def http_error_response(exc: HTTPException) -> Response:
    status = exc.code or 500
    code, message = _HTTP_ERRORS.get(status, ("http_error", exc.name or _l("请求失败")))
    response = error_response(code, message, status)
    if status == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def bearer_user() -> Any:
    """The user of the request's ``Authorization: Bearer`` token, or None."""

    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    return user_for_token(raw.strip())


def json_body(model: type[BaseModel], *, partial: bool = False) -> dict[str, Any]:
    """The request's JSON body validated by ``model`` as a dict (422 naming each invalid
    field, 400 ``invalid_json`` when it does not parse); ``partial`` keeps only the fields
    sent (PATCH). Endpoints declared with ``body=`` can take a ``body`` argument instead."""
    parsed = _parse_body(model)
    return parsed.model_dump(exclude_unset=partial)


def _parse_body(model: type[BaseModel]) -> BaseModel:
    cached = getattr(request, "_tandem_body", None)
    if cached is not None and isinstance(cached, model):
        return cached
    raw = request.get_data(cache=True)
    if not raw.strip():
        payload: Any = {}
    else:
        try:
            payload = load_json(raw)
        except ValueError as exc:  # not JSON, not UTF-8, or nested too deeply
            raise InvalidJson(gettext("请求体不是有效的 JSON")) from exc
    parsed = validate(model, payload)
    request._tandem_body = parsed  # type: ignore[attr-defined]
    return parsed


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (list, tuple, set):
        return True
    return any(_is_list(a) for a in typing.get_args(annotation) if a is not type(None))


def _parse_query(model: type[BaseModel]) -> BaseModel:
    data = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key in request.args:
            multi = _is_list(info.annotation)
            data[key] = request.args.getlist(key) if multi else request.args[key]
    return validate(model, data, root="query")


def _render(result: Any, meta: ApiMeta) -> Any:
    """The view's return value as plain JSON data, through the response model if declared."""
    model = meta.response

    def one(item: Any) -> Any:
        if model is None or isinstance(item, model):
            return item
        return model.model_validate(item, from_attributes=True)

    if isinstance(result, Page):
        return result.to_dict(None if result.shaped else one)
    if (meta.listing or meta.list_endpoint) and isinstance(result, dict) and "data" in result:
        return {**result, "data": [one(i) for i in result["data"]]}
    if meta.many:
        return {"data": [one(i) for i in result]}
    return one(result)


def api_view(
    permission: str,
    *,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    query: type[BaseModel] | QueryParams | None = None,
    listing: Listing | None = None,
    status: int = 200,
    summary: str = "",
    tags: Iterable[str] = (),
    list_endpoint: bool = False,
    many: bool = False,
    errors: Iterable[str] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API endpoint (use under ``@bp.get(...)``; :func:`route` does both).

    The view is called as ``view(ctx, **url_args)`` with a ``ServiceContext`` (source
    ``api``) and, when it has parameters of those names, ``body`` (the validated ``body``
    model) and ``query`` (the validated ``query`` model). It may return an ORM object, a dict,
    a pydantic model, a :class:`Page` (with ``listing=``), an iterable of items (with
    ``many=True``: rendered ``{"data": [...]}``, unpaginated), ``None`` (→ 204) or a Flask
    response. ``permission`` is a permission code or ``"authenticated"`` (any valid token).
    ``summary`` defaults to the docstring's first line."""
    query_model = query if isinstance(query, type) else None
    if body is not None:
        harden(body)  # strict ids and booleans, bounded numbers and texts (issue 14)
    query_params = list(query) if isinstance(query, list) else []

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        accepts = set(inspect.signature(view).parameters)
        doc = inspect.getdoc(view) or ""
        meta = ApiMeta(
            permission=permission,
            body=body,
            response=response,
            query=query_model,
            query_params=query_params,
            listing=listing,
            list_endpoint=list_endpoint or listing is not None,
            many=many,
            status=status,
            summary=summary or doc.split("\n")[0],
            description=doc,
            tags=list(tags),
            errors=tuple(errors),
        )

        @wraps(view)
        def wrapped(**url_args: Any) -> Any:
            user = bearer_user()
            if user is None:
                db.session.rollback()
                return error_response("unauthorized", _HTTP_ERRORS[401][1], 401)
            ctx = ServiceContext(actor=user, source="api", locale=locale_of(user))
            # Messages (errors, validation) in the token user's language.
            with force_locale(ctx.locale):
                try:
                    if permission != AUTHENTICATED:
                        ctx.require(permission)
                    kwargs = dict(url_args)
                    if body is not None:
                        parsed = _parse_body(body)
                        if "body" in accepts:
                            kwargs["body"] = parsed
                    if query_model is not None:
                        parsed_query = _parse_query(query_model)
                        if "query" in accepts:
                            kwargs["query"] = parsed_query
                    with unit_of_work(ctx) as session:
                        result = view(ctx, **kwargs)
                        if isinstance(result, Response):
                            return result
                        session.flush()
                        payload = jsonable(_render(result, meta))
                except TandemError as exc:
                    db.session.rollback()
                    return error_response(exc.code, exc.message, exc.http_status, exc.fields)
                except IntegrityError:
                    db.session.rollback()
                    log.info("API integrity error on %s %s", request.method, request.path)
                    return error_response("conflict", gettext("数据冲突：记录重复或已被修改"), 409)
                except HTTPException as exc:
                    db.session.rollback()
                    return http_error_response(exc)
                except Exception as exc:
                    if not is_unstorable(exc):
                        raise
                    db.session.rollback()
                    log.info("API value out of range on %s %s", request.method, request.path)
                    return error_response("invalid_value", gettext("取值超出允许范围"), 422)
            if payload is None and status in (200, 204):
                return current_app.response_class(status=204)
            return _plain_json_response(payload, status)

        wrapped._tandem_permission = permission  # type: ignore[attr-defined]
        wrapped._api_meta = meta  # type: ignore[attr-defined]
        return wrapped

    return decorator


def route(
    bp: Blueprint,
    rule: str,
    *,
    permission: str,
    methods: Iterable[str] = ("GET",),
    endpoint: str | None = None,
    **options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register an API endpoint on ``bp`` (a ``<module>_api`` blueprint with
    ``url_prefix="/api/v1"``). ``options`` are those of :func:`api_view`."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        wrapped = api_view(permission, **options)(view)
        bp.add_url_rule(rule, endpoint=endpoint, view_func=wrapped, methods=list(methods))
        return wrapped

    return decorator
