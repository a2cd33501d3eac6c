"""Issue 14 #1 and #15: ids are never reused, and what is kept about a record by table and id
(comments, audit rows, notifications) never shows on another record: deleted with the record
(comments) or with the module (everything), and said so before an uninstall."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy import text

from core.audit import AuditLog
from core.extensions import db
from core.registry import installer
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import backend


def test_every_sqlite_table_with_an_integer_key_is_autoincrement(app_ctx):
    """Checked on the tables the migrations built (every module's), not on the models."""
    if backend() != "sqlite":
        return  # PostgreSQL sequences never go back
    inspector = sa_inspect(db.engine)
    missing = []
    for table in inspector.get_table_names():
        pk = inspector.get_pk_constraint(table)["constrained_columns"]
        columns = {c["name"]: c for c in inspector.get_columns(table)}
        if len(pk) != 1 or "INT" not in str(columns[pk[0]]["type"]).upper():
            continue
        if any(pk[0] in fk["constrained_columns"] for fk in inspector.get_foreign_keys(table)):
            continue
        sql = db.session.scalar(text("SELECT sql FROM sqlite_master WHERE name = :n"),
                                {"n": table})
        if "AUTOINCREMENT" not in sql.upper():
            missing.append(table)
    assert not missing, missing


def _widget(name):
    table = db.metadata.tables["demo_a_widget"]
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        return db.session.execute(table.insert().values(name=name)).inserted_primary_key[0]


def test_a_deleted_rows_id_is_not_handed_out_again(make_app):
    app = make_app(modules=["demo_a"])
    with app.app_context():
        table = db.metadata.tables["demo_a_widget"]
        first = _widget("a")
        db.session.execute(table.delete().where(table.c.id == first))
        db.session.commit()
        assert _widget("b") > first


def test_uninstall_says_and_removes_the_history_of_the_modules_records(make_app):
    from core.timeline import Comment

    app = make_app(modules=["demo_a"])
    with app.app_context():
        wid = _widget("old")
        db.session.add(Comment(model="demo_a_widget", record_id=str(wid), body="私密备注"))
        db.session.add(AuditLog(model="demo_a_widget", record_id=str(wid), action="update",
                                source="web", changes={"name": ["x", "old"]}))
        db.session.add(Comment(model="core_user", record_id="1", body="保留"))
        db.session.commit()
        plan = installer.uninstall_plan("demo_a")
        assert plan.history["core_comment"] == 1 and plan.history["core_audit_log"] >= 1
        assert "备注" in plan.describe()
        installer.uninstall("demo_a")
        left = db.session.scalars(select(Comment.body)).all()
        assert left == ["保留"]
        assert db.session.scalar(select(func.count()).select_from(AuditLog)
                                 .where(AuditLog.model == "demo_a_widget")) == 0
        installer.install(["demo_a"])
        again = _widget("new")
        assert not db.session.scalars(select(Comment).where(
            Comment.model == "demo_a_widget", Comment.record_id == str(again))).all()


def test_deleting_a_record_deletes_its_comments(app_ctx, make_user):
    from core.security.models import User
    from core.timeline import Comment

    user = make_user("sales", username="to-go")
    keep = make_user("sales", username="stays")
    db.session.add_all([Comment(model="core_user", record_id=str(user.id), body="x"),
                        Comment(model="core_user", record_id=str(keep.id), body="y")])
    db.session.commit()
    with unit_of_work(ServiceContext.system("cli")):
        db.session.delete(db.session.get(User, user.id))
    assert db.session.scalars(select(Comment.body)).all() == ["y"]
