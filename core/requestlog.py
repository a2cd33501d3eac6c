"""Request ids and structured (JSON) logs for production processes.

:class:`RequestLog` wraps the WSGI app (``core.wsgi:production_app``, what gunicorn serves):
each request gets an id — the ``X-Request-ID`` a trusted proxy sent (``TANDEM_PROXY_HOPS``
> 0), else a new one — echoed in the response's ``X-Request-ID`` and logged as one JSON line
when the response ends (method, path, status, bytes, duration, client). The id is kept in a
context variable: every log record of the request carries it (:class:`RequestIdFilter`), and
jobs enqueued during the request take it along in their RQ job's meta (``core.jobs``), where
the worker logs it again.

:func:`configure_logging` sets JSON lines on stderr (python-json-logger) for gunicorn
(``gunicorn.conf.py``), ``manage.py worker`` and ``manage.py scheduler`` when
``TANDEM_LOG_FORMAT=json``.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("tandem.request")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tandem_request_id", default=None)

ENVIRON_KEY = "tandem.request_id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
PROBES = frozenset({"/healthz", "/readyz"})
# Secrets that travel in URLs must not reach the logs: signed links' tokens in the path (an
# engineer's .ics feed, a survey, an equipment label) and OAuth codes, signatures and
# tokens in the query string.
_TOKEN_SEGMENT = re.compile(r"[A-Za-z0-9_.=-]{24,}")
_SECRET_KEYS = frozenset({"code", "state", "token", "signature", "msg_signature", "nonce",
                          "echostr", "sig", "key", "secret", "password", "access_token"})


def loggable_path(path: str) -> str:
    """``path`` with token-like segments (24+ URL-safe characters) replaced by ``…``."""
    return "/".join("…" if _TOKEN_SEGMENT.fullmatch(part) else part
                    for part in path.split("/"))


def loggable_query(query: str) -> str | None:
    """``query`` with the values of secret-bearing keys, and token-like values, masked."""
    if not query:
        return None
    parts = []
    for pair in query.split("&"):
        key, sep, value = pair.partition("=")
        if sep and (key.lower() in _SECRET_KEYS or _TOKEN_SEGMENT.fullmatch(value)):
            value = "…"
        parts.append(f"{key}{sep}{value}")
    return "&".join(parts)
JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def current_request_id() -> str | None:
    """The id of the request (or job) being handled in this context, if any."""
    return request_id_var.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (None outside a request or job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


def configure_logging(level: str | int | None = None) -> None:
    """JSON lines on stderr for the root logger (idempotent)."""
    from pythonjsonlogger.json import JsonFormatter

    root = logging.getLogger()
    level = level or os.environ.get("TANDEM_LOG_LEVEL", "INFO")
    root.setLevel(level)
    for handler in root.handlers:
        if getattr(handler, "_tandem_json", False):
            return
    handler = logging.StreamHandler()
    handler._tandem_json = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter(JSON_FORMAT, json_ensure_ascii=False))
    handler.addFilter(RequestIdFilter())
    root.handlers = [handler]


def configure_logging_from_env() -> None:
    """JSON logs when ``TANDEM_LOG_FORMAT=json`` (the systemd units of docs/deploy.md)."""
    if os.environ.get("TANDEM_LOG_FORMAT", "").lower() == "json":
        configure_logging()


class RequestLog:
    """WSGI middleware: request id in, request id out, one access-log line per request."""

    def __init__(self, app: Callable, trust_header: bool | None = None) -> None:
        self.app = app
        if trust_header is None:
            trust_header = int(os.environ.get("TANDEM_PROXY_HOPS") or 0) > 0
        self.trust_header = trust_header

    def __getattr__(self, name: str) -> Any:  # the dispatcher's app, current_app() …
        return getattr(self.app, name)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        given = environ.get("HTTP_X_REQUEST_ID", "") if self.trust_header else ""
        request_id = given if _VALID.match(given) else new_request_id()
        environ[ENVIRON_KEY] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        seen: dict[str, Any] = {"status": 0, "bytes": 0}

        def start(status: str, headers: list, exc_info: Any = None) -> Any:
            seen["status"] = int(status.split(" ", 1)[0])
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, start)
        except BaseException:
            request_id_var.reset(token)
            seen["status"] = 500
            self._log(environ, request_id, seen, started)
            raise
        request_id_var.reset(token)
        return _Body(body, lambda: self._log(environ, request_id, seen, started), seen,
                     request_id)

    @staticmethod
    def _log(environ: dict, request_id: str, seen: dict, started: float) -> None:
        probe = environ.get("PATH_INFO") in PROBES and seen["status"] == 200
        log.log(
            logging.DEBUG if probe else logging.INFO,  # a balancer's probes every second
            "request",
            extra={
                "request_id": request_id,
                "method": environ.get("REQUEST_METHOD"),
                "path": loggable_path(environ.get("PATH_INFO") or ""),
                "query": loggable_query(environ.get("QUERY_STRING") or ""),
                "status": seen["status"],
                "bytes": seen["bytes"],
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "remote_addr": environ.get("REMOTE_ADDR"),
                "user_agent": environ.get("HTTP_USER_AGENT"),
            },
        )


class _Body:
    """The response body; logs the request once, when the server closes it."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None], seen: dict,
                 request_id: str) -> None:
        self._body = body
        self._on_close = on_close
        self._seen = seen
        self._request_id = request_id

    def __iter__(self) -> Any:
        request_id_var.set(self._request_id)  # streamed bodies (SSE) log with it too
        for chunk in self._body:
            self._seen["bytes"] += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            if hasattr(self._body, "close"):
                self._body.close()
        finally:
            self._on_close()
            request_id_var.set(None)
