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

``respond`` renders the page, or the export for ``?export=csv|xlsx``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import Response
from flask import abort
from flask import current_app
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from markupsafe import Markup
from markupsafe import escape
from sqlalchemy import or_

from core.db import capped_count
from core.extensions import db
from core.services import ServiceContext
from core.web.links import record_url
from core.web.templating import local_dt
from core.web.templating import money
from core.web.templating import translated_label

EXPORT_CAP = 100_000


@dataclass
class Column:
    key: str
    label: str
    sort: Any = None  # a column expression; None = not sortable
    value: Callable[[Any], Any] | None = None
    link: bool = False
    fmt: str | None = None  # "money", "datetime", "label" (a choice label, translated)

    def get(self, row: Any) -> Any:
        return self.value(row) if self.value else getattr(row, self.key, None)


@dataclass
class Filter:
    key: str
    label: str
    column: Any
    choices: dict[str, str] = field(default_factory=dict)
    convert: Callable[[str], Any] | None = None
    kind: str = "choice"  # choice, date_from, date_to, number_min, number_max
    translate: bool = True  # False for choices that are names (people, teams …)

    def options(self) -> Markup:
        """The ``<option>`` elements of a choice filter (labels translated once)."""
        selected = request.args.get(self.key)
        return Markup("".join(
            f'<option value="{escape(value)}"{" selected" if value == selected else ""}>'
            f'{escape(gettext(label) if self.translate else label)}</option>'
            for value, label in self.choices.items()))

    def apply(self, stmt: Any, raw: str) -> Any:
        if self.kind == "choice" and self.choices and raw not in self.choices:
            abort(400)
        try:
            value = self.convert(raw) if self.convert else raw
        except (TypeError, ValueError):
            abort(400)
        if self.kind == "date_from" or self.kind == "number_min":
            return stmt.where(self.column >= value)
        if self.kind == "date_to" or self.kind == "number_max":
            return stmt.where(self.column <= value)
        return stmt.where(self.column == value)


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

    def respond(self, ctx: ServiceContext, base: Any, *, title: str,
                actions: list[tuple[str, str]] | None = None, template: str | None = None,
                **context: Any) -> Any:
        """The list page (or its export); ``context`` goes to a custom ``template``."""
        stmt, active, sort = self.query(ctx, base)
        export = request.args.get("export")
        if export in ("csv", "xlsx"):
            return self.export(stmt, sort, export)
        cap = int(current_app.config.get("TANDEM_COUNT_CAP", 10000))
        total = capped_count(stmt, self.model.id, cap)
        per_page = int(current_app.config.get("TANDEM_PAGE_SIZE", 50))
        page = max(request.args.get("page", 1, type=int) or 1, 1)
        rows = db.session.scalars(
            self._ordered(stmt, sort).options(*self.options).limit(per_page)
            .offset((page - 1) * per_page)).unique().all()
        args = {k: v for k, v in request.args.items() if k not in ("page", "export")}
        return render_template(
            template or "core/components/list_page.html", view=self, rows=rows, title=title,
            total=min(total, cap), capped=total > cap, page=page, per_page=per_page,
            sort=sort, active=active, q=request.args.get("q", ""), actions=actions or [],
            page_url=lambda p: url_for(self.endpoint, **{**args, "page": p}),
            sort_url=lambda key: url_for(self.endpoint, **{
                **args, "sort": key if sort != key else f"-{key}", "page": 1}),
            export_url=lambda fmt: url_for(self.endpoint, **{**args, "export": fmt}),
            table=lambda: self.table(rows), **context,
        )

    def table(self, rows: list[Any]) -> list[tuple[Any, Markup]]:
        """``(id, "<td>…</td>…")`` per row, built here rather than cell by cell in Jinja: a
        50-row page has hundreds of cells, and Jinja's per-call overhead dominated it."""
        detail_url = self._detail_url()
        yes, no = str(escape(gettext("是"))), str(escape(gettext("否")))
        label = _translator()
        out = []
        for row in rows:
            cells = []
            for col in self.columns:
                value = col.get(row)
                if col.link and detail_url:
                    text = escape("" if value is None else value)
                    cells.append(f'<td><a href="{escape(detail_url(row))}">{text}</a></td>')
                elif col.fmt == "money":
                    cells.append(f"<td>{escape(money(value))}</td>")
                elif col.fmt == "datetime":
                    cells.append(f"<td>{escape(local_dt(value))}</td>")
                elif col.fmt == "label":
                    cells.append(f"<td>{escape(label(value))}</td>")
                elif value is True or value is False:
                    cells.append(f"<td>{yes if value else no}</td>")
                else:
                    cells.append(f"<td>{escape('' if value is None else value)}</td>")
            out.append((row.id, Markup("".join(cells))))
        return out

    def _detail_url(self) -> Callable[[Any], str] | None:
        """Row links without a ``url_for`` per row: the URL is built once around a marker."""
        if not self.detail_endpoint:
            return None
        url = record_url(self.detail_endpoint)
        return lambda row: url(row.id)

    def export(self, stmt: Any, sort: str, fmt: str) -> Response:
        rows = db.session.scalars(self._ordered(stmt, sort).options(*self.options)
                                  .limit(EXPORT_CAP)).unique()
        header = [gettext(c.label) for c in self.columns]  # the reader's language
        yes, no = gettext("是"), gettext("否")
        label = _translator()
        values = ([label(c.get(r)) if c.fmt == "label" else _plain(c.get(r), yes, no)
                   for c in self.columns] for r in rows)
        name = self.model.__tablename__
        if fmt == "csv":
            buffer = io.StringIO()
            buffer.write("\ufeff")  # Excel opens UTF-8 CSV correctly with a BOM
            writer = csv.writer(buffer)
            writer.writerow(header)
            writer.writerows(values)
            return Response(buffer.getvalue(), mimetype="text/csv",
                            headers={"Content-Disposition": f"attachment; filename={name}.csv"})
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(name[:31])
        sheet.append(header)
        for row in values:
            sheet.append(row)
        out = io.BytesIO()
        workbook.save(out)
        return Response(out.getvalue(), headers={
            "Content-Disposition": f"attachment; filename={name}.xlsx"},
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _translator() -> Callable[[Any], str]:
    """:func:`translated_label`, each label looked up once per page."""
    seen: dict[str, str] = {}

    def label(value: Any) -> str:
        if value not in seen:
            seen[value] = translated_label(value)
        return seen[value]

    return label


def _plain(value: Any, yes: str, no: str) -> Any:
    from datetime import datetime
    from decimal import Decimal

    if isinstance(value, datetime):
        from core.web.templating import local_dt

        return local_dt(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return yes if value else no
    return value
