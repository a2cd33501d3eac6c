"""The session cookie, re-sent when it changed or once a minute, not on every response.

Flask slides a permanent session's expiry by signing and sending its cookie again on every
response (``SESSION_REFRESH_EACH_REQUEST``): serialising, compressing and signing it was a
twentieth of a list page's Python. Here an unchanged session's cookie is refreshed only
when it was signed more than :data:`REFRESH_AFTER` ago, so the expiry still slides, to
within that interval.
"""

from __future__ import annotations

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


class TimedSession(SecureCookieSession):
    """A cookie session that knows when its cookie was signed (None: new, or no cookie)."""

    signed_at: datetime | None = None


class RefreshingSessionInterface(SecureCookieSessionInterface):
    session_class = TimedSession

    def open_session(self, app: Any, request: Any) -> TimedSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        session.signed_at = signed_at
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
