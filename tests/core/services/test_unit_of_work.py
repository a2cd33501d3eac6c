"""One transaction owner: the outermost unit of work commits; a nested one is a savepoint."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import jobs
from core.extensions import db
from core.services import ServiceContext
from core.services import after_commit
from core.services import in_unit_of_work
from core.services import unit_of_work
from tests.conftest import cleaned_context
from tests.conftest import installed_app


@pytest.fixture(scope="module")
def uow_app(databases, instance_dir):
    with installed_app(databases, instance_dir, ["demo_a"]) as app:
        yield app


@pytest.fixture
def uow_ctx(uow_app):
    with cleaned_context(uow_app) as app:
        yield app


def _add(name: str) -> None:
    table = db.metadata.tables["demo_a_widget"]
    db.session.execute(table.insert().values(name=name))


def _names() -> list[str]:
    table = db.metadata.tables["demo_a_widget"]
    return list(db.session.scalars(select(table.c.name).order_by(table.c.id)))


def _committed_names(app) -> list[str]:
    """What another connection sees: only committed rows."""
    table = db.metadata.tables["demo_a_widget"]
    with db.engine.connect() as conn:
        return list(conn.scalars(select(table.c.name).order_by(table.c.id)))


def test_an_inner_failure_keeps_the_outer_rows(uow_ctx):
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        _add("outer-before")
        with pytest.raises(RuntimeError), unit_of_work(ctx):
            _add("inner")
            raise RuntimeError("business rule failed")
        _add("outer-after")
    assert _committed_names(uow_ctx) == ["outer-before", "outer-after"]


def test_an_inner_failure_first_thing_in_the_outer_unit_keeps_later_rows(uow_ctx):
    """The savepoint is the first statement of the transaction (SQLite would otherwise
    treat it as the transaction itself)."""
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        with pytest.raises(RuntimeError), unit_of_work(ctx):
            _add("inner")
            raise RuntimeError("business rule failed")
        _add("outer")
    assert _committed_names(uow_ctx) == ["outer"]


def test_an_inner_success_commits_only_with_the_outer_unit(uow_ctx):
    ctx = ServiceContext.system("cli")
    with pytest.raises(RuntimeError), unit_of_work(ctx):
        with unit_of_work(ctx):
            _add("inner")
        assert _names() == ["inner"]  # released into the outer transaction
        assert _committed_names(uow_ctx) == []  # not committed yet
        raise RuntimeError("the edge fails after the inner unit")
    assert _committed_names(uow_ctx) == []


def test_only_the_outermost_unit_commits(uow_ctx):
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        assert in_unit_of_work()
        with unit_of_work(ctx), unit_of_work(ctx):
            _add("deep")
        assert _committed_names(uow_ctx) == []
    assert not in_unit_of_work()
    assert _committed_names(uow_ctx) == ["deep"]


def test_inner_after_commit_callbacks_wait_for_the_outer_commit(uow_ctx):
    ran: list[str] = []
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        with unit_of_work(ctx):
            after_commit(lambda: ran.append("inner"))
        assert ran == []  # a released savepoint is no commit
        with pytest.raises(RuntimeError), unit_of_work(ctx):
            after_commit(lambda: ran.append("rolled back"))
            raise RuntimeError("dropped with its savepoint")
        after_commit(lambda: ran.append("outer"))
        assert ran == []
    assert ran == ["inner", "outer"]


def test_inner_callbacks_and_jobs_are_dropped_when_the_outer_unit_rolls_back(uow_ctx):
    ran: list[str] = []
    ctx = ServiceContext.system("cli")
    with pytest.raises(RuntimeError), unit_of_work(ctx):
        with unit_of_work(ctx):
            after_commit(lambda: ran.append("inner"))
            jobs.enqueue("demo_a.make_widget", "from-inner")
        raise RuntimeError("the outer unit fails")
    assert ran == []
    assert _committed_names(uow_ctx) == []


def test_a_job_queued_in_an_inner_unit_runs_after_the_outer_commit(uow_ctx):
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        with unit_of_work(ctx):
            jobs.enqueue("demo_a.make_widget", "from-inner")
        assert _committed_names(uow_ctx) == []
    assert _names() == ["from-inner"]


def test_a_write_failing_when_the_savepoint_is_released_keeps_the_outer_rows(uow_ctx):
    """An inner unit whose pending row only fails at its release (flush) rolls back to its
    savepoint like any inner failure: its callbacks are dropped, the outer unit goes on."""
    from sqlalchemy.exc import IntegrityError

    from core.security.models import User

    ran: list[str] = []
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        db.session.add(User(username="taken", display_name="first"))
        db.session.flush()
        with pytest.raises(IntegrityError), unit_of_work(ctx):
            after_commit(lambda: ran.append("inner"))
            db.session.add(User(username="taken", display_name="second"))  # not flushed yet
        _add("outer")
    assert ran == []
    assert _committed_names(uow_ctx) == ["outer"]
    names = [u.display_name for u in db.session.scalars(select(User).where(
        User.username == "taken"))]
    assert names == ["first"]
