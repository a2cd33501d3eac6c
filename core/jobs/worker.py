"""What an RQ worker process runs: an app per process, then :func:`core.jobs.run_job`."""

from __future__ import annotations

from typing import Any

from flask import Flask

_app: Flask | None = None


def worker_app() -> Flask:
    global _app
    if _app is None:
        from core.app import create_app

        _app = create_app()
    return _app


def rq_entry(name: str, args: list, kwargs: dict) -> Any:
    from rq import get_current_job

    from core.jobs import run_job

    job = get_current_job()
    final = job is None or not (job.retries_left or 0)
    with worker_app().app_context():
        return run_job(name, args, kwargs, runner="rq", final=final)
