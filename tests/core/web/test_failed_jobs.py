"""The failed-jobs admin page: list, detail with the traceback, retry, delete — only with
``core.jobs.manage``."""

from __future__ import annotations

from sqlalchemy import select

from core import jobs
from core.extensions import db
from core.jobs.models import JobFailure
from core.services import ServiceContext
from core.services import unit_of_work

CALLS: list[str] = []


def explode(label: str) -> None:
    """Job (by path): fails the first time it is called with ``label``, then succeeds."""
    CALLS.append(label)
    if CALLS.count(label) == 1:
        raise ValueError(f"first run of {label} fails")


def _fail_once(label: str) -> JobFailure:
    with unit_of_work(ServiceContext.system("cli")):
        jobs.enqueue("tests.core.web.test_failed_jobs:explode", label)
    return db.session.scalars(select(JobFailure).order_by(JobFailure.id.desc())).first()


def test_list_detail_retry_and_delete(client, login_as):
    CALLS.clear()
    login_as("admin", username="root")
    failure = _fail_once("a")
    assert failure.summary == "ValueError: first run of a fails"

    page = client.get("/admin/jobs").get_data(as_text=True)
    assert f'href="/admin/jobs/{failure.id}"' in page
    assert "ValueError: first run of a fails" in page
    assert "Traceback" not in page  # the list shows the exception's line only

    detail = client.get(f"/admin/jobs/{failure.id}").get_data(as_text=True)
    assert "Traceback (most recent call last)" in detail
    assert "in explode" in detail  # the frame that raised
    assert "[&#34;a&#34;]" in detail or '["a"]' in detail

    assert client.post(f"/admin/jobs/{failure.id}/retry").status_code == 302
    assert CALLS == ["a", "a"]  # run again (in-process here), and it succeeded
    db.session.expire_all()
    assert db.session.get(JobFailure, failure.id).retried_at is not None
    assert "重试</button>" not in client.get(f"/admin/jobs/{failure.id}").get_data(as_text=True)

    assert client.post(f"/admin/jobs/{failure.id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(JobFailure, failure.id) is None
    assert client.get(f"/admin/jobs/{failure.id}").status_code == 404
    assert client.post(f"/admin/jobs/{failure.id}/delete").status_code == 302  # gone: no error


def test_failed_jobs_need_the_permission(client, login_as):
    CALLS.clear()
    failure = _fail_once("b")
    login_as("sales", username="s1")
    assert client.get("/admin/jobs").status_code == 403
    assert client.get(f"/admin/jobs/{failure.id}").status_code == 403
    assert client.post(f"/admin/jobs/{failure.id}/retry").status_code == 403
    assert client.post(f"/admin/jobs/{failure.id}/delete").status_code == 403
    db.session.expire_all()
    assert db.session.get(JobFailure, failure.id).retried_at is None
    assert CALLS == ["b"]
