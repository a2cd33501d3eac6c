"""gunicorn settings for Tandem: ``.venv/bin/gunicorn`` from the project's root (docs/deploy.md).

Environment:
  TANDEM_BIND            address(es) to listen on, comma-separated (default 127.0.0.1:8000)
  WEB_CONCURRENCY        worker processes (default: one per CPU, at least 2)
  TANDEM_THREADS         threads per worker process (default 8, gthread workers)
  TANDEM_TIMEOUT         seconds a request may take before its worker is restarted (60)
  TANDEM_GRACEFUL_TIMEOUT seconds SIGTERM waits for requests in flight (30)
  TANDEM_CONTROL_SOCKET  path of gunicorn's control socket (``gunicornc``); none by default
  TANDEM_PRELOAD         1 (default): build the app once in the master, fork it (copy on
                         write, ``gc.freeze`` in core.wsgi); 0: each worker builds its own
plus everything the app reads (DATABASE_URL, REDIS_URL, SECRET_KEY, TANDEM_*).

The app is built before forking: each worker then drops the database connections it
inherited (SQLAlchemy's pool must never be shared across processes). Logs are JSON lines on
stderr, one ``request`` line per request with its id (core.requestlog); gunicorn's own
access log is off (it would repeat that line without the id).
"""

from __future__ import annotations

import multiprocessing
import os

wsgi_app = "core.wsgi:production_app()"

bind = [b.strip() for b in os.environ.get("TANDEM_BIND", "127.0.0.1:8000").split(",") if b.strip()]
# one process per core (the threads below overlap the waits on PostgreSQL and Redis); each
# process holds up to 15 database connections (SQLAlchemy's pool: 5 + 10 overflow)
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, multiprocessing.cpu_count()))
# Threads, not sync workers: every list page keeps a server-sent-events stream open
# (/events/stream), which holds a thread for as long as the page is open. A sync worker would
# be taken by one open page. Pages and streams share the threads; docs/deploy.md routes the
# streams to a node of their own when many pages stay open.
worker_class = "gthread"
threads = int(os.environ.get("TANDEM_THREADS") or 8)
timeout = int(os.environ.get("TANDEM_TIMEOUT") or 60)
graceful_timeout = int(os.environ.get("TANDEM_GRACEFUL_TIMEOUT") or 30)
keepalive = 5
preload_app = os.environ.get("TANDEM_PRELOAD", "1") not in ("0", "false", "no")
max_requests = int(os.environ.get("TANDEM_MAX_REQUESTS") or 0)  # 0: never recycle
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = os.environ.get("TANDEM_PROC_NAME", "tandem-web")
# gunicorn ≥ 27 opens a control socket at one fixed path per user: two nodes on one host
# would fight over it. Off unless a path is given.
control_socket_disable = not os.environ.get("TANDEM_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["TANDEM_CONTROL_SOCKET"]
accesslog = None  # the app logs each request (with its id): core.requestlog
errorlog = "-"
loglevel = os.environ.get("TANDEM_LOG_LEVEL", "info").lower()

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.requestlog.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "json_ensure_ascii": False,
        }
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": loglevel.upper(), "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
        "alembic": {"level": "WARNING"},
    },
}


def post_fork(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Drop the database connections the preloaded app opened in the master."""
    if not server.cfg.preload_app:
        return
    from core.extensions import db
    from core.wsgi import TandemDispatcher

    served = server.app.wsgi()  # the dispatcher, behind wrappers that keep it as ``.app``
    while not isinstance(served, TandemDispatcher):
        served = served.app
    with served.app.app_context():
        db.engine.dispose(close=False)
