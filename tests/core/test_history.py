"""core.history: declared labels, hidden bookkeeping, readable values, one entry per action,
and the audit log page in those words with its filters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.audit import AuditLog
from core.audit import record
from core.extensions import db
from core.history import hidden_fields
from core.history import history_entries
from core.history import undeclared_fields
from core.security.models import Team
from core.security.models import User
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import login
from tests.core.web.test_i18n_catalogs import _english


def _audited_models(app: Any) -> list[type]:
    registry = app.extensions["tandem_registry"]
    models = [m for ms in registry.models.values() for m in ms]
    return [m for m in {*models, User, Team} if getattr(m, "__audited__", False)]


def test_core_models_declare_every_field_and_hide_bookkeeping():
    assert undeclared_fields(User) == [] and undeclared_fields(Team) == []
    assert {"last_login_at", "updated_at", "password_hash"} <= hidden_fields(User)


def test_every_declared_label_has_english(app):
    english = {key for (_ctx, key) in _english()}
    missing = []
    for model in _audited_models(app):
        declared = [getattr(model, "__label__", None),
                    *getattr(model, "__labels__", {}).values(),
                    *getattr(model, "__history_actions__", {}).values(),
                    *(label for choices in getattr(model, "__choices__", {}).values()
                      for label in choices.values())]
        missing += [f"{model.__tablename__}: {d}" for d in declared if d and d not in english]
    assert not missing, missing


def test_a_named_action_and_its_field_changes_are_one_entry(app_ctx, make_user):
    boss = make_user("manager", username="boss", display_name="王经理")
    sales = make_user("sales", username="s1", display_name="李销售")
    ctx = ServiceContext(actor=boss, source="web")
    with unit_of_work(ctx):
        team = Team(name="华东一组")
        db.session.add(team)
        db.session.flush()
        team.manager_id = sales.id
        record(ctx, team, "assign", "指定经理", {"manager_id": [None, sales.id]})
    rows = list(db.session.scalars(select(AuditLog).options()
                                   .where(AuditLog.model == "core_team")
                                   .order_by(AuditLog.id.desc())))
    assert len(rows) == 3  # create, update, the named action
    (entry,) = history_entries(rows)
    assert (entry.action_label, entry.text, entry.actor, entry.source_label) == (
        "分配", "指定经理", "王经理", "网页")
    assert [(c.label, c.old, c.new) for c in entry.changes] == [
        ("名称", "—", "华东一组"), ("经理", "—", "李销售")]


def test_the_audit_log_reads_in_words_and_filters_by_record_user_source_period(
        client, make_user):
    admin = make_user("admin", username="root", display_name="管理员")
    other = make_user("sales", username="s2")
    login(client, admin)
    client.post(f"/admin/users/{other.id}", data={"display_name": "赵销售", "roles": ["sales"],
                                                   "team_id": "", "active": "y"})
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "姓名：s2 → 赵销售" in page and "last_login_at" not in page
    assert "display_name" not in page.split("<tbody>")[1]
    assert f"用户 #{other.id}" in page
    by_record = client.get(f"/admin/audit?model=core_user&record_id={other.id}")
    assert by_record.status_code == 200 and "赵销售" in by_record.get_data(as_text=True)
    assert f'<option value="{admin.id}"' in page  # the user filter lists people by name
    mine = client.get(f"/admin/audit?actor_id={admin.id}&source=web").get_data(as_text=True)
    assert "赵销售" in mine
    theirs = client.get(f"/admin/audit?actor_id={other.id}").get_data(as_text=True)
    assert "赵销售" not in theirs.split("<tbody>")[1]
    assert "赵销售" not in client.get("/admin/audit?source=api").get_data(as_text=True) \
        .split("<tbody>")[1]
    assert "赵销售" not in client.get("/admin/audit?to=2000-01-01").get_data(as_text=True) \
        .split("<tbody>")[1]
    assert client.get("/admin/audit?actor_id=999999").status_code == 400
