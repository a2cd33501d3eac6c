"""Base models, the money type, JSON conversion and messages for pydantic errors (Chinese,
or the reader's language)."""

from __future__ import annotations

import enum
import types
import typing
import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from decimal import Decimal
from typing import Annotated
from typing import Any

import annotated_types
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import PlainSerializer
from pydantic import Strict
from pydantic import ValidationError as PydanticError
from pydantic import WithJsonSchema

from core.errors import ValidationError
from core.inputs import MAX_ID

MAX_LIST = 200  # items of a list field that declares no max_length
DEFAULT_MAX_TEXT = 4000  # characters, for a text field that declares no max_length


def _plain(annotation: Any) -> Any:
    """``X`` for ``X | None``; the annotation itself otherwise."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


class ApiIn(BaseModel):
    """Base of request bodies: unknown fields are refused (422 naming them), strings stripped.

    Every subclass's fields are tightened when it is declared (issue 14, #6 and #17):
    integers and booleans are strict (``true`` is not user 1, ``0`` is not ``false``, ``"5"``
    and ``5.0`` are not 5), an integer without bounds is kept within PostgreSQL's
    ``integer``, and a text without ``max_length`` gets :data:`DEFAULT_MAX_TEXT`; the OpenAPI
    document shows each bound.

    For PATCH, ``body.model_dump(exclude_unset=True)`` gives only the fields the caller sent."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        harden(cls)


class ApiOut(BaseModel):
    """Base of response models: validated from ORM objects or dicts (``from_attributes``)."""

    model_config = ConfigDict(from_attributes=True)


def harden(model: type[BaseModel]) -> type[BaseModel]:
    """Tighten ``model``'s fields in place (see :class:`ApiIn`); the endpoint decorator does
    it to every ``body=`` model, whatever its base. Idempotent."""
    changed = False
    for info in model.model_fields.values():
        kind = _plain(info.annotation)
        present = {type(m) for m in info.metadata}
        added: list[Any] = []
        if kind in (int, bool) and Strict not in present:
            added.append(Strict())
        if kind is int and not present & {annotated_types.Ge, annotated_types.Gt}:
            added.append(annotated_types.Ge(-MAX_ID - 1))
        if kind is int and not present & {annotated_types.Le, annotated_types.Lt}:
            added.append(annotated_types.Le(MAX_ID))
        if kind is str and annotated_types.MaxLen not in present:
            added.append(annotated_types.MaxLen(DEFAULT_MAX_TEXT))
        if kind is str and _declare_not_blank(info):
            changed = True
        if kind is not str and _has_bare_text(info.annotation):
            info.annotation = _bounded_text(info.annotation)
            changed = True
        if added:
            info.metadata.extend(added)
            changed = True
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            harden(kind)
    if changed:
        model.model_rebuild(force=True)
    return model


_BOUNDED_TEXT = Annotated[str, annotated_types.MaxLen(DEFAULT_MAX_TEXT)]


def _declare_not_blank(info: Any) -> bool:
    """Texts are stripped before ``min_length`` counts, so a required text of spaces only is
    refused: the document says so (``pattern: \\S``, a character other than a space)."""
    if not any(isinstance(m, annotated_types.MinLen) and m.min_length == 1
               for m in info.metadata):
        return False
    extra = info.json_schema_extra
    if extra is None:
        info.json_schema_extra = {"pattern": r"\S"}
        return True
    if isinstance(extra, dict) and "pattern" not in extra:
        extra["pattern"] = r"\S"
        return True
    return False


def _has_bare_text(annotation: Any) -> bool:
    """Whether ``annotation`` holds a plain ``str`` inside a union or a list."""
    if annotation is str:
        return True
    if typing.get_origin(annotation) is Annotated:
        return False
    return any(_has_bare_text(a) for a in typing.get_args(annotation))


def _bounded_text(annotation: Any) -> Any:
    """``annotation`` with each plain ``str`` bounded and each list of them at most
    :data:`MAX_LIST` long (``list[str] | str | None`` → both branches bounded)."""
    if annotation is str:
        return _BOUNDED_TEXT
    origin = typing.get_origin(annotation)
    if origin is list:
        (item,) = typing.get_args(annotation)
        return Annotated[list[_bounded_text(item)], annotated_types.MaxLen(MAX_LIST)]
    if origin in (typing.Union, types.UnionType):
        args = tuple(_bounded_text(a) for a in typing.get_args(annotation))
        return typing.Union[args]  # noqa: UP007 - built from a tuple
    return annotation


def _money_text(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _money_schema(number: dict[str, Any], pattern: str) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [
        {"type": "number", "maximum": 999999999999.99, "multipleOf": 0.01, **number},
        {"type": "string", "pattern": pattern},
    ]}, mode="validation")


# An amount: accepted as a decimal string (or number), at most 14 digits with 2 decimals,
# sent back as a decimal string with two decimals ("1234.50").
Money = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=2),
    PlainSerializer(_money_text, return_type=str),
    _money_schema({"minimum": -999999999999.99}, r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"),
]
# Bounded amounts, the bound in the OpenAPI document too (a ``Field(ge=…)`` beside
# :data:`Money` is checked but not documented: the document says what is accepted).
NonNegativeMoney = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=2, ge=0),
    PlainSerializer(_money_text, return_type=str),
    _money_schema({"minimum": 0}, r"^[0-9]{1,12}(\.[0-9]{1,2})?$"),
]
PositiveMoney = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=2, gt=0),
    PlainSerializer(_money_text, return_type=str),
    _money_schema({"exclusiveMinimum": 0},
                  r"^([1-9][0-9]{0,11}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$"),
]


def _datetime(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


# The common types by exact type: a list answer converts about a thousand values, and the
# chain of isinstance checks below cost it about a millisecond.
_BY_TYPE: dict[type, Any] = {
    type(None): None, bool: None, int: None, float: None, str: None,  # as they are
    Decimal: str, datetime: _datetime, date: date.isoformat, time: time.isoformat,
}


def jsonable(value: Any) -> Any:
    """Plain JSON values: Decimal → string, datetime → ISO 8601 with offset (naive = UTC),
    date/time → ISO 8601, enums → their value, pydantic models → their fields."""
    kind = type(value)
    if kind is dict:
        return _jsonable_dict(value)
    convert = _BY_TYPE.get(kind, _OTHER)
    if convert is not _OTHER:
        return value if convert is None else convert(value)
    return _jsonable_other(value)


_OTHER = object()  # a type not in _BY_TYPE


def _jsonable_dict(value: dict) -> dict:
    """A dict's values converted in place of a call of :func:`jsonable` each (a page of
    answers has a thousand, most of them of a type of ``_BY_TYPE``)."""
    converted = {}
    for key, item in value.items():
        convert = _BY_TYPE.get(type(item), jsonable)
        converted[key if type(key) is str else str(key)] = (
            item if convert is None else convert(item))
    return converted


def _jsonable_other(value: Any) -> Any:
    """:func:`jsonable` for the types not converted by their exact type (subclasses too)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return _datetime(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_MESSAGES = {
    "missing": _l("必填"),
    "extra_forbidden": _l("不支持的字段"),
    "literal_error": _l("取值无效，可选：{expected}"),
    "enum": _l("取值无效，可选：{expected}"),
    "string_type": _l("必须是字符串"),
    "string_too_short": _l("至少 {min_length} 个字符"),
    "string_too_long": _l("最多 {max_length} 个字符"),
    "string_pattern_mismatch": _l("格式不正确"),
    "int_type": _l("必须是整数"),
    "int_parsing": _l("必须是整数"),
    "int_from_float": _l("必须是整数"),
    "float_type": _l("必须是数字"),
    "float_parsing": _l("必须是数字"),
    "bool_type": _l("必须是 true 或 false"),
    "bool_parsing": _l("必须是 true 或 false"),
    "decimal_type": _l("必须是十进制数字（字符串）"),
    "decimal_parsing": _l("必须是十进制数字（字符串）"),
    "decimal_max_digits": _l("数字位数过多"),
    "decimal_max_places": _l("最多 {decimal_places} 位小数"),
    "decimal_whole_digits": _l("整数位数过多"),
    "date_type": _l("必须是日期（YYYY-MM-DD）"),
    "date_parsing": _l("必须是日期（YYYY-MM-DD）"),
    "date_from_datetime_parsing": _l("必须是日期（YYYY-MM-DD）"),
    "datetime_type": _l("必须是 ISO 8601 时间"),
    "datetime_parsing": _l("必须是 ISO 8601 时间"),
    "datetime_from_date_parsing": _l("必须是 ISO 8601 时间"),
    "greater_than": _l("必须大于 {gt}"),
    "greater_than_equal": _l("不能小于 {ge}"),
    "less_than": _l("必须小于 {lt}"),
    "less_than_equal": _l("不能大于 {le}"),
    "list_type": _l("必须是数组"),
    "dict_type": _l("必须是对象"),
    "model_type": _l("必须是对象"),
    "model_attributes_type": _l("必须是对象"),
    "too_short": _l("至少 {min_length} 项"),
    "too_long": _l("最多 {max_length} 项"),
    "email": _l("邮箱格式不正确"),
}


def _message(error: Any) -> str:
    if error["type"] == "value_error":  # a validator's own (Chinese) ValueError message
        return str(error.get("ctx", {}).get("error") or error["msg"])
    template = str(_MESSAGES.get(error["type"], _l("格式不正确")))
    try:
        return template.format(**error.get("ctx", {}))
    except (KeyError, IndexError):  # a placeholder pydantic did not fill
        return gettext("取值无效")


def field_errors(exc: PydanticError, root: str = "body") -> dict[str, str]:
    """``{"field.path": "message"}`` for each error of a pydantic validation, in the current
    locale."""
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"]) or root
        fields.setdefault(name, _message(error))
    return fields


def validate(model: type[BaseModel], data: Any, root: str = "body") -> Any:
    """``model`` validated from ``data``, or :class:`core.errors.ValidationError` (422)."""
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        fields = field_errors(exc, root)
        raise ValidationError(gettext("字段无效：%(fields)s", fields=gettext("、").join(fields)),
                              fields=fields) from exc
