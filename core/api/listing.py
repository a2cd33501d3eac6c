"""List conventions: pagination, cursor, sort allowlist, declared filters, record rules.

Declare once per list endpoint, next to the view::

    CUSTOMERS = Listing(
        Customer,
        sort={"id": Customer.id, "name": Customer.name, "created_at": Customer.created_at},
        default_sort="-created_at",
        filters={"status": Customer.status, "owner_id": Customer.owner_id},
        ranges={"created_at": Customer.created_at},
        search=[Customer.name, Customer.phone],
    )

and answer with ``CUSTOMERS.page(ctx, select(Customer))``. The query string then accepts
``?page=2&per_page=50`` (at most 200) or ``?cursor=<meta.next_cursor>``; ``?sort=-created_at,name``
(keys of ``sort``, ``-`` for descending; anything else → 400 ``invalid_sort``);
``?status=active`` (repeat for IN); ``?created_at__gte=…&created_at__lte=…``; ``?q=text``
(ILIKE over ``search``). Record rules (``ctx.scoped``) apply to the rows and to the count;
``CUSTOMERS.query(ctx, stmt)`` gives the same scoped, filtered, sorted SELECT for exports;
``?format=csv|xlsx`` answers the whole list as a streamed file (``Listing.export``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask import request
from flask_babel import gettext as _
from sqlalchemy import BigInteger
from sqlalchemy import SmallInteger
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy.orm import ColumnProperty
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.types import TypeDecorator

from core.api.schemas import jsonable
from core.errors import UserError
from core.errors import ValidationError
from core.paging import page_with_total
from core.services import ServiceContext

MAX_PER_PAGE = 200
MAX_PAGE = 10**6
MAX_TEXT_FILTER = 200  # a text filter or search term, in characters
EXPORT_FORMATS = ("csv", "xlsx")  # ?format= of a list endpoint: its export
RANGE_SUFFIXES = {"__gte": "__ge__", "__lte": "__le__"}


class InvalidSort(UserError):
    code = "invalid_sort"


class InvalidCursor(UserError):
    code = "invalid_cursor"


@dataclass
class Page:
    """One page of a list: ``items`` (ORM rows or dicts) and ``meta``. An endpoint returns it;
    the framework renders ``{"data": [...], "meta": {...}}`` through its response model.

    ``shaped``: the items are already the response model's fields, as a plain-row listing
    writes them (no model to build and dump again for each: half a millisecond a page of 50;
    the endpoint's tests compare them with what the model gives)."""

    items: list[Any]
    meta: dict[str, Any]
    shaped: bool = False

    def to_dict(self, serialize: Callable[[Any], Any] | None = None) -> dict[str, Any]:
        items = [serialize(i) for i in self.items] if serialize else self.items
        return {"data": items, "meta": self.meta}


@dataclass(frozen=True)
class Sort:
    expr: Any  # the ORDER BY expression
    column: Any | None  # the model attribute when keyset pagination may use it
    descending: bool


def _cell(value: Any) -> Any:
    """A JSON value as a spreadsheet cell (lists and objects as JSON text)."""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _python_type(column: Any) -> type:
    kind = getattr(column, "type", None)
    if isinstance(kind, TypeDecorator):  # UTCDateTime: the type it stores
        kind = kind.impl_instance if hasattr(kind, "impl_instance") else kind.impl
    try:
        return kind.python_type
    except (AttributeError, NotImplementedError):
        return str


def _int_bounds(column: Any) -> tuple[int, int]:
    """The range an integer column holds on every backend (PostgreSQL's are narrowest)."""
    kind = getattr(column, "type", None)
    if isinstance(kind, SmallInteger):
        return -(2**15), 2**15 - 1
    if isinstance(kind, BigInteger):
        return -(2**63), 2**63 - 1
    return -(2**31), 2**31 - 1


def _keyset_column(model: type, expr: Any) -> Any | None:
    """``expr`` when it is a non-nullable column attribute of ``model`` (usable in a cursor)."""
    prop = getattr(expr, "property", None)
    if not isinstance(prop, ColumnProperty) or not issubclass(model, expr.class_):
        return None
    return expr if all(not c.nullable for c in prop.columns) else None


@dataclass
class Listing:
    """The list conventions of one endpoint (see the module docstring).

    ``model`` has an integer ``id`` (always sortable, and the tie-breaker). ``sort`` maps a
    key to a column (``key`` and ``-key`` allowed) or to an explicit ordering; only
    non-nullable columns of ``model`` allow cursors. ``filters``/``ranges`` map a query
    parameter (not page/per_page/cursor/sort/q) to a column whose type converts the value."""

    model: type
    sort: Mapping[str, Any] = field(default_factory=dict)
    default_sort: str = "-id"
    filters: Mapping[str, Any] = field(default_factory=dict)
    ranges: Mapping[str, Any] = field(default_factory=dict)
    search: Sequence[Any] = ()
    search_help: str = ""

    def __post_init__(self) -> None:
        self.sorts: dict[str, Sort] = {}
        explicit = {}
        for key, expr in {"id": self.model.id, **self.sort}.items():
            if isinstance(expr, UnaryExpression) or key.startswith("-"):
                explicit[key] = expr
                continue
            column = _keyset_column(self.model, expr)
            self.sorts[key] = Sort(expr.asc(), column, False)
            self.sorts["-" + key] = Sort(expr.desc(), column, True)
        for key, expr in explicit.items():
            if not isinstance(expr, UnaryExpression):
                expr = expr.desc() if key.startswith("-") else expr.asc()
            self.sorts[key] = Sort(expr, None, key.startswith("-"))

    # --- the query string ---------------------------------------------------------------

    def parameters(self) -> list[tuple[str, type, str]]:
        """(name, python type, description) of the query parameters, for the OpenAPI document."""
        keys = "、".join(k for k in self.sorts if not k.startswith("-"))
        params: list[tuple[str, type, str]] = [
            ("page", int, "页码，从 1 开始"),
            ("per_page", int, f"每页条数，最多 {MAX_PER_PAGE}"),
            ("cursor", str, "上一页 meta.next_cursor（游标翻页，与 page 二选一）"),
            ("sort", str, f"排序，逗号分隔，前缀 - 为降序；可用：{keys}；默认 {self.default_sort}"),
        ]
        if self.search:
            params.append(("q", str, self.search_help or "关键字搜索"))
        for name, column in self.filters.items():
            params.append((name, _python_type(column), "等于（可重复表示“任一”）"))
        for name, column in self.ranges.items():
            params.append((f"{name}__gte", _python_type(column), "不小于"))
            params.append((f"{name}__lte", _python_type(column), "不大于"))
        return params

    def constraints(self, name: str) -> dict[str, Any]:
        """The JSON-schema bounds of query parameter ``name`` (for the OpenAPI document)."""
        if name == "page":
            return {"minimum": 1, "maximum": MAX_PAGE}
        if name == "per_page":
            return {"minimum": 1, "maximum": MAX_PER_PAGE}
        if name == "sort":
            # Exactly the keys it takes (issue 14 #17: the document says what is accepted).
            key = "(?:" + "|".join(re.escape(k) for k in self.sorts) + ")"
            return {"maxLength": MAX_TEXT_FILTER, "pattern": f"^{key}(?:,{key})*$"}
        if name == "cursor":  # what ``_cursor`` writes: URL-safe base64 without padding
            return {"maxLength": 1000, "pattern": "^[A-Za-z0-9_-]+$"}
        if name == "q":
            return {"maxLength": MAX_TEXT_FILTER}
        column = self.filters.get(name)
        if column is None:
            base = name.removesuffix("__gte").removesuffix("__lte")
            column = self.ranges.get(base)
        kind = _python_type(column) if column is not None else str
        if kind is int:
            low, high = _int_bounds(column)
            return {"minimum": low, "maximum": high}
        if kind is Decimal:  # finite, below 10**18 (``_parse``)
            return {"pattern": "^-?[0-9]{1,17}(?:\\.[0-9]{1,6})?$"}
        if kind is str:
            return {"maxLength": MAX_TEXT_FILTER}
        return {}

    def _sort_keys(self, args: Mapping[str, str]) -> list[str]:
        raw = args.get("sort") or self.default_sort
        keys = [k.strip() for k in raw.split(",") if k.strip()]
        unknown = [k for k in keys if k not in self.sorts]
        if unknown or not keys:
            allowed = _("、").join(k for k in self.sorts if not k.startswith("-"))
            raise InvalidSort(_("不支持的排序：%(sort)s（可用：%(allowed)s）",
                                sort=_("、").join(unknown) or raw, allowed=allowed))
        if "id" not in keys and "-id" not in keys:
            keys.append("id")  # a stable order for pages and cursors
        return keys

    def _where(self, stmt: Any, args: Any) -> Any:
        errors: dict[str, str] = {}
        for name, column in self.filters.items():
            values = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
            values = [v for v in values if v not in (None, "")]
            parsed = [_parse(column, v, name, errors) for v in values]
            if parsed and name not in errors:
                stmt = stmt.where(column == parsed[0] if len(parsed) == 1 else column.in_(parsed))
        for name, column in self.ranges.items():
            for suffix, op in RANGE_SUFFIXES.items():
                raw = args.get(name + suffix)
                if raw not in (None, ""):
                    value = _parse(column, raw, name + suffix, errors)
                    if name + suffix not in errors:
                        stmt = stmt.where(getattr(column, op)(value))
        text = (args.get("q") or "").strip()
        if len(text) > MAX_TEXT_FILTER:
            errors["q"] = _("最多 %(n)s 个字符", n=MAX_TEXT_FILTER)
        elif text and self.search:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(or_(*(col.ilike(like, escape="\\") for col in self.search)))
        if errors:
            raise ValidationError(_("查询参数无效：%(names)s", names=_("、").join(errors)),
                                  fields=errors)
        return stmt

    # --- what endpoints call ------------------------------------------------------------

    def query(self, ctx: ServiceContext, stmt: Any, args: Any = None) -> Any:
        """``stmt`` with record rules, the request's filters and sort (no paging): exports."""
        args = request.args if args is None else args
        keys = self._sort_keys(args)
        return self._where(ctx.scoped(stmt, self.model), args).order_by(
            *(self.sorts[k].expr for k in keys)
        )

    def page(
        self,
        ctx: ServiceContext,
        stmt: Any,
        *,
        serialize: Callable[[Any], Any] | None = None,
        args: Any = None,
        row_select: Callable[[Any], Any] | None = None,
        export: bool = False,
    ) -> Page:
        """One page of ``stmt`` (a ``select(Model)``) for the request's query string: ORM
        objects, or with ``row_select`` (the ordered page statement → one selecting plain
        columns, the sort keys among them) plain rows. With ``export`` (an endpoint whose
        ``serialize`` gives exactly its answer's fields and that does nothing more with the
        page), ``?format=csv|xlsx`` answers the whole list as a file instead."""
        args = request.args if args is None else args
        if export and serialize is not None and args.get("format") in EXPORT_FORMATS:
            return self.export(ctx, stmt, args["format"], serialize=serialize, args=args,
                               row_select=row_select)
        per_page = _int_arg(args, "per_page", _default_per_page(), 1, MAX_PER_PAGE)
        keys = self._sort_keys(args)
        scoped = self._where(ctx.scoped(stmt, self.model), args)
        cap = int(current_app.config.get("TANDEM_COUNT_CAP", 10000))
        rows_stmt = scoped.order_by(*(self.sorts[k].expr for k in keys))
        cursor = args.get("cursor")
        page: int | None = None
        if cursor:
            rows_stmt = rows_stmt.where(self._after(keys, _decode_cursor(cursor, keys)))
        else:
            page = _int_arg(args, "page", 1, 1, MAX_PAGE)
            rows_stmt = rows_stmt.offset((page - 1) * per_page)
        rows_stmt = rows_stmt.limit(per_page + 1)
        if row_select is not None:
            rows_stmt = row_select(rows_stmt)
        rows, counted = page_with_total(rows_stmt, scoped, self.model.id, cap,
                                        entities=row_select is None, from_start=page == 1)
        more = len(rows) > per_page
        rows = rows[:per_page]
        meta = {
            "page": page,
            "per_page": per_page,
            "total": min(counted or 0, cap),
            "total_capped": (counted or 0) > cap,
            "sort": ",".join(keys),
            "next_cursor": self._cursor(keys, rows[-1]) if more and rows else None,
        }
        items = [serialize(r) for r in rows] if serialize else rows
        return Page(items, meta)

    def export(self, ctx: ServiceContext, stmt: Any, fmt: str, *,
               serialize: Callable[[Any], Any] | None = None, args: Any = None,
               row_select: Callable[[Any], Any] | None = None) -> Any:
        """The whole list (record rules, filters and sort of the query string, no paging)
        as a streamed CSV or XLSX (``?format=csv|xlsx``), one column per field of an item
        as the JSON answer gives it (:mod:`core.exports`: constant memory, formula-safe)."""
        from core.exports import export_response
        from core.exports import streamed_rows
        from core.extensions import db

        query = self.query(ctx, stmt, args)
        if row_select is not None:
            query = row_select(query)
        fields: list[str] = []

        def as_dict(item: Any) -> dict[str, Any]:
            item = serialize(item) if serialize else item
            if hasattr(item, "model_dump"):
                return item.model_dump(mode="json")
            if hasattr(item, "_mapping"):
                return dict(item._mapping)
            if isinstance(item, dict):
                return item
            return {c.key: getattr(item, c.key) for c in item.__mapper__.column_attrs}

        def cells(item: Any) -> list[Any]:
            data = jsonable(as_dict(item))
            if not fields:
                fields.extend(data)
            return [_cell(data.get(f)) for f in fields]

        # Read while the response is sent (after this unit of work committed): the cursor
        # opens then, in the request's next transaction; ``fields`` fill from the first row.
        rows = streamed_rows(db.session, query, scalars=row_select is None, convert=cells)
        return export_response(fields, rows, fmt, self.model.__tablename__, ctx.actor_id)

    # --- keyset cursors -----------------------------------------------------------------

    def _cursor(self, keys: list[str], row: Any) -> str | None:
        sorts = [self.sorts[k] for k in keys]
        if any(s.column is None for s in sorts):
            return None  # sorted by an expression or a nullable column: page numbers only
        values = [getattr(row, s.column.key, None) for s in sorts]
        if any(v is None for v in values):
            return None
        raw = json.dumps([",".join(keys), jsonable(values)], ensure_ascii=False)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def _after(self, keys: list[str], values: list[str]) -> Any:
        sorts = [self.sorts[k] for k in keys]
        if any(s.column is None for s in sorts):
            raise InvalidCursor(_("此排序不支持游标翻页，请使用 page"))
        errors: dict[str, str] = {}
        pairs = zip(sorts, values, strict=True)
        parsed = [_parse(s.column, str(v), "cursor", errors) for s, v in pairs]
        if errors:
            raise InvalidCursor(_("游标无效"))
        clauses = []
        for i, (sort, value) in enumerate(zip(sorts, parsed, strict=True)):
            equal = [s.column == v for s, v in zip(sorts[:i], parsed[:i], strict=True)]
            beyond = sort.column < value if sort.descending else sort.column > value
            clauses.append(and_(*equal, beyond))
        return or_(*clauses)


def _decode_cursor(cursor: str, keys: list[str]) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort, values = json.loads(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidCursor(_("游标无效")) from exc
    if sort != ",".join(keys) or not isinstance(values, list) or len(values) != len(keys):
        raise InvalidCursor(_("游标与当前排序不一致"))
    return values


def _default_per_page() -> int:
    return min(int(current_app.config.get("TANDEM_PAGE_SIZE", 50)), MAX_PER_PAGE)


def _int_arg(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        if not raw.isascii():
            raise ValueError(raw)
        value = int(raw)
    except ValueError as exc:
        raise ValidationError(_("%(name)s 必须是整数", name=name),
                              fields={name: _("必须是整数")}) from exc
    if not low <= value <= high:
        raise ValidationError(
            _("%(name)s 超出范围 %(low)s–%(high)s", name=name, low=low, high=high),
            fields={name: _("应在 %(low)s–%(high)s", low=low, high=high)},
        )
    return value


def _parse(column: Any, raw: str, name: str, errors: dict[str, str]) -> Any:
    """A query-string value converted to the column's type (errors collected by name).

    Datetimes without an offset are read in the display time zone (Asia/Shanghai)."""
    kind = _python_type(column)
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1")
        if kind is int:
            if not raw.strip().lstrip("+-").isascii():
                raise ValueError(raw)
            number = int(raw)
            low, high = _int_bounds(column)
            if not low <= number <= high:
                raise ValueError(raw)
            return number
        if kind is Decimal:
            number = Decimal(raw)
            if not number.is_finite() or abs(number) >= Decimal(10) ** 18:
                raise ValueError(raw)
            return number
        if kind is datetime:
            value = datetime.fromisoformat(raw)
            if value.tzinfo is None:
                zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
                value = value.replace(tzinfo=ZoneInfo(zone))
            return value.astimezone(UTC)  # beyond the calendar once in UTC: OverflowError
        if kind is date:
            return date.fromisoformat(raw)
        if len(raw) > MAX_TEXT_FILTER:
            raise ValueError(raw)
    except (ValueError, InvalidOperation, OverflowError):
        messages = {
            bool: _("必须是 true 或 false"),
            int: _("必须是整数"),
            Decimal: _("必须是数字"),
            datetime: _("必须是 ISO 8601 时间"),
            date: _("必须是日期（YYYY-MM-DD）"),
        }
        errors[name] = messages.get(kind) or _("最多 %(n)s 个字符", n=MAX_TEXT_FILTER)
        return None
    return raw


def paginate(
    ctx: ServiceContext,
    stmt: Any,
    model: type,
    serialize: Callable[[Any], Any],
    *,
    sorts: Mapping[str, Any],
    default_sort: str,
) -> dict[str, Any]:
    """Shortcut for a list without declared filters: ``Listing(model, sort=sorts,
    default_sort=...).page(ctx, stmt, serialize=serialize)`` as a ``{"data", "meta"}`` dict.

    ``sorts`` maps a key to a column (``-key`` is added) or to an explicit ordering."""
    listing = Listing(model, sort=sorts, default_sort=default_sort)
    return listing.page(ctx, stmt, serialize=serialize).to_dict()
