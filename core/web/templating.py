"""Jinja globals and filters: menus, money, local time, permissions."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask import current_app
from flask import request
from flask_babel import format_datetime
from flask_babel import get_locale
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup

from core import hooks
from core.cache import app_cached
from core.notify import unread_count
from core.registration import MenuItem
from core.security import principal
from core.security.permissions import has_permission
from core.web.charts import has_figures
from core.web.charts import option_json
from core.web.links import fixed_url


def visible_menus(user: Any) -> list[dict[str, Any]]:
    """Top-level menus with their children, filtered by permission, endpoints resolved;
    kept per user while his grants stay the same (the auth epoch)."""

    return principal.cached(("menus", user.id, request.script_root),
                            lambda: _visible_menus(user))


def rendered_once(template: str) -> Markup:
    """A template the same on every page (the stylesheet and script links), rendered once
    per app and script root rather than a dozen ``fixed_url`` calls in Jinja a page. It
    sees the app's Jinja globals only: no request, user or language."""
    return app_cached(("rendered_once", request.script_root, template),
                      lambda: Markup(current_app.jinja_env.get_template(template).render()))


def menu_bar() -> Markup:
    """The navigation bar's menus, rendered once per user, language and auth epoch rather
    than on every page (a tenth of a list page's template)."""

    user = current_user._get_current_object()
    return principal.cached(
        ("menu_bar", user.id, str(get_locale()), request.script_root),
        lambda: Markup(current_app.jinja_env.get_template("core/_menu_bar.html")
                       .render(menus=visible_menus(user))))


def _visible_menus(user: Any) -> list[dict[str, Any]]:
    registry = hooks.registry()
    items: list[MenuItem] = registry.menus
    allowed = [m for m in items if m.permission is None or has_permission(user, m.permission)]
    tree = []
    for top in (m for m in allowed if m.parent is None):
        children = [
            {"item": c, "url": fixed_url(c.endpoint)}
            for c in allowed
            if c.parent == top.id and c.endpoint
        ]
        if top.endpoint or children:
            tree.append(
                {"item": top, "url": fixed_url(top.endpoint) if top.endpoint else None,
                 "children": children}
            )
    return tree


def money(value: Any) -> str:
    """CNY amount: ¥1,234.50."""
    if value is None or value == "":
        return ""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"¥{amount:,.2f}"


def local_dt(value: Any, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC datetime in the display time zone (Asia/Shanghai by default)."""
    if value is None:
        return ""
    if fmt == "yyyy-MM-dd HH:mm" and isinstance(value, datetime):
        # The common case without Babel's pattern machinery (lists render many of them).
        return _minutes(value.astimezone(_display_zone()))
    return format_datetime(value, fmt)


def local_dt_formatter() -> Callable[[Any], str]:
    """:func:`local_dt` with the display zone looked up once, for a list that formats a
    time on every row."""
    zone = _display_zone()

    def fmt(value: Any) -> str:
        if isinstance(value, datetime):
            return _minutes(value.astimezone(zone))
        return local_dt(value)

    return fmt


def _minutes(value: datetime) -> str:
    """``2026-05-01 11:04``: ``isoformat`` cut short, a third of ``strftime``'s time."""
    return value.isoformat(" ", "minutes")[:16]


def _display_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


def _unread(user: Any) -> int:

    return unread_count(user)


def translated(labels: Mapping[str, str]) -> dict[str, str]:
    """``{value: label}`` with each label translated once, for a table that shows the same
    few labels on every row."""
    return {value: gettext(label) for value, label in labels.items()}


def translated_label(value: Any) -> str:
    """A label of the source language (a status, a level) in the reader's language; "" and
    None stay empty (``gettext("")`` answers the catalog's header)."""
    return gettext(value) if value else ""


def init_templating(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["local_dt"] = local_dt
    app.jinja_env.globals["fixed_url"] = fixed_url
    app.jinja_env.globals["menu_bar"] = menu_bar
    app.jinja_env.globals["rendered_once"] = rendered_once
    app.jinja_env.globals["chart_option_json"] = option_json
    app.jinja_env.globals["chart_has_figures"] = has_figures

    @app.context_processor
    def _globals() -> dict[str, Any]:
        user = current_user._get_current_object() if current_user else None
        authenticated = bool(user and user.is_authenticated)
        return {
            "menus": visible_menus(user) if authenticated else [],
            "can": (lambda perm: has_permission(user, perm)) if authenticated else
            (lambda perm: False),
            "current_locale": str(get_locale()),
            "current_endpoint": request.endpoint,
            "unread_count": _unread(user) if authenticated else 0,
        }
