"""A failing RQ job is retried with back-off (RQ's Retry with intervals), recorded as a
not-final failure meanwhile, and carries the id of the request that enqueued it."""

from __future__ import annotations

import pytest
from rq import Queue
from rq.job import JobStatus
from rq.registry import FailedJobRegistry
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

import core.worker
from core import jobs
from core.app import create_app
from core.extensions import db
from core.jobs.models import JobFailure
from core.requestlog import request_id_var
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import base_config

pytestmark = pytest.mark.redis


def test_a_failing_job_is_retried_with_back_off(jobs_app, redis_server, monkeypatch):
    app = create_app(base_config(jobs_app.config["SQLALCHEMY_DATABASE_URI"],
                                 jobs_app.instance_path, REDIS_URL=redis_server.url,
                                 TANDEM_JOBS_EAGER=False))
    token = request_id_var.set("req-retry-1")  # as core.requestlog sets it for a request
    try:
        with app.app_context(), unit_of_work(ServiceContext.system("cli")):
            jobs.enqueue("demo_a.fail")
    finally:
        request_id_var.reset(token)
    with app.app_context():
        connection = jobs.redis_connection(app)
        queue = Queue("default", connection=connection)
        [job] = queue.get_jobs()
        assert job.retries_left == len(jobs.RETRY_INTERVALS)
        assert job.retry_intervals == jobs.RETRY_INTERVALS == [10, 30, 60]
        assert job.meta["request_id"] == "req-retry-1"

        monkeypatch.setattr(core.worker, "_app", app)  # the worker's app: this database
        core.worker.TandemWorker([queue], connection=connection).work(burst=True)

        job.refresh()
        assert job.get_status() == JobStatus.SCHEDULED  # back in 10 s, not failed
        assert job.retries_left == len(jobs.RETRY_INTERVALS) - 1
        assert job.id in ScheduledJobRegistry(queue=queue)
        assert job.id not in FailedJobRegistry(queue=queue)
        failure = db.session.scalars(select(JobFailure)).one()
        assert (failure.name, failure.final, failure.rq_job_id) == ("demo_a.fail", False, job.id)
        db.session.execute(JobFailure.__table__.delete())
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
