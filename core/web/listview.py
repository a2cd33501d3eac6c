"""A reusable list page: filters, text search, sort allowlist, pagination with a capped
count, CSV/Excel export — all through the record rules of the model.

Usage in a view::

    USERS = ListView(
        User, "core_admin.users",
        columns=[Column("username", "用户名", sort=User.username, link=True),
                 Column("display_name", "姓名", sort=User.display_name),
                 Column("roles", "角色", value=lambda u: "、".join(sorted(u.role_codes)))],
        search=[User.username, User.display_name],
        filters=[Filter("active", "状态", User.active, {"1": "启用", "0": "停用"},
                        convert=lambda v: v == "1")],
        default_sort="username",
        detail_endpoint="core_admin.user_edit",
    )

    @bp.route("/users")
    @requires("core.user.read")
    def users():
        return USERS.respond(web_ctx(), select(User), title="用户")

``respond`` renders the page, or the export for ``?export=csv|xlsx``. A busy list selects
plain rows rather than ORM objects with ``row_select`` (see ``modules/crm``).

Paging: a page's "next" link carries a keyset cursor (``after``: the last row's sort value
and id), so that page 2,000 costs what page 1 costs; OFFSET deepens with the page (an
OFFSET of 100,000 reads and drops 100,000 rows). A link without a cursor (a page number
typed in, "previous") still pages by OFFSET.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from decimal import Decimal
from itertools import count
from operator import attrgetter
from typing import Any

from flask import Response
from flask import abort
from flask import current_app
from flask import render_template
from flask import request
from flask_babel import get_locale
from flask_babel import gettext
from markupsafe import Markup
from markupsafe import escape
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import or_

from core.cache import app_cached
from core.cache import request_cached
from core.exports import export_response
from core.exports import safe_cell  # noqa: F401 - re-exported (tests, older imports)
from core.exports import streamed_rows
from core.extensions import db
from core.paging import capped_label
from core.paging import inline
from core.paging import rows_with_total
from core.paging import with_total
from core.security import principal
from core.services import ServiceContext
from core.web.escaping import html_text
from core.web.links import fixed_url
from core.web.links import query_url
from core.web.links import record_url
from core.web.templating import local_dt
from core.web.templating import local_dt_formatter
from core.web.templating import money
from core.web.templating import translated_label


@dataclass
class Column:
    key: str
    label: str
    sort: Any = None  # a column expression; None = not sortable
    value: Callable[[Any], Any] | None = None
    link: bool = False
    fmt: str | None = None  # "money", "datetime", "label" (a choice label, translated)
    # On a phone (below 576 px) a row is a card: "title" (the row's name and link), "badge",
    # "field" (label: value), "action", "hide"; None = guessed (see ListView.phone_roles).
    phone: str | None = None
    # The values of a whole page read at once, ``page_values(rows) -> {row.id: value}`` (e.g.
    # labels another module owns: one query a page instead of one a row); None = ``value`` /
    # the attribute, row by row.
    page_values: Callable[[list[Any]], dict[Any, Any]] | None = None

    def get(self, row: Any) -> Any:
        if self.page_values is not None:
            return self.page_values([row]).get(row.id)
        return self.value(row) if self.value else getattr(row, self.key, None)


class LazyChoices(Mapping):
    """A select filter's choices read when the page renders (``read()`` → ``{value:
    label}``); with ``cache_key`` they are kept while the auth epoch stays the same (users,
    roles, teams: what the epoch covers), and the filter keeps its HTML as long."""

    def __init__(self, read: Callable[[], dict[str, str]], cache_key: str | None = None):
        self._read, self._key = read, cache_key
        self.kept_per_epoch = cache_key is not None

    def _load(self) -> dict[str, str]:
        if self._key is None:
            return request_cached(f"choices:{id(self)}", self._read)
        return principal.cached(("choices", self._key), self._read)

    def __getitem__(self, key: str) -> str:
        return self._load()[key]

    def items(self) -> Any:
        return self._load().items()

    def __contains__(self, key: object) -> bool:
        return key in self._load()

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


@dataclass
class Filter:
    key: str
    label: str
    column: Any
    choices: dict[str, str] = field(default_factory=dict)
    convert: Callable[[str], Any] | None = None
    # choice, condition, date_from, date_to, number_min, number_max. A ``condition``
    # filter's ``column`` maps each choice to the WHERE clause it applies, as written: a
    # flag compared through ``CASE … END = '1'`` hid the clause from PostgreSQL (no index,
    # no estimate) and cost its evaluation on every row scanned.
    kind: str = "choice"
    translate: bool = True  # False for choices that are names (people, teams …)
    # Which filter this is, for keeping its select's HTML (never reused in the process).
    _serial: int = field(default_factory=count().__next__, init=False, repr=False,
                         compare=False)

    def control(self) -> Markup:
        """The filter's form control, with the request's value: a ``<select>`` of its
        choices, else an input (of a date for date filters). Written here rather than in
        each list's template: a list page has several, at many template expressions each.

        A select is kept per auth epoch, language and chosen value when its choices are a
        ``dict``, or a mapping that says it is ``kept_per_epoch`` (its content changes only
        with the epoch, as users and roles do): the owner filter has one option per
        salesperson."""
        current = request.args.get(self.key, "").strip()  # as ``ListView.query`` reads it
        if not self.choices:
            return self._input(current)
        if not (type(self.choices) is dict or getattr(self.choices, "kept_per_epoch", False)):
            return self._select(current)
        return principal.cached(("filter", self._serial, str(get_locale()), current),
                                lambda: self._select(current))

    def _select(self, current: str) -> Markup:
        label = gettext(self.label)
        return Markup(
            '<select class="form-select form-select-sm" name="{}" aria-label="{}">'
            '<option value="">{}{}{}</option>{}</select>'
        ).format(self.key, label, label, gettext("："), gettext("全部"),
                 self._options(current))

    def _input(self, current: str) -> Markup:
        """The input with the request's value; the rest of its HTML (translated labels) is
        made once per app and language."""
        head, tail = app_cached(("filter_input", self._serial, str(get_locale())),
                                self._input_around)
        return Markup(f"{head}{escape(current)}{tail}")

    def _input_around(self) -> tuple[str, str]:
        """The input's HTML before and after its value."""
        label = gettext(self.label)
        kind = Markup(' type="date"') if self.kind.startswith("date") else ""
        head = Markup('<input class="form-control form-control-sm" name="{}" value="'
                      ).format(self.key)
        tail = Markup('" placeholder="{}" aria-label="{}" title="{}"{}>'
                      ).format(label, label, label, kind)
        return str(head), str(tail)

    def _options(self, selected: str) -> Markup:
        return Markup("".join(
            f'<option value="{escape(value)}"{" selected" if value == selected else ""}>'
            f'{escape(gettext(label) if self.translate else label)}</option>'
            for value, label in self.choices.items()))

    def apply(self, stmt: Any, raw: str) -> Any:
        if self.kind == "choice" and self.choices and raw not in self.choices:
            abort(400)
        if self.kind == "condition":
            if raw not in self.column:
                abort(400)
            return stmt.where(self.column[raw])
        try:
            value = self.convert(raw) if self.convert else raw
        except (TypeError, ValueError):
            abort(400)
        if self.kind == "date_from" or self.kind == "number_min":
            return stmt.where(self.column >= value)
        if self.kind == "date_to" or self.kind == "number_max":
            return stmt.where(self.column <= value)
        return stmt.where(self.column == value)


KEPT_PAGES = 500  # kept page statements per app (``ListView.keep_statements``)


@dataclass
class ListView:
    model: type
    endpoint: str
    columns: list[Column]
    search: list[Any] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    default_sort: str = "-id"
    detail_endpoint: str | None = None
    live_models: str | None = None
    options: list[Any] = field(default_factory=list)  # loader options (selectinload …)
    # Plain rows instead of ORM objects, for the page and its export: turns the filtered,
    # ordered statement into one selecting only what the columns show (a row needs ``id``).
    # Building 50 objects with their related ones cost a list page about 1 ms.
    row_select: Callable[[Select, ServiceContext], Select] | None = None
    # Keep each page's finished statement (its rows and capped count) per app, reader, auth
    # epoch and query string: building it and SQLAlchemy's cache key of it cost a list page
    # about 0.3 ms of CPU (bench/README.md, stock). Only for a view whose base statement is
    # the same object on every request (a module constant: another base is not reused) and
    # whose ``row_select`` reads nothing of the context: what else a page's statement
    # depends on (record rules) is the reader's and changes only with the epoch.
    keep_statements: bool = False

    def phone_roles(self) -> list[str]:
        """Each column's part of a row's phone card: declared ``phone=``, else the link
        column is the title, choice labels are badges, the next three columns are fields
        and the rest are left out (the card's title opens the record)."""
        roles: list[str] = []
        fields = sum(1 for c in self.columns if c.phone == "field")
        has_title = any(c.phone == "title" for c in self.columns)
        for col in self.columns:
            role = col.phone
            if role is None:
                if col.link and not has_title:
                    role, has_title = "title", True
                elif col.fmt == "label":
                    role = "badge"
                elif fields < 3:
                    role, fields = "field", fields + 1
                else:
                    role = "hide"
            roles.append(role)
        if not has_title and roles:
            roles[0] = "title"
        return roles

    def _sorts(self) -> dict[str, Any]:
        sorts = {"id": self.model.id}
        sorts.update({c.key: c.sort for c in self.columns if c.sort is not None})
        return sorts

    def query(self, ctx: ServiceContext, base: Any) -> tuple[Any, dict[str, str], str]:
        """The filtered, searched, rule-scoped statement (without order), the active filter
        values and the sort key. Bad filter or sort values answer 400."""
        stmt = ctx.scoped(base, self.model)
        active: dict[str, str] = {}
        for flt in self.filters:
            raw = request.args.get(flt.key, "").strip()
            if raw:
                stmt = flt.apply(stmt, raw)
                active[flt.key] = raw
        q = request.args.get("q", "").strip()
        if q and self.search:
            stmt = stmt.where(or_(*[col.ilike(f"%{q}%") for col in self.search]))
        sort = request.args.get("sort") or self.default_sort
        if sort.lstrip("-") not in self._sorts():
            abort(400)
        return stmt, active, sort

    def _ordered(self, stmt: Any, sort: str) -> Any:
        column = self._sorts()[sort.lstrip("-")]
        desc = sort.startswith("-")
        tiebreak = self.model.id.desc() if desc else self.model.id.asc()
        return stmt.order_by(column.desc() if desc else column.asc(), tiebreak)

    # ------------------------------------------------------------------ keyset paging
    def _sort_column(self, sort: str) -> Any:
        return self._sorts()[sort.lstrip("-")]

    def _cursor(self, sort: str, row: Any) -> str | None:
        """The ``after`` token for the page following ``row`` (None when the row does not
        carry the sort value: such a list pages by OFFSET)."""
        column = self._sort_column(sort)
        if getattr(column, "class_", None) is not self.model:  # an expression, a join's
            return None
        key = getattr(column, "key", None)
        try:
            value = getattr(row, key) if key else None
            row_id = row.id
        except AttributeError:
            return None
        if key is None or not isinstance(value, (str, int, float, Decimal, datetime,
                                                 type(None))) or isinstance(value, bool):
            return None
        kind = ("t" if isinstance(value, datetime) else "d" if isinstance(value, Decimal)
                else "n" if value is None else "v")
        raw = value.isoformat() if kind == "t" else str(value) if kind == "d" else value
        data = json.dumps([sort, kind, raw, int(row_id)], separators=(",", ":"))
        return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")

    def _after(self, sort: str, token: str) -> Any:
        """The WHERE clause of the rows after ``token``'s row in ``sort``'s order; None for
        a token of another sort or one that does not decode (the page goes by OFFSET)."""
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            token_sort, kind, raw, row_id = data
            if token_sort != sort or kind not in "tdnv" or not isinstance(row_id, int):
                return None
            value = (datetime.fromisoformat(raw) if kind == "t" else Decimal(raw)
                     if kind == "d" else None if kind == "n" else raw)
        except (ValueError, TypeError, ArithmeticError):
            return None
        column, key = self._sort_column(sort), self.model.id
        desc = sort.startswith("-")
        # Where NULLs sort: PostgreSQL puts them last going up, SQLite first.
        nulls_first = desc == (db.engine.dialect.name == "postgresql")

        def beyond(a: Any, b: Any) -> Any:
            return a < b if desc else a > b

        if value is None:
            after_nulls = and_(column.is_(None), beyond(key, row_id))
            return or_(after_nulls, column.is_not(None)) if nulls_first else after_nulls
        # ``column <= v`` (or >=) first: an index range on the sort column, then the ties.
        within = and_(column <= value if desc else column >= value,
                      or_(beyond(column, value), beyond(key, row_id)))
        return within if nulls_first else or_(within, column.is_(None))

    def respond(self, ctx: ServiceContext, base: Any, *, title: str,
                actions: list[tuple[str, str]] | None = None, template: str | None = None,
                cells: Callable[[Any], str] | None = None, **context: Any) -> Any:
        """The list page (or its export); ``context`` goes to a custom ``template``.

        ``cells(row)`` gives a row's ``<td>`` cells as HTML (its values escaped) for a custom
        table; by default they come from the view's columns."""
        export = request.args.get("export")
        if export in ("csv", "xlsx"):
            stmt, _active, sort = self.query(ctx, base)
            return self.export(stmt, sort, export, ctx)
        cap = int(current_app.config.get("TANDEM_COUNT_CAP", 10000))
        per_page = int(current_app.config.get("TANDEM_PAGE_SIZE", 50))
        page = max(request.args.get("page", 1, type=int) or 1, 1)
        statement, stmt, active, sort = self._page_statement(ctx, base, cap, per_page, page)
        rows, total = rows_with_total(statement, stmt, self.model.id, cap,
                                      entities=self.row_select is None, from_start=page == 1)
        args = {k: v for k, v in request.args.items() if k not in ("page", "export", "after")}
        here = fixed_url(self.endpoint)
        cursor = self._cursor(sort, rows[-1]) if len(rows) == per_page else None

        def page_url(p: int) -> str:
            """Page ``p``; the next one by keyset from this page's last row."""
            if p == page + 1 and cursor:
                return query_url(here, {**args, "page": p, "after": cursor})
            return query_url(here, {**args, "page": p})

        def sort_url(key: str) -> str:
            return query_url(here, {**args, "sort": key if sort != key else f"-{key}", "page": 1})

        def sort_link(key: str, label: str) -> Markup:
            """A column heading that sorts by ``key`` (again: the other way round)."""
            arrow = " ▲" if sort == key else " ▼" if sort == f"-{key}" else ""
            return Markup(f'<a href="{html_text(sort_url(key))}" class="link-body-emphasis '
                          f'text-decoration-none">{html_text(gettext(label))}{arrow}</a>')

        return render_template(
            template or "core/components/list_page.html", view=self, rows=rows, title=title,
            total=min(total, cap), capped=total > cap,
            total_label=capped_label(total, cap, grouped=True), page=page, per_page=per_page,
            sort=sort, active=active, q=request.args.get("q", ""), actions=actions or [],
            page_url=page_url,
            sort_url=sort_url, sort_link=sort_link,
            export_url=lambda fmt: query_url(here, {**args, "export": fmt}),
            rows_html=self.rows_html(rows, cells or self.column_cells(rows)),
            phone_roles=self.phone_roles(), **context,
        )

    @staticmethod
    def rows_html(rows: list[Any], cells: Callable[[Any], str]) -> Markup:
        """Every ``<tr>`` of the page as one piece of HTML, built here rather than row by row
        and cell by cell in Jinja: a 50-row page has hundreds of cells, and Jinja's per-call
        overhead dominated it."""
        return Markup("".join(f'<tr data-id="{int(row.id)}">{cells(row)}</tr>' for row in rows))

    def column_cells(self, rows: Sequence[Any] = ()) -> Callable[[Any], str]:
        """A row's cells from the view's columns: each column's way of writing its value is
        chosen once per page, and labels are translated and escaped once per page;
        ``rows`` (the page) for the columns whose values are read a page at a time."""
        writers = [self._cell_writer(col, rows) for col in self.columns]
        return lambda row: "".join([write(row) for write in writers])

    def _cell_writer(self, col: Column, rows: Sequence[Any] = ()) -> Callable[[Any], str]:
        if col.page_values is not None:
            values = col.page_values(list(rows))
            get: Callable[[Any], Any] = lambda row: values.get(row.id)  # noqa: E731
        else:
            get = col.value or attrgetter(col.key)  # what Column.get does, one call fewer
        if col.link and self.detail_endpoint:
            url = record_url(self.detail_endpoint)
            return lambda row: (f'<td><a href="{url(row.id)}">'
                                f'{html_text(get(row))}</a></td>')
        if col.fmt == "money":  # digits, separators and the currency sign
            return lambda row: f"<td>{money(get(row))}</td>"
        if col.fmt == "datetime":  # digits and separators
            when = local_dt_formatter()
            return lambda row: f"<td>{when(get(row))}</td>"
        if col.fmt == "label":
            label = _translator()
            return lambda row: f"<td>{html_text(label(get(row)))}</td>"
        yes, no = str(escape(gettext("是"))), str(escape(gettext("否")))

        def plain(row: Any) -> str:
            value = get(row)
            if value is True or value is False:
                return f"<td>{yes if value else no}</td>"
            return f"<td>{html_text(value)}</td>"

        return plain

    def _page_statement(self, ctx: ServiceContext, base: Any, cap: int, per_page: int,
                        page: int) -> tuple[Any, Any, dict[str, str], str]:
        """The statement of the request's page with its capped count (:func:`with_total`),
        the filtered statement, the active filters and the sort; kept with
        ``keep_statements``."""
        epoch = principal.current_epoch() if self.keep_statements else None
        if epoch is None:
            return self._build_page(ctx, base, cap, per_page, page)
        kept = current_app.extensions.setdefault("tandem_kept_pages", {})
        key = (id(self), epoch, ctx.actor_id, request.query_string, cap, per_page)
        found = kept.get(key)
        if found is not None and found[0] is base:
            return found[1]
        built = self._build_page(ctx, base, cap, per_page, page)
        if len(kept) >= KEPT_PAGES:  # the epoch moved on, or many readers and queries
            kept.clear()
        kept[key] = (base, built)
        return built

    def _build_page(self, ctx: ServiceContext, base: Any, cap: int, per_page: int,
                    page: int) -> tuple[Any, Any, dict[str, str], str]:
        stmt, active, sort = self.query(ctx, base)
        after = request.args.get("after")
        keyset = self._after(sort, after) if after and page > 1 else None
        ordered = self._ordered(stmt, sort).limit(inline(per_page))
        ordered = ordered.where(keyset) if keyset is not None else \
            ordered.offset(inline((page - 1) * per_page))
        statement = with_total(self._page_select(ctx, ordered), stmt, self.model.id, cap)
        return statement, stmt, active, sort

    def _page_select(self, ctx: ServiceContext, stmt: Select) -> Select:
        """An ordered, limited statement as the rows to show: plain rows with
        ``row_select``, else ORM objects loaded with the view's options."""
        if self.row_select is not None:
            return self.row_select(stmt, ctx)
        return stmt.options(*self.options)

    def export(self, stmt: Any, sort: str, fmt: str, ctx: ServiceContext) -> Response:
        """The whole filtered, rule-scoped list as a streamed CSV or XLSX (constant memory:
        a server-side cursor and a streaming writer, :mod:`core.exports`)."""
        header = [gettext(c.label) for c in self.columns]  # the reader's language
        yes, no = gettext("是"), gettext("否")
        label = _translator()
        columns = self.columns

        def cells(row: Any) -> list[Any]:
            return [label(c.get(row)) if c.fmt == "label" else _plain(c.get(row), yes, no)
                    for c in columns]

        rows = streamed_rows(db.session, self._page_select(ctx, self._ordered(stmt, sort)),
                             scalars=self.row_select is None, convert=cells)
        return export_response(header, rows, fmt, self.model.__tablename__, ctx.actor_id)


def _translator() -> Callable[[Any], str]:
    """:func:`translated_label`, each label looked up once per page."""
    seen: dict[str, str] = {}

    def label(value: Any) -> str:
        if value not in seen:
            seen[value] = translated_label(value)
        return seen[value]

    return label


def _plain(value: Any, yes: str, no: str) -> Any:
    """An exported cell: local time, amounts as text, 是/否; texts and numbers as they are."""
    kind = type(value)
    if kind is str or kind is int or value is None:  # most cells: nothing to do
        return value
    if isinstance(value, datetime):
        return local_dt(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return yes if value else no
    return value
