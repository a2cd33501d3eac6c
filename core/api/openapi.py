"""The OpenAPI 3.1 document, generated from the routes' ``api_view`` metadata and their
pydantic models."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
ERRORS = {
    "400": "请求无效",
    "401": "未认证",
    "403": "无权限",
    "404": "不存在或无权查看",
    "409": "冲突（如重复）",
    "422": "字段无效",
}
LIST_PARAMS = [
    ("page", "integer", "页码，从 1 开始"),
    ("per_page", "integer", "每页条数，最多 200"),
    ("sort", "string", "排序，如 -created_at,name"),
]


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def repl(match: re.Match) -> str:
        converter, name = match.group(1), match.group(2)
        params.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer" if converter == "int" else "string"},
            }
        )
        return "{" + name + "}"

    return re.sub(r"<(?:(\w+):)?(\w+)>", repl, rule), params


def _schema(model: Any, components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build(app: Flask) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/v1"):
            continue
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "_api_meta", None)
        path, params = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {"operationId": f"{rule.endpoint}.{method.lower()}"}
            if meta is None:
                op.update(
                    summary=(view.__doc__ or rule.endpoint).strip().split("\n")[0],
                    responses={"200": {"description": "OK"}},
                )
                if not getattr(view, "_tandem_public", False):
                    op["security"] = [{"bearer": []}]
            else:
                op["summary"] = meta.summary or rule.endpoint
                op["tags"] = meta.tags or [rule.endpoint.split(".")[0]]
                op["security"] = [{"bearer": []}]
                op["x-permission"] = meta.permission
                query = list(meta.query) + (LIST_PARAMS if meta.list_endpoint else [])
                op_params = params + [
                    {
                        "name": n,
                        "in": "query",
                        "required": False,
                        "description": d,
                        "schema": {"type": t},
                    }
                    for n, t, d in query
                ]
                if op_params:
                    op["parameters"] = op_params
                if meta.body is not None and method in ("POST", "PUT", "PATCH"):
                    op["requestBody"] = {
                        "required": True,
                        "content": {"application/json": {"schema": _schema(meta.body, components)}},
                    }
                ok: dict[str, Any] = {"description": "OK"}
                if meta.response is not None:
                    ok["content"] = {
                        "application/json": {"schema": _schema(meta.response, components)}
                    }
                op["responses"] = {
                    str(meta.status): ok,
                    **{
                        code: {
                            "description": text,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"}
                                }
                            },
                        }
                        for code, text in ERRORS.items()
                    },
                }
            if params and "parameters" not in op:
                op["parameters"] = params
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tandem API",
            "version": "1.0.0",
            "description": (
                'Tandem 的 REST API。错误统一为 {"error": {code, message, fields}}；'
                "金额以十进制字符串传输；时间为带时区的 ISO 8601。"
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "manage.py users token USERNAME",
                }
            },
        },
    }
