"""Failed jobs for the admin page: the list, one failure, retrying and deleting one."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from core.db import utcnow
from core.extensions import db
from core.jobs import enqueue
from core.jobs.models import JobFailure


def list_failed(limit: int = 200) -> list[JobFailure]:
    """Final failures first (no retry left), newest first."""
    return list(
        db.session.scalars(
            select(JobFailure).order_by(JobFailure.final.desc(), JobFailure.id.desc()).limit(limit)
        )
    )


def retry_failed(failure_id: int) -> bool:
    """Enqueue the failed job again (after commit); False when already retried."""

    failure = db.session.get(JobFailure, failure_id)
    if failure is None or failure.retried_at is not None:
        return False
    failure.retried_at = utcnow()
    enqueue(failure.name, *failure.args, **failure.kwargs)
    return True


def get_failed(failure_id: int) -> JobFailure | None:
    return db.session.get(JobFailure, failure_id)


def count_failed() -> int:
    return db.session.scalar(select(func.count()).select_from(JobFailure)) or 0


def delete_failed(failure_id: int) -> bool:
    """Forget one failure (it was dealt with); False when it is already gone."""
    failure = db.session.get(JobFailure, failure_id)
    if failure is None:
        return False
    db.session.delete(failure)
    return True
