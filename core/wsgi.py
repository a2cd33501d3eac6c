"""A WSGI entry point that rebuilds the app when modules are installed or removed.

Each request reads the registry version first, in its own transaction
(``core.web.request_state``). A request that finds another version than its app was built
for — another process or request installed or removed a module — is answered by a freshly
built app instead, before its view runs or its body is read: routes, menus, commands and
jobs of an uninstalled module disappear without a restart.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from flask import Flask
from sqlalchemy import text

from core.app import create_app
from core.extensions import db
from core.jobs.scheduler import start_embedded_scheduler
from core.web.request_state import BUILT_VERSION
from core.web.request_state import STALE_APP


def _registry_version(app: Flask) -> int:
    with app.app_context():
        try:  # autocommit: no BEGIN and ROLLBACK around the one statement
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                value = conn.scalar(text(
                    "SELECT value FROM core_state WHERE key = 'registry_version'"))
        except Exception:  # noqa: BLE001 - no schema yet: version 0
            return 0
    return int(value or 0)


def _freeze_heap() -> None:
    """Keep the objects of the built app (modules, templates, mappers) out of the cyclic
    garbage collector's full passes, which otherwise stall a request now and then by tens of
    milliseconds (``gc.freeze``, as servers that preload an app do). Unfrozen first, so an
    app replaced after a module change can still be collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class TandemDispatcher:
    def __init__(
        self, factory: Callable[..., Flask] | None = None, config: dict[str, Any] | None = None
    ) -> None:

        self._factory = factory or create_app
        self._config = config
        self._lock = threading.Lock()
        self.app = self._factory(self._config)
        self.version = _registry_version(self.app)
        self.app.extensions[BUILT_VERSION] = self.version
        _freeze_heap()

    def current_app(self) -> Flask:
        """The app for the modules installed now (for work outside requests: jobs)."""
        return self._rebuilt(_registry_version(self.app))

    def _rebuilt(self, version: int) -> Flask:
        """The app for ``version`` (a version a request found): the current one, or one
        built now for the version read just before building it (a change made during the
        build shows on the next request)."""
        if version != self.version:
            with self._lock:
                if version != self.version:
                    old = self.app
                    building = _registry_version(old)
                    self.app = self._factory(self._config)
                    self.version = building
                    self.app.extensions[BUILT_VERSION] = building
                    with old.app_context():  # its idle connections closed now; those
                        db.engine.dispose()      # in use are closed when given back
                    _freeze_heap()
        return self.app

    def start_background_services(self) -> None:
        """In embedded mode (no Redis) run the periodic-job scheduler in a thread."""
        start_embedded_scheduler(self)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        untouched = environ.copy()
        for _attempt in range(3):  # should the version move again meanwhile: once more
            body, started = _answered(self.app, environ)
            found = environ.get(STALE_APP)
            if found is None:
                start_response(*started)
                return body
            if hasattr(body, "close"):
                body.close()
            self._rebuilt(found)
            environ = untouched.copy()
        raise RuntimeError("the installed modules keep changing; try again")


def _answered(app: Flask, environ: dict) -> tuple[Iterable[bytes], tuple]:
    """The app's body, and its status and headers held back until it is known that this app
    may answer (Flask answers through the body, never through WSGI's ``write``)."""
    started: list[tuple] = []

    def start_response(*args: Any) -> Callable[[bytes], None]:
        started.append(args)
        return _no_write

    body = app(environ, start_response)
    return body, started[-1]


def _no_write(_data: bytes) -> None:
    raise RuntimeError("WSGI's write() is not supported here")


def application_factory() -> TandemDispatcher:
    return TandemDispatcher()


def production_app() -> Any:
    """What gunicorn serves (``gunicorn.conf.py``): the dispatcher behind request ids and
    the JSON access log (:mod:`core.requestlog`)."""
    from core.requestlog import RequestLog

    dispatcher = TandemDispatcher()
    hops = int(dispatcher.app.config.get("TANDEM_PROXY_HOPS") or 0)
    return RequestLog(dispatcher, trust_header=hops > 0)
