"""Issue 19 #5, the changes feed: every create, update and delete made through the web, the
API, the bot and jobs appears once, in commit order, resumable by cursor; filtered to what
the caller may see; bad and expired cursors; retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import update

from core.bot import IncomingMessage
from core.bot import dispatch
from core.changes import encode_cursor
from core.changes import prune
from core.changes import read_changes
from core.changes.models import ChangeEvent
from core.db import utcnow
from core.extensions import db
from core.jobs import run_job
from core.services import ServiceContext
from core.services import unit_of_work
from core.settings import set_setting
from modules.crm.models.customer import Customer
from modules.crm.services import opportunities as opportunity_service
from tests.conftest import login
from tests.modules.crm.factories import api_callers
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_people
from tests.modules.crm.factories import mobile
from tests.modules.pool.factories import age


@pytest.fixture
def people(app_ctx: Any, make_user: Any) -> dict[str, Any]:
    return make_people(make_user)


@pytest.fixture
def api(client: Any, people: dict[str, Any]) -> Any:
    return api_callers(client, people)


def feed(caller: Any, since: str | None = None, **params: Any) -> tuple[list[dict], str]:
    """Every page after ``since`` through the API; the events and the last cursor."""
    events: list[dict] = []
    while True:
        query = {**params, **({"since": since} if since else {})}
        response = caller.get("/api/v1/changes", query_string=query)
        assert response.status_code == 200, response.json
        body = response.json
        events += body["data"]
        since = body["meta"]["next_cursor"]
        if not body["meta"]["has_more"]:
            return events, since


def keys(events: list[dict]) -> list[tuple[str, str, str]]:
    return [(e["model"], e["record_id"], e["action"]) for e in events]


def test_api_create_update_and_web_delete_appear_once_with_their_values(client, people, api):
    admin = api("admin")
    _none, start = feed(admin)
    created = admin.post("/api/v1/customers", json={
        "customer_type": "individual", "customer_name": "同步客户", "phone": mobile(901),
        "customer_level": "normal", "owner_id": people["a"].id})
    assert created.status_code == 201, created.json
    cid = str(created.json["id"])
    assert admin.patch(f"/api/v1/customers/{cid}",
                       json={"customer_name": "同步客户（改）"}).status_code == 200
    login(client, people["manager"])
    assert client.post(f"/crm/customers/{cid}/delete").status_code == 302
    events, end = feed(admin, start)
    mine = [e for e in events if e["model"] == "crm_customer" and e["record_id"] == cid]
    assert [(e["action"], e["source"]) for e in mine] == [
        ("create", "api"), ("update", "api"), ("delete", "web")]
    assert mine[0]["data"]["customer_name"] == "同步客户"
    assert mine[0]["data"]["owner_id"] == people["a"].id
    assert mine[1]["data"]["customer_name"] == "同步客户（改）"
    assert "customer_name" in mine[1]["changed"]
    assert mine[2]["data"] is None  # a deletion carries the id only
    # Resuming from the end repeats nothing; from the middle gives exactly the rest.
    assert feed(admin, end)[0] == []
    rest, _cursor = feed(admin, mine[0]["cursor"])
    assert keys(rest) == keys(events[events.index(mine[0]) + 1:])


def test_one_service_call_is_one_event_per_record(people):
    """A unit of work that creates then edits a record (several flushes) is one create with
    the committed values; created then deleted in one transaction is nothing."""
    ctx = ServiceContext.system("cli")
    before = db.session.scalar(select(db.func.max(ChangeEvent.id))) or 0
    with unit_of_work(ctx):
        customer = Customer(customer_type="individual", customer_name="一次", phone=mobile(902),
                            customer_level="normal", owner_id=people["a"].id, status="active")
        db.session.add(customer)
        db.session.flush()
        customer.customer_name = "一次（改）"
        db.session.flush()
        gone = Customer(customer_type="individual", customer_name="转瞬", phone=mobile(903),
                        customer_level="normal", owner_id=people["a"].id, status="active")
        db.session.add(gone)
        db.session.flush()
        db.session.delete(gone)
    rows = db.session.scalars(select(ChangeEvent).where(ChangeEvent.id > before)).all()
    assert [(r.record_id, r.action) for r in rows] == [(str(customer.id), "create")]
    assert rows[0].data["customer_name"] == "一次（改）" and rows[0].source == "cli"


def test_bot_claim_by_conditional_update_is_an_update(people, make_user):
    """``#认领`` writes with a conditional UPDATE (no ORM change): still in the feed."""
    li = make_user("sales", username="li", wecom_userid="li.sales")
    customer = make_customer(None)
    ctx = ServiceContext.system("system")
    with unit_of_work(ctx):
        set_setting("crm.sales_chat_id", "sales-group")
        opp = opportunity_service.create_opportunity(ctx, {
            "customer_id": customer.id, "product_name": "中央空调", "quantity": 1,
            "estimated_amount": "1000", "unowned": True})
    start = db.session.scalar(select(db.func.max(ChangeEvent.id)))
    dispatch(IncomingMessage("#认领", "li.sales", "sales-group"))
    page = read_changes(ServiceContext.system(), encode_cursor(start))
    mine = [e for e in page["data"] if e["model"] == "crm_opportunity"]
    assert [(e["record_id"], e["action"], e["source"]) for e in mine] == [
        (str(opp.id), "update", "bot")]
    assert mine[0]["data"]["owner_id"] == li.id


def test_job_changes_appear_with_source_job(people):
    customer = make_customer(people["a"], customer_level="normal")
    age(customer, owned_days=40, follow_up_days=35)  # a test's bulk UPDATE: an update too
    start = db.session.scalar(select(db.func.max(ChangeEvent.id)))
    run_job("pool.recycle_daily")
    page = read_changes(ServiceContext.system(), encode_cursor(start))
    mine = [e for e in page["data"] if e["model"] == "crm_customer"]
    assert [(e["record_id"], e["action"], e["source"]) for e in mine] == [
        (str(customer.id), "update", "job")]
    assert mine[0]["data"]["status"] == "in_pool" and mine[0]["data"]["owner_id"] is None


def test_a_salesperson_never_sees_another_teams_records(people, api):
    mine = make_customer(people["a"])
    theirs = make_customer(people["c"])
    with unit_of_work(ServiceContext.system("cli")):
        db.session.get(Customer, mine.id).customer_name = "甲改"
        db.session.get(Customer, theirs.id).customer_name = "丙改"
    ids = {(e["model"], e["record_id"]) for e in feed(api("a"))[0]}
    assert ("crm_customer", str(mine.id)) in ids
    assert ("crm_customer", str(theirs.id)) not in ids
    assert ("crm_customer", str(theirs.id)) in {(e["model"], e["record_id"])
                                                for e in feed(api("c"))[0]}
    # The manager of 一组 sees his team's, not 二组's.
    team = {(e["model"], e["record_id"]) for e in feed(api("manager"))[0]}
    assert ("crm_customer", str(mine.id)) in team and ("crm_customer", str(theirs.id)) not in team


def test_deletions_are_shown_to_those_who_could_see_the_record(people, api):
    mine = make_customer(people["a"])
    theirs = make_customer(people["c"])
    with unit_of_work(ServiceContext.system("cli")):
        db.session.delete(db.session.get(Customer, mine.id))
        db.session.delete(db.session.get(Customer, theirs.id))
    deleted = lambda who: {e["record_id"] for e in feed(api(who))[0]  # noqa: E731
                           if e["action"] == "delete" and e["model"] == "crm_customer"}
    assert deleted("a") == {str(mine.id)}
    assert deleted("c") == {str(theirs.id)}
    assert deleted("admin") == {str(mine.id), str(theirs.id)}


def test_modules_filter_is_checked_against_installed_modules(people, api):
    make_customer(people["a"])
    admin = api("admin")
    events, _cursor = feed(admin, modules="crm")
    assert events and {e["module"] for e in events} == {"crm"}
    assert feed(admin, modules="sales,service")[0] == []
    bad = admin.get("/api/v1/changes", query_string={"modules": "crm,nosuch"})
    assert bad.status_code == 422 and "nosuch" in bad.json["error"]["message"]


@pytest.mark.parametrize("cursor", ["garbage", "Y2UxOi0x", "Y2UxOmFiYw", "x" * 64, "=="])
def test_a_bad_cursor_is_a_400_with_a_clear_message(api, cursor):
    response = api("admin").get("/api/v1/changes", query_string={"since": cursor})
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "invalid_cursor"
    assert "next_cursor" in response.json["error"]["message"]


def test_page_size_is_bounded_and_pages_move_on(people, api):
    for _ in range(5):
        make_customer(people["c"])
    admin = api("admin")
    assert admin.get("/api/v1/changes?limit=501").status_code == 422
    assert admin.get("/api/v1/changes?limit=0").status_code == 422
    one = admin.get("/api/v1/changes?limit=2").json
    assert len(one["data"]) == 2 and one["meta"]["has_more"] is True
    # A salesperson's page of others' records is empty yet still moves on.
    page = api("a").get("/api/v1/changes?limit=2").json
    assert page["data"] == [] and page["meta"]["next_cursor"] != encode_cursor(0)


@pytest.fixture
def forget_pruning(app_ctx):
    """The pruned mark lives in core_state, which outlives a test: dropped after it."""
    from core.changes import PRUNED_KEY
    from core.registry.models import CoreState

    yield
    db.session.rollback()
    db.session.execute(db.delete(CoreState).where(CoreState.key == PRUNED_KEY))
    db.session.commit()


@pytest.mark.usefixtures("forget_pruning")
def test_retention_prunes_old_events_and_an_expired_cursor_answers_410(people, api):
    make_customer(people["a"])
    admin = api("admin")
    events, _end = feed(admin)
    old_cursor = encode_cursor(0) if not events else events[0]["cursor"]
    first = db.session.scalar(select(db.func.min(ChangeEvent.id)))
    db.session.execute(update(ChangeEvent).values(at=utcnow() - timedelta(days=400)))
    db.session.commit()
    make_customer(people["a"])
    with unit_of_work(ServiceContext.system("job")):
        assert prune() >= 1
    assert db.session.scalar(select(db.func.min(ChangeEvent.id))) > first
    gone = admin.get("/api/v1/changes", query_string={"since": encode_cursor(first - 1)})
    assert gone.status_code == 410 and gone.json["error"]["code"] == "cursor_expired"
    assert "全量同步" in gone.json["error"]["message"]
    assert admin.get("/api/v1/changes", query_string={"since": old_cursor}).status_code in (
        200, 410)
    # Without a cursor the feed starts at the oldest event kept.
    fresh, _cursor = feed(admin)
    assert [e["action"] for e in fresh] == ["create"]


def test_the_changes_endpoints_are_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").json
    op = doc["paths"]["/api/v1/changes"]["get"]
    assert {"400", "410", "422"} <= set(op["responses"])
    assert {p["name"] for p in op["parameters"]} == {"since", "modules", "limit"}
    assert "/api/v1/webhooks" in doc["paths"]


def test_a_commit_that_flushes_by_itself_writes_its_events_in_that_commit(people):
    """No explicit flush: the commit's own flush comes after ``before_commit``; the events
    of that flush are still written by the same commit, with its context."""
    start = db.session.scalar(select(db.func.max(ChangeEvent.id))) or 0
    with unit_of_work(ServiceContext.system("cli")):
        db.session.add(Customer(customer_type="individual", customer_name="自行提交",
                                phone=mobile(904), customer_level="normal", status="in_pool"))
    rows = db.session.scalars(select(ChangeEvent).where(ChangeEvent.id > start)).all()
    assert [(r.action, r.source) for r in rows] == [("create", "cli")]


def test_a_failed_savepoint_leaves_no_event(people):
    """A nested unit of work that fails is rolled back with its notes; the outer one's
    records still appear."""
    start = db.session.scalar(select(db.func.max(ChangeEvent.id))) or 0
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        kept = Customer(customer_type="individual", customer_name="外层", phone=mobile(905),
                        customer_level="normal", status="in_pool")
        db.session.add(kept)
        db.session.flush()
        with pytest.raises(RuntimeError), unit_of_work(ctx):
            db.session.add(Customer(customer_type="individual", customer_name="内层",
                                    phone=mobile(906), customer_level="normal",
                                    status="in_pool"))
            db.session.flush()
            raise RuntimeError("inner fails")
    rows = db.session.scalars(select(ChangeEvent).where(ChangeEvent.id > start)).all()
    assert [(r.record_id, r.action) for r in rows] == [(str(kept.id), "create")]


def test_uninstalling_a_module_removes_its_events(make_app):
    from core.registry import installer

    app = make_app(modules=["demo_a"])
    with app.app_context():
        db.session.add_all([ChangeEvent(module="demo_a", model="demo_a_widget", record_id="1",
                                        action="create", source="cli", data={}, changed=[]),
                            ChangeEvent(module="crm", model="crm_customer", record_id="1",
                                        action="create", source="cli", data={}, changed=[])])
        db.session.commit()
        assert installer.uninstall_plan("demo_a").history["core_change_event"] == 1
        installer.uninstall("demo_a")
        assert db.session.scalars(select(ChangeEvent.model)).all() == ["crm_customer"]


def test_a_record_keyed_by_another_column_than_id(make_user):
    """``service_engineer`` is keyed by ``user_id``: its changes are events like any."""
    from modules.service.services.dispatch import save_engineer

    user = make_user("engineer", username="gong")
    start = db.session.scalar(select(db.func.max(ChangeEvent.id))) or 0
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        save_engineer(ctx, user.id, {"skills": ["repair"]})
    with unit_of_work(ctx):
        save_engineer(ctx, user.id, {"skills": ["install"]})
    page = read_changes(ServiceContext.system(), encode_cursor(start), modules=["service"])
    mine = [(e["record_id"], e["action"], e["data"]["skills"]) for e in page["data"]
            if e["model"] == "service_engineer"]
    assert mine == [(str(user.id), "create", ["repair"]), (str(user.id), "update", ["install"])]
