"""The served app (``core.wsgi``'s entry point) with per-request figures in response headers,
for the load test only: ``X-DB-Ms`` (time spent in the database driver's execute, summed over
the request's statements, from SQLAlchemy's cursor events), ``X-DB-Queries``, ``X-App-Ms``
(from the request's arrival to its status line) and ``X-Pid`` (the gunicorn worker).

``gunicorn 'bench.load.wsgi:application()'``."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_state = threading.local()


@event.listens_for(Engine, "before_cursor_execute")
def _before(conn: Any, _cursor: Any, _statement: Any, _params: Any, _context: Any,
            _many: bool) -> None:
    conn.info.setdefault("tandem_load_t0", []).append(time.perf_counter())


@event.listens_for(Engine, "after_cursor_execute")
def _after(conn: Any, _cursor: Any, _statement: Any, _params: Any, _context: Any,
           _many: bool) -> None:
    started = conn.info["tandem_load_t0"].pop()
    _state.db = getattr(_state, "db", 0.0) + time.perf_counter() - started
    _state.queries = getattr(_state, "queries", 0) + 1


def application() -> Callable[[dict, Callable], Iterable[bytes]]:
    from core.wsgi import production_app

    inner = production_app()  # as gunicorn.conf.py serves it: request ids, access lines

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        _state.db, _state.queries = 0.0, 0
        arrived = time.perf_counter()

        def timed_start(status: str, headers: list, exc_info: Any = None) -> Any:
            headers = [*headers, ("X-DB-Ms", f"{_state.db * 1000:.3f}"),
                       ("X-DB-Queries", str(_state.queries)),
                       ("X-App-Ms", f"{(time.perf_counter() - arrived) * 1000:.3f}"),
                       ("X-Pid", f"{os.environ.get('LOAD_NODE', '')}:{os.getpid()}")]
            return start_response(status, headers, exc_info)

        return inner(environ, timed_start)

    app.app = inner  # gunicorn.conf.py's post_fork finds the dispatcher through ``.app``
    return app
