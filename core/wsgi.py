"""A WSGI entry point that rebuilds the app when modules are installed or removed.

Each request reads the registry version (one indexed row); when another process or request
changed the installed modules, the next request is served by a freshly built app, so routes,
menus, commands and jobs of an uninstalled module disappear without a restart. The same
statement reads the auth epoch, handed to the request (``core.security.principal``).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from flask import Flask
from sqlalchemy import text

from core.extensions import db
from core.security.principal import ENVIRON_KEY as AUTH_EPOCH


def _read_state(app: Flask) -> tuple[int, int | None]:
    """The registry version and the auth epoch."""
    with app.app_context():
        try:
            with db.engine.connect() as conn:
                values = dict(conn.execute(text(
                    "SELECT key, value FROM core_state "
                    "WHERE key IN ('registry_version', 'auth_epoch')")).all())
        except Exception:  # noqa: BLE001 - no schema yet: version 0
            return 0, None
    return int(values.get("registry_version") or 0), values.get("auth_epoch")


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
        from core.app import create_app

        self._factory = factory or create_app
        self._config = config
        self._lock = threading.Lock()
        self.app = self._factory(self._config)
        self.version, _epoch = _read_state(self.app)
        _freeze_heap()

    def current_app(self) -> Flask:
        return self._current()[0]

    def _current(self) -> tuple[Flask, int | None]:
        version, epoch = _read_state(self.app)
        if version != self.version:
            with self._lock:
                if version != self.version:
                    old = self.app
                    self.app = self._factory(self._config)
                    self.version = version
                    with old.app_context():
                        db.engine.dispose(close=False)
                    _freeze_heap()
        return self.app, epoch

    def start_background_services(self) -> None:
        """In embedded mode (no Redis) run the periodic-job scheduler in a thread."""
        try:
            from core.jobs.scheduler import start_embedded_scheduler
        except ModuleNotFoundError:
            return
        start_embedded_scheduler(self)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        app, epoch = self._current()
        if epoch is not None:
            environ[AUTH_EPOCH] = epoch
        return app(environ, start_response)


def application_factory() -> TandemDispatcher:
    return TandemDispatcher()
