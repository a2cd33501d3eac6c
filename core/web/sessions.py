"""The session cookie, re-sent when it changed or once a minute, not on every response.

Flask slides a permanent session's expiry by signing and sending its cookie again on every
response (``SESSION_REFRESH_EACH_REQUEST``): serialising, compressing and signing it was a
twentieth of a list page's Python. Here an unchanged session's cookie is refreshed only
when it was signed more than :data:`REFRESH_AFTER` ago, so the expiry still slides, to
within that interval.
"""

from __future__ import annotations

import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import has_request_context
from flask import request
from flask.sessions import SecureCookieSession
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

REFRESH_AFTER = timedelta(minutes=1)
OPENED_KEY = "tandem_opened_sessions"
OPENED_MAX = 4096  # cookies kept opened per app (the cache is emptied when full)
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _opened(app: Any, cookie: str) -> tuple[dict, datetime] | None:
    """A session cookie already verified and decoded by this app: the same text under the
    same keys verifies and decodes the same way (a tenth of a millisecond a request, most
    of it HMAC, zlib and the tagged JSON). Its age is still checked on every request."""
    return app.extensions.get(OPENED_KEY, {}).get((_keys(app), cookie))


def _keep(app: Any, cookie: str, opened: tuple[dict, datetime]) -> None:
    """Keep an opened cookie whose values are all immutable (a session holding a list,
    such as flashed messages, is opened anew: its copy would share the list)."""
    if not all(type(v) in _SCALARS for v in opened[0].values()):
        return
    kept = app.extensions.setdefault(OPENED_KEY, {})
    if len(kept) >= OPENED_MAX:
        kept.clear()
    kept[(_keys(app), cookie)] = opened


def _keys(app: Any) -> tuple:
    """The keys a cookie's signature is checked with (Flask's current and fallback keys)."""
    return (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))


class TimedSession(SecureCookieSession):
    """A cookie session that knows when its cookie was signed (None: new, or no cookie)."""

    signed_at: datetime | None = None


class RefreshingSessionInterface(SecureCookieSessionInterface):
    session_class = TimedSession

    def open_session(self, app: Any, request: Any) -> TimedSession | None:
        if not app.secret_key:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        opened = _opened(app, value)
        if opened is None:
            try:
                opened = self.get_signing_serializer(app).loads(  # type: ignore[union-attr]
                    value, max_age=max_age, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            _keep(app, value, opened)
        else:  # itsdangerous's age check, by the signature's timestamp
            age = int(time.time()) - int(opened[1].timestamp())
            if age > max_age or age < 0:
                return self.session_class()
        session = self.session_class(opened[0])
        session.signed_at = opened[1]
        return session

    def get_cookie_secure(self, app: Any) -> bool:
        """``Secure`` when configured, and whenever the request came over HTTPS (behind a
        proxy: as told by ``X-Forwarded-Proto`` from the configured proxies only, see
        ``TANDEM_PROXY_HOPS``), so the cookie is never sent back over plain HTTP."""
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        return has_request_context() and request.is_secure

    def should_set_cookie(self, app: Any, session: Any) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        return signed_at is None or datetime.now(UTC) - signed_at >= REFRESH_AFTER
