"""Error pages in the reader's language.

A page request that fails — a filter or sort value the list does not know, an address that
does not exist, a method the page does not take — answers Tandem's page, in Chinese or
English, with the navigation bar to go on from, instead of werkzeug's English one. API
requests keep their JSON errors (``core.api``): the app's one handler of HTTP errors is here
and sends them there.

A service's refusal (:class:`core.errors.TandemError`) that a page does not handle itself
(a form puts it next to its fields, a button flashes it) reaches the app's one mapping here:
the error page with the refusal's message and its status — 404 for what the reader may not
see, 403 denied, 409 conflict, 422 invalid, 400 refused. Views need no ``try``/``abort`` of
their own for it.

A database that cannot be reached or dropped the connection (a restart, a failover) answers
503 with ``Retry-After``: the request's transaction was rolled back whole, so nothing of it
was written, and the pool's connections of before the failure are replaced (SQLAlchemy
invalidates the whole pool on a disconnect error; no ``pool_pre_ping``, which would cost
every request a round trip) — the next request works once the database is back, without
restarting the app."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import session
from flask_babel import force_locale
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from core.api.endpoint import error_response
from core.api.endpoint import is_api_request
from core.api.views import json_http_error
from core.errors import TandemError
from core.extensions import db

bp = Blueprint("core_errors", __name__)
log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5

_PAGES = {
    400: (_l("请求无效"),
          _l("链接中的参数无法识别，例如不存在的筛选条件或排序方式。请返回上一页，或清除筛选后重试。")),
    403: (_l("无权访问"), _l("您没有访问此页面的权限。如需访问，请联系管理员。")),
    404: (_l("页面不存在"), _l("链接可能有误，或记录已被删除。")),
    409: (_l("操作冲突"), _l("记录已被他人修改或已存在，请刷新后重试。")),
    422: (_l("内容有误"), _l("提交的内容未通过校验，请返回修改后重试。")),
    405: (_l("不支持的请求方法"), _l("此页面不接受这种请求。请从页面上的按钮或链接进入。")),
    413: (_l("提交的内容过大"), _l("请缩小文件或内容后重试。")),
    429: (_l("操作过于频繁"), _l("请稍后再试。")),
    500: (_l("服务器出错了"), _l("请求未能完成，错误已记录。请稍后重试。")),
}
_CSRF = (_l("页面已过期"), _l("表单的安全校验（CSRF 令牌）缺失或已过期。请刷新页面后重新提交。"))


def page_error(exc: HTTPException) -> Any:
    """The error page for ``exc``; ``exc`` itself (werkzeug's page) for a code without one.

    A description given where the error was raised (a rate limit's message, written in the
    reader's language) is shown instead of the code's general one."""
    code = exc.code or 500
    if code not in _PAGES:
        return exc
    if code >= 500:  # the failed transaction must not break the page's own reads
        db.session.rollback()
    if isinstance(exc, CSRFError):
        title, detail = _CSRF
    else:
        title, detail = _PAGES[code]
        if exc.description != type(exc).description:
            detail = exc.description
    return render_template("core/error.html", code=code, title=title, detail=detail), code


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    """HTTP errors (404, 405, 429, 413 …): JSON for API requests, else the error page in the
    reader's language."""
    if isinstance(exc, RequestRedirect) or (exc.code or 500) < 400:
        return exc
    if is_api_request():
        return json_http_error(exc)
    return page_error(exc)


@bp.app_errorhandler(TandemError)
def _refused(exc: TandemError) -> Any:
    """A service's refusal no view handled: the error page of its status with its message
    (in the reader's language); JSON for API requests."""
    db.session.rollback()
    status = exc.http_status
    if is_api_request():
        return error_response(exc.code, exc.message, status, exc.fields)
    title, detail = _PAGES.get(status, _PAGES[400])
    return render_template("core/error.html", code=status, title=title,
                           detail=exc.message or detail), status


# SQLSTATEs of a server that is not there for us: connection exceptions (class 08), shut
# down or restarting (57P01–57P03), out of connections (53300).
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")


def database_unavailable(exc: Exception) -> bool:
    """Whether ``exc`` means the database could not be reached (a 503: try again), not that
    a statement failed (a missing table, a deadlock, a lock timeout: a 500 and its
    traceback, as any bug)."""
    if isinstance(exc, DisconnectionError) or getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", None)
    if orig is None:
        return True
    if type(orig).__module__.startswith("sqlite3"):
        message = str(orig)
        return "locked" in message or "unable to open" in message
    state = getattr(orig, "sqlstate", None)
    if state is None:  # psycopg: no server answered (refused, closed, timed out)
        return True
    return state.startswith(_UNAVAILABLE_STATES)


@bp.app_errorhandler(OperationalError)
@bp.app_errorhandler(InterfaceError)
@bp.app_errorhandler(DisconnectionError)
def _database_unavailable(exc: Exception) -> Any:
    """The database is unreachable or dropped the connection: 503, never 500. The page is
    written without the database (no user, menus or badge to load): the language comes from
    the session cookie. Any other database error is a bug: raised again, a 500."""
    if not database_unavailable(exc):
        raise exc
    log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
        db.session.remove()
    locales = current_app.config.get("TANDEM_LOCALES", [])
    locale = session.get("locale") if session.get("locale") in locales else \
        current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        title = gettext("服务暂时不可用")
        detail = gettext("数据库暂时无法连接，本次操作没有保存。请稍后重试。")
    if is_api_request():
        response = error_response("unavailable", detail, 503)
    else:
        response = current_app.make_response((
            f'<!doctype html><html lang="{escape(locale.replace("_", "-"))}"><head>'
            f'<meta charset="utf-8"><title>{escape(title)}</title></head>'
            f'<body><div id="error-page" data-status="503"><h1>{escape(title)}</h1>'
            f"<p>{escape(detail)}</p></div></body></html>", 503))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
