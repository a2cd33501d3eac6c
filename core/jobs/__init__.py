"""Background jobs: RQ queues when ``REDIS_URL`` is set, an in-process runner otherwise.

``enqueue(name, *args)`` runs a registered :class:`core.registration.JobSpec` (or a
``"pkg.mod:func"`` path) after the current transaction commits — never before its rows
exist (a job started earlier could find nothing, or race the commit). Every job runs in
:func:`run_job`: an app context, a ``ServiceContext`` with source ``job`` (handed to the
job function as ``ctx`` when it takes one), one unit of work owned by the job; it is
skipped if its module was uninstalled, and a failure is recorded for the failed-jobs page.
RQ is at-least-once, so jobs with outside effects dedupe on a key (the outbox does).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import traceback
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask import current_app
from flask import has_app_context
from flask_babel import gettext

from core import hooks
from core.extensions import db
from core.jobs.models import JobFailure
from core.registration import JobSpec
from core.services import ServiceContext
from core.services import after_commit
from core.services import after_commit_returns
from core.services import current_context
from core.services import unit_of_work

log = logging.getLogger(__name__)

RETRY_INTERVALS = [10, 30, 60]  # RQ's back-off between the attempts of a failing job
ERROR_CHARS = 16000


def resolve(name: str) -> tuple[JobSpec, Callable[..., Any]]:
    """The job spec and function for a registered name or a ``pkg.mod:func`` path."""
    registry = hooks.registry()
    spec = registry.jobs.get(name)
    if spec is None:
        if ":" not in name:
            raise LookupError(gettext("未知的后台任务：%(name)s", name=name))
        spec = JobSpec(name=name, func=name)
    module_name, _, func_name = spec.func.partition(":")
    func = getattr(importlib.import_module(module_name), func_name)
    return spec, func


def _owner_installed(spec: JobSpec) -> bool:
    registry = hooks.registry()
    owner = spec.name.split(".", 1)[0]
    return owner == "core" or owner not in registry.modules or registry.is_installed(owner)


def run_job(
    name: str,
    args: list | tuple = (),
    kwargs: dict | None = None,
    runner: str = "inprocess",
    final: bool = True,
    ctx: ServiceContext | None = None,
) -> Any:
    """Run one job in the current app context; the job owns its transaction.

    ``ctx`` (default: the system acting through ``job``) is current during the job's unit of
    work and is passed to the job function as ``ctx`` when the function declares that
    parameter; units of work the job opens are savepoints of the job's transaction."""
    spec, func = resolve(name)
    if not _owner_installed(spec):
        log.info("job %s skipped: its module is not installed", name)
        return None
    ctx = ctx or ServiceContext.system("job")
    call_kwargs = dict(kwargs or {})
    if "ctx" in inspect.signature(func).parameters:
        call_kwargs["ctx"] = ctx
    try:
        with unit_of_work(ctx):
            return func(*args, **call_kwargs)
    except Exception as exc:
        log.exception("job %s failed", name)
        _record_failure(name, list(args), kwargs or {}, exc, runner, final)
        raise


def _record_failure(
    name: str, args: list, kwargs: dict, exc: Exception, runner: str, final: bool
) -> None:
    from rq import get_current_job


    try:
        job = get_current_job() if runner == "rq" else None
    except Exception:  # noqa: BLE001 - no RQ context
        job = None
    db.session.rollback()
    db.session.add(
        JobFailure(
            name=name,
            args=args,
            kwargs=kwargs,
            runner=runner,
            final=final,
            # the whole traceback (its end when long): the failed-jobs page shows it
            error="".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            .strip()[-ERROR_CHARS:],
            rq_job_id=job.id if job is not None else None,
        )
    )
    db.session.commit()


def _eager(app: Flask) -> bool:
    return bool(app.config.get("TANDEM_JOBS_EAGER")) or not app.config.get("REDIS_URL")


_redis_clients: dict[str, Any] = {}


def redis_connection(app: Flask | None = None) -> Any:
    """The process's client for the app's ``REDIS_URL`` (one connection pool per URL, not a
    new connection per call; redis-py's pool is thread-safe and starts afresh after a
    fork)."""
    import redis

    url = (app or current_app).config["REDIS_URL"]
    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients.setdefault(url, redis.Redis.from_url(url))
    return client


def enqueue_now(name: str, *args: Any, **kwargs: Any) -> bool:
    """Hand the job to the runner now (outside any transaction). False if Redis is down."""
    app = current_app._get_current_object()
    if _eager(app):
        with app.app_context():
            try:
                run_job(name, args, kwargs)
            except Exception:  # noqa: BLE001 - recorded as a failed job
                return False
        return True
    from rq import Queue
    from rq import Retry

    from core.requestlog import current_request_id

    spec, _func = resolve(name)
    request_id = current_request_id()
    try:
        Queue(spec.queue, connection=redis_connection(app)).enqueue(
            "core.worker.rq_entry",
            name,
            list(args),
            kwargs,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=spec.timeout,
            # the request (or job) that enqueued it, logged again by the worker
            meta={"request_id": request_id} if request_id else None,
        )
        return True
    except Exception as exc:  # noqa: BLE001 - Redis down: the outbox relay catches up
        log.warning("could not enqueue %s (%s); it will be picked up later", name, exc)
        return False


def enqueue(name: str, *args: Any, **kwargs: Any) -> None:
    """Run ``name`` once the current transaction commits (at once when none is open)."""
    if not has_app_context():
        raise RuntimeError("enqueue needs an app context")
    session = db.session()
    if current_context() is not None or session.in_transaction():
        app = current_app._get_current_object()

        def start() -> None:
            with app.app_context():
                enqueue_now(name, *args, **kwargs)

        after_commit(lambda: after_commit_returns(start, session), session)
    else:
        enqueue_now(name, *args, **kwargs)
