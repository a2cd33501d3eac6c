"""What a list page can cost at best: the hand-written SQL's rows, fetched with the bare
driver (psycopg, or sqlite3 for the tiny-scale test run), rendered by the page's own Jinja
template with plain Jinja — no ORM, no Flask, no request, no session, no record rules.

The template gets what the page's context gives it; what the real page keeps per process
(the menus, the filter controls' HTML, the logged-in user) is given as constants here too,
so the baseline is the SQL round trips, reading the rows, writing their cells and rendering
the template."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment
from jinja2 import FileSystemLoader
from markupsafe import Markup
from markupsafe import escape

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [ROOT / "modules" / "crm" / "web" / "templates", ROOT / "core" / "web" / "templates"]
TYPES = {"individual": "个人", "company": "企业"}
LEVELS = {"important": "重要", "normal": "普通", "potential": "潜在"}
LEVEL_BADGES = {"important": "danger", "normal": "secondary", "potential": "info"}
STATUSES = {"active": "正常", "in_pool": "公海", "locked": "锁定"}
BEIJING = timedelta(hours=8)


def _connect(url: str) -> tuple[Any, str]:
    """A DB-API connection to the benchmark's database (autocommit, as a read-only page)."""
    if url.startswith("sqlite"):
        return sqlite3.connect(url.split("///", 1)[1], check_same_thread=False), "?"
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    # As the app's connections (core.config): each run planned for its values, not a
    # prepared statement's generic plan.
    return psycopg.connect(dsn, autocommit=True,
                           options="-c plan_cache_mode=force_custom_plan"), "%s"


def _when(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # sqlite3 gives the stored text
        value = datetime.fromisoformat(value)
    return (value + BEIJING).strftime("%Y-%m-%d %H:%M")


def _cells(row: tuple) -> str:
    id_, kind, name, phone, level, tags, status, followed_up, owner = row[:9]
    badges = "".join(f'<span class="badge text-bg-light border me-1">{escape(t)}</span>'
                     for t in (tags or "").split(",") if t)
    return (f'<td class="text-nowrap">C{id_:06d}</td>'
            f'<td><a href="/crm/customers/{id_}">{escape(name)}</a></td>'
            f"<td>{TYPES.get(kind, escape(kind))}</td><td>{escape(phone or '')}</td>"
            f'<td><span class="badge text-bg-{LEVEL_BADGES.get(level, "light")}">'
            f"{LEVELS.get(level, escape(level))}</span></td><td>{badges}</td>"
            f"<td>{escape(owner or '—')}</td><td>{STATUSES.get(status, escape(status))}</td>"
            f'<td class="text-nowrap">{_when(followed_up)}</td>')


def customer_list(url: str, page_sql: str, badge_sql: str, args: dict[str, str],
                  user_name: str) -> Callable[[], str]:
    """A function rendering the customer list page from ``page_sql`` (rows whose last
    column is the capped total) and ``badge_sql`` (the unread count)."""
    conn, _mark = _connect(url)
    env = Environment(loader=FileSystemLoader([str(p) for p in TEMPLATES]), autoescape=True,
                      extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    template = env.get_template("crm/customer_list.html")
    here = "/crm/customers/"
    controls = [SimpleNamespace(control=lambda key=key, labels=labels: Markup(
        f'<select class="form-select form-select-sm" name="{key}"><option value="">—</option>'
        + "".join(f'<option value="{k}">{v}</option>' for k, v in labels.items()) + "</select>"))
        for key, labels in (("customer_type", TYPES), ("customer_level", LEVELS),
                            ("status", STATUSES), ("created_from", {}))]
    fixed = {
        "current_locale": "zh_CN", "csrf_token": lambda: "bench-csrf-token",
        "fixed_url": lambda endpoint, **kw: f"/static/{kw.get('filename', endpoint)}",
        "current_user": SimpleNamespace(is_authenticated=True, name=user_name),
        "menu_bar": lambda: Markup('<ul class="navbar-nav me-auto"></ul>'),
        "get_flashed_messages": lambda **_kw: [],
        "request": SimpleNamespace(args=args, path=here),
        "can": lambda _permission: True, "view": SimpleNamespace(filters=controls,
                                                                  live_models="crm_customer"),
        "actions": [("新建客户", "/crm/customers/new")], "active": {},
        "q": "", "sort": args.get("sort", "-updated_at"), "per_page": 50,
    }

    kept: dict[str, Markup] = {}

    def rendered_once(name: str) -> Markup:  # the asset links, kept per app as the page does
        if name not in kept:
            kept[name] = Markup(env.get_template(name).render(fixed_url=fixed["fixed_url"]))
        return kept[name]

    fixed["rendered_once"] = rendered_once

    def link(**extra: Any) -> str:
        return f"{here}?{urlencode({**args, **extra})}"

    def sort_link(key: str, label: str) -> Markup:
        return Markup('<a href="{}" class="link-body-emphasis text-decoration-none">{}</a>'
                      ).format(link(sort=key, page=1), label)

    def render() -> str:
        cursor = conn.cursor()
        cursor.execute(page_sql)
        rows = cursor.fetchall()
        cursor.execute(badge_sql)
        unread = cursor.fetchone()[0]
        cursor.close()
        total = rows[0][-1] if rows else 0
        rows_html = Markup("".join(f'<tr data-id="{int(r[0])}">{_cells(r)}</tr>' for r in rows))
        return template.render(
            **fixed, rows=rows, rows_html=rows_html, total=min(total, 10000),
            capped=total > 10000, page=1, unread_count=unread,
            page_url=lambda p: link(page=p), sort_link=sort_link,
            export_url=lambda fmt: link(export=fmt))

    return render
