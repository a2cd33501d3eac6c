"""The OpenAPI 3.1 document, generated from the ``/api/v1`` rules of ``app.url_map``, the
endpoints' metadata (:class:`core.api.endpoint.ApiMeta`) and their pydantic models."""

from __future__ import annotations

import re
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from flask import Response
from markupsafe import escape
from pydantic.json_schema import models_json_schema

from core.api.endpoint import API_PREFIX
from core.api.endpoint import ApiMeta
from core.api.listing import MAX_PAGE
from core.api.listing import MAX_PER_PAGE
from core.api.listing import MAX_TEXT_FILTER
from core.api.schemas import MAX_ID
from core.security.access import AUTHENTICATED

REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "description": "机器可读的错误代码"},
                "message": {"type": "string", "description": "中文说明"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "字段名 → 中文说明（422 时列出每个无效字段）",
                },
            },
        }
    },
}
PAGE_META_SCHEMA = {
    "type": "object",
    "required": ["page", "per_page", "total", "total_capped", "sort", "next_cursor"],
    "properties": {
        "page": {"type": ["integer", "null"], "description": "页码（游标翻页时为 null）"},
        "per_page": {"type": "integer"},
        "total": {"type": "integer", "description": "总数（超过上限时为上限）"},
        "total_capped": {"type": "boolean"},
        "sort": {"type": "string"},
        "next_cursor": {"type": ["string", "null"], "description": "下一页游标"},
    },
}
ERRORS = {
    "400": "请求无效（JSON 格式、排序、游标）",
    "401": "缺少、无效或已撤销的访问令牌",
    "403": "无权限",
    "404": "不存在或无权查看",
    "409": "冲突（如重复），不透露其他记录",
    "410": "游标已过期（早于保留期），需重新全量同步",
    "422": "字段无效，fields 逐一列出",
}
LEGACY_LIST_PARAMS = [
    ("page", "integer", "页码，从 1 开始"),
    ("per_page", "integer", f"每页条数，最多 {MAX_PER_PAGE}"),
    ("sort", "string", "排序，如 -created_at,name"),
]
_LEGACY_BOUNDS: dict[str, dict[str, Any]] = {
    "page": {"minimum": 1, "maximum": MAX_PAGE},
    "per_page": {"minimum": 1, "maximum": MAX_PER_PAGE},
    "sort": {"maxLength": MAX_TEXT_FILTER},
}
_QUERY_BOUNDS: dict[str, dict[str, Any]] = {
    "integer": {"minimum": 0, "maximum": MAX_ID},  # ids (``owner_id``)
    "string": {"maxLength": MAX_TEXT_FILTER},
}
_TYPES: dict[Any, dict[str, str]] = {
    int: {"type": "integer"},
    bool: {"type": "boolean"},
    float: {"type": "number"},
    Decimal: {"type": "string", "format": "decimal"},
    datetime: {"type": "string", "format": "date-time"},
    date: {"type": "string", "format": "date"},
}


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []

    def repl(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        kind = {"int": "integer", "float": "number"}.get(converter or "", "string")
        schema: dict[str, Any] = {"type": kind}
        if kind == "integer":  # core.web.input_guard.IdConverter
            schema.update(minimum=0, maximum=MAX_ID)
        else:
            schema["maxLength"] = 64
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", repl, rule), params


def _query_param(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


def _api_rules(app: Flask) -> list[tuple[Any, str, Any, ApiMeta | None]]:
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.rule != API_PREFIX and not rule.rule.startswith(API_PREFIX + "/"):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule, method, view, getattr(view, "_api_meta", None)))
    return found


def document(app: Flask) -> dict[str, Any]:
    """The document of ``app``, built once (an app's routes do not change once it serves;
    module installs build a new app)."""
    cached = app.extensions.get("tandem_openapi")
    if cached is None:
        cached = app.extensions["tandem_openapi"] = build(app)
    return cached


def build(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of every ``/api/v1`` route of ``app``."""
    rules = _api_rules(app)
    wanted: dict[tuple[type, str], None] = {}
    for _rule, _method, _view, meta in rules:
        if meta is None:
            continue
        if meta.body is not None:
            wanted[(meta.body, "validation")] = None
        if meta.query is not None:
            wanted[(meta.query, "validation")] = None
        if meta.response is not None:
            wanted[(meta.response, "serialization")] = None
    refs, top = models_json_schema(list(wanted), ref_template=REF) if wanted else ({}, {})
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    schemas.update(Error=ERROR_SCHEMA, PageMeta=PAGE_META_SCHEMA)

    paths: dict[str, Any] = {}
    seen_ids: set[str] = set()
    tags: dict[str, None] = {}
    for rule, method, view, meta in rules:
        path, path_params = _path(rule.rule)
        op_id = f"{rule.endpoint}.{method.lower()}"
        while op_id in seen_ids:
            op_id += "_"
        seen_ids.add(op_id)
        if meta is None:
            op = _plain_operation(view, rule.endpoint, path_params)
        else:
            op = _operation(meta, method, path_params, refs, schemas)
            tags.update(dict.fromkeys(op["tags"]))
        op["operationId"] = op_id
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tandem API",
            "version": "1.0.0",
            "description": (
                "Tandem 的 REST API。认证：Authorization: Bearer <令牌>（manage.py users token "
                '用户名，或 POST /api/v1/tokens）。错误统一为 {"error": {"code", "message", '
                '"fields"}}。金额以十进制字符串传输；时间为带时区偏移的 ISO 8601。列表：'
                f"?page=&per_page=（≤{MAX_PER_PAGE}）或 ?cursor=，?sort=-created_at,name，"
                "声明的筛选字段（可重复）、__gte/__lte 范围与 q 搜索；响应为 {data, meta}。"
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "tags": [{"name": t} for t in tags],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API 令牌（tdm_…）",
                }
            },
        },
    }


def _plain_operation(view: Any, endpoint: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    """A route under /api/v1 declared without ``api_view`` (e.g. this document)."""
    op: dict[str, Any] = {
        "summary": ((view.__doc__ or endpoint).strip().split("\n")[0]),
        "tags": ["meta"] if getattr(view, "_tandem_public", False) else ["other"],
        "responses": {"200": {"description": "OK"}},
    }
    if getattr(view, "_tandem_public", False):
        op["security"] = []
    if params:
        op["parameters"] = params
    return op


def _operation(
    meta: ApiMeta,
    method: str,
    path_params: list[dict[str, Any]],
    refs: dict[Any, Any],
    schemas: dict[str, Any],
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": meta.summary or method, "tags": meta.tags or ["api"]}
    if meta.description and meta.description != meta.summary:
        op["description"] = meta.description
    op["x-permission"] = meta.permission
    params = list(path_params)
    if meta.listing is not None:
        for name, kind, description in meta.listing.parameters():
            schema = {**_TYPES.get(kind, {"type": "string"}), **meta.listing.constraints(name)}
            params.append(_query_param(name, schema, description))
    elif meta.list_endpoint:
        params += [_query_param(n, {"type": t, **_LEGACY_BOUNDS.get(n, {})}, d)
                   for n, t, d in LEGACY_LIST_PARAMS]
    params += [_query_param(n, {"type": t, **_QUERY_BOUNDS.get(t, {})}, d)
               for n, t, d in meta.query_params]
    if meta.query is not None:
        ref = refs[(meta.query, "validation")]["$ref"]
        model_schema = schemas[ref.rsplit("/", 1)[1]]
        required = set(model_schema.get("required", []))
        for name, schema in model_schema.get("properties", {}).items():
            param = _query_param(name, schema, schema.get("description", ""))
            param["required"] = name in required
            params.append(param)
    if params:
        op["parameters"] = params
    if meta.body is not None and method in ("POST", "PUT", "PATCH"):
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(meta.body, "validation")]}},
        }

    item = refs[(meta.response, "serialization")] if meta.response is not None else None
    ok: dict[str, Any] = {"description": "成功"}
    if meta.status == 204:
        ok["description"] = "成功，无内容"
    else:
        schema: dict[str, Any] = item or {"type": "object"}
        if meta.list_endpoint:
            schema = _envelope(item, meta=True)
        elif meta.many:
            schema = _envelope(item, meta=False)
        ok["content"] = {"application/json": {"schema": schema}}

    codes = ["401"]
    if meta.permission != AUTHENTICATED:
        codes.append("403")
    if path_params:
        codes.append("404")
    if meta.body is not None or meta.list_endpoint or meta.query is not None:
        codes += ["400", "422"]
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        codes.append("409")
    codes += list(meta.errors)
    op["responses"] = {str(meta.status): ok} | {
        code: {"description": ERRORS[code], "content": {"application/json": {"schema": ERROR_REF}}}
        for code in sorted(set(codes))
    }
    return op


def _envelope(item: dict[str, Any] | None, *, meta: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "required": ["data", "meta"] if meta else ["data"],
        "properties": {"data": {"type": "array", "items": item or {"type": "object"}}},
    }
    if meta:
        schema["properties"]["meta"] = {"$ref": "#/components/schemas/PageMeta"}
    return schema


def render_docs(document: dict[str, Any]) -> Response:
    """A self-contained HTML page listing the operations of ``document``."""
    rows = []
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            params = ", ".join(p["name"] for p in op.get("parameters", []) if p["in"] == "query")
            rows.append(
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td>"
                "<td><code>{}</code></td><td>{}</td></tr>".format(
                    escape(method.upper()),
                    escape(path),
                    escape(op.get("summary", "")),
                    escape(op.get("x-permission", "公开" if op.get("security") == [] else "")),
                    escape(params),
                )
            )
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>Tandem API</title><style>body{font-family:sans-serif;margin:2rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem;"
        "text-align:left;vertical-align:top}</style></head><body>"
        f"<h1>Tandem API</h1><p>{escape(document['info']['description'])}</p>"
        '<p><a href="openapi.json">openapi.json</a></p><table><thead><tr><th>方法</th>'
        "<th>路径</th><th>说明</th><th>权限</th><th>查询参数</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>"
    )
    return Response(html, mimetype="text/html")
