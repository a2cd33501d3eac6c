"""Customer services: uniqueness (also under a race), follow-ups, record rules, reassignment,
audit rows."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.audit import AuditLog
from core.errors import ConflictError
from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm import queries
from modules.crm.models.customer import Customer
from modules.crm.services import contacts as contact_service
from modules.crm.services import customers as customer_service
from modules.crm.services import follow_ups as follow_up_service
from tests.conftest import backend
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import customer_data
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import mobile
from tests.modules.crm.factories import tax_id


def create(user, **data):
    ctx = ctx_for(user)
    with unit_of_work(ctx):
        return customer_service.create_customer(ctx, customer_data(**data))


# --- uniqueness ----------------------------------------------------------------------------


def test_phone_is_stored_normalised_and_unique(people):
    first = create(people["a"], phone="+86 139-0000-1111")
    assert first.phone == "13900001111"
    with pytest.raises(ConflictError) as err:
        create(people["a"], phone="139 0000 1111")
    assert err.value.existing_id == first.id
    assert f"您负责的客户「{first.customer_name}」（{first.number}）" in err.value.message
    assert "phone" in err.value.fields


def test_duplicate_of_another_sales_customer_does_not_leak(people):
    theirs = create(people["c"], phone=mobile(501), customer_name="保密客户")
    with pytest.raises(ConflictError) as err:
        create(people["a"], phone=mobile(501))
    message = err.value.message
    assert "其他销售负责的客户" in message
    assert "保密客户" not in message and theirs.number not in message
    assert err.value.existing_id is None


def test_manager_sees_which_team_customer_is_duplicated(people):
    theirs = create(people["a"], phone=mobile(502))
    with pytest.raises(ConflictError) as err:
        create(people["manager"], phone=mobile(502))
    assert theirs.number in err.value.message
    assert f"负责人：{people['a'].name}" in err.value.message
    assert err.value.existing_id == theirs.id


def test_duplicate_of_a_pool_customer_points_at_the_pool(people):
    pooled = make_customer(None, phone=mobile(503))
    with pytest.raises(ConflictError) as err:
        create(people["c"], phone=mobile(503))
    assert "公海" in err.value.message and pooled.number in err.value.message
    assert err.value.existing_id == pooled.id


def test_tax_id_unique_among_enterprises_only(people):
    code = tax_id(504)
    first = create(people["a"], customer_type="enterprise", tax_id=code)
    with pytest.raises(ConflictError) as err:
        create(people["b"], customer_type="enterprise", tax_id=code.lower())
    assert "统一社会信用代码" in err.value.message and "tax_id" in err.value.fields
    assert first.customer_name not in err.value.message
    # the database enforces it too, for enterprises only
    ctx = ServiceContext.system()
    with pytest.raises(IntegrityError), unit_of_work(ctx):
        db.session.add(
            Customer(
                customer_type="enterprise", customer_name="x", tax_id=code, owner_id=people["a"].id
            )
        )
        db.session.flush()
    with unit_of_work(ctx):
        db.session.add(
            Customer(
                customer_type="individual", customer_name="y", tax_id=code, owner_id=people["a"].id
            )
        )


def test_update_checks_uniqueness_against_others(people):
    one = create(people["a"], phone=mobile(505))
    two = create(people["a"], phone=mobile(506))
    ctx = ctx_for(people["a"])
    with pytest.raises(ConflictError), unit_of_work(ctx):
        customer_service.update_customer(ctx, two.id, {"phone": "139 0000 0505"})
    with unit_of_work(ctx):  # saving itself unchanged is fine
        customer_service.update_customer(ctx, one.id, {"phone": mobile(505), "customer_level": "important"})
    assert db.session.get(Customer, one.id).customer_level == "important"


def test_database_catches_a_duplicate_the_check_missed(people, monkeypatch):
    """With the friendly pre-check skipped, the unique index still refuses, as a 409."""
    create(people["a"], phone=mobile(507))
    calls = []
    original = customer_service._check_duplicates
    monkeypatch.setattr(
        customer_service, "_check_duplicates", lambda *a: calls.append(1) if len(calls) == 0 else original(*a)
    )
    with pytest.raises(ConflictError) as err:
        create(people["a"], phone=mobile(507))
    assert "您负责的客户" in err.value.message
    assert db.session.scalar(select(db.func.count()).select_from(Customer)) == 1


@pytest.mark.postgres_only
@pytest.mark.skipif(backend() != "postgresql", reason="needs concurrent writers")
def test_concurrent_duplicate_creates_exactly_one_wins(app, people, monkeypatch):
    """Two requests pass the pre-check together; the unique index lets exactly one commit."""
    owner_ids = [people["a"].id, people["c"].id]
    barrier = threading.Barrier(2, timeout=10)
    original = customer_service._check_duplicates

    def check_then_wait(ctx, values, exclude_id):
        original(ctx, values, exclude_id)
        if threading.current_thread() is not threading.main_thread():
            barrier.wait()

    monkeypatch.setattr(customer_service, "_check_duplicates", check_then_wait)
    results: list = []

    def worker(owner_id):
        with app.app_context():
            from core.security.models import User

            ctx = ctx_for(db.session.get(User, owner_id), source="api")
            try:
                with unit_of_work(ctx):
                    c = customer_service.create_customer(ctx, customer_data(phone=mobile(508)))
                results.append(("ok", c.id))
            except ConflictError as exc:
                results.append(("conflict", exc.message))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(oid,)) for oid in owner_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r[0] for r in results) == ["conflict", "ok"]
    conflict = next(r[1] for r in results if r[0] == "conflict")
    assert "手机号" in conflict
    count = db.session.scalar(
        select(db.func.count()).select_from(Customer).where(Customer.phone == mobile(508))
    )
    assert count == 1


# --- follow-ups and contacts ---------------------------------------------------------------


def test_follow_up_moves_last_follow_up_forward_only(people):
    customer = create(people["a"])
    ctx = ctx_for(people["a"])
    with unit_of_work(ctx):
        fu = follow_up_service.add_follow_up(
            ctx,
            customer.id,
            {"channel": "visit", "content": "上门演示", "next_follow_up_date": "2099-01-01"},
        )
    assert fu.user_id == people["a"].id
    assert db.session.get(Customer, customer.id).last_follow_up_at == fu.follow_up_at
    with unit_of_work(ctx):
        follow_up_service.add_follow_up(
            ctx, customer.id, {"content": "补记", "follow_up_at": "2020-01-01T10:00:00"}
        )
    refreshed = db.session.get(Customer, customer.id)
    assert refreshed.last_follow_up_at == fu.follow_up_at
    assert refreshed.last_follow_up == fu.follow_up_at  # the seed's name
    assert [f.content for f in refreshed.follow_ups] == ["上门演示", "补记"]


def test_follow_up_validation(people):
    customer = create(people["a"])
    ctx = ctx_for(people["a"])
    with pytest.raises(ValidationError) as err:
        follow_up_service.add_follow_up(
            ctx, customer.id, {"content": "", "channel": "fax", "follow_up_at": "2999-01-01T00:00"}
        )
    assert set(err.value.fields) == {"content", "channel", "follow_up_at"}


def test_naive_follow_up_time_is_shanghai_time(people):
    customer = create(people["a"])
    ctx = ctx_for(people["a"])
    with unit_of_work(ctx):
        fu = follow_up_service.add_follow_up(
            ctx, customer.id, {"content": "x", "follow_up_at": "2024-05-01T10:00"}
        )
    assert fu.follow_up_at.isoformat() == "2024-05-01T02:00:00+00:00"


def test_contacts_one_primary(people):
    customer = create(people["a"], customer_type="enterprise")
    ctx = ctx_for(people["a"])
    with unit_of_work(ctx):
        first = contact_service.add_contact(
            ctx, customer.id, {"name": "张三", "phone": "010-88886666", "is_primary": True}
        )
        second = contact_service.add_contact(ctx, customer.id, {"name": "李四", "is_primary": True})
    assert not db.session.get(type(first), first.id).is_primary
    assert db.session.get(type(second), second.id).is_primary
    with pytest.raises(ValidationError) as err:
        contact_service.add_contact(ctx, customer.id, {"name": "", "email": "bad"})
    assert set(err.value.fields) == {"name", "email"}


# --- record rules --------------------------------------------------------------------------


def _visible(user, **filters):
    ctx = ctx_for(user)
    return {c.customer_name for c in db.session.scalars(queries.search_customers(ctx, **filters))}


def test_record_rules_on_list_count_search_export_and_detail(people):
    create(people["a"], customer_name="A的客户", tags="重点")
    create(people["b"], customer_name="B的客户", tags="重点,老客户")
    create(people["c"], customer_name="C的客户", tags="重点")
    make_customer(None, customer_name="公海客户")
    assert _visible(people["a"]) == {"A的客户", "公海客户"}
    assert _visible(people["manager"]) == {"A的客户", "B的客户", "公海客户"}
    assert _visible(people["admin"]) == {"A的客户", "B的客户", "C的客户", "公海客户"}
    assert _visible(people["a"], q="客户") == {"A的客户", "公海客户"}
    assert _visible(people["manager"], tag="重点") == {"A的客户", "B的客户"}
    assert _visible(people["admin"], tag="老客户") == {"B的客户"}
    assert queries.count_customers(ctx_for(people["a"])) == 2
    assert queries.count_customers(ctx_for(people["c"]), status="in_pool") == 1
    header, rows = queries.export_customers(ctx_for(people["b"]))
    assert header[1] == "客户名称" and {r[1] for r in rows} == {"B的客户", "公海客户"}
    c_customer = db.session.scalar(select(Customer).where(Customer.customer_name == "C的客户"))
    with pytest.raises(NotFoundError):
        queries.get_customer(ctx_for(people["a"]), c_customer.id)
    with pytest.raises(NotFoundError):
        queries.get_customer(ctx_for(people["manager"]), c_customer.number)
    assert queries.get_customer(ctx_for(people["c"]), c_customer.number).id == c_customer.id
    with pytest.raises(NotFoundError):
        queries.list_follow_ups(ctx_for(people["a"]), c_customer.id)


def test_find_customer_by_phone_respects_rules(people):
    theirs = create(people["c"], phone=mobile(601))
    assert queries.find_customer(ctx_for(people["c"]), "+86 139 0000 0601").id == theirs.id
    with pytest.raises(NotFoundError):
        queries.find_customer(ctx_for(people["a"]), mobile(601))


def test_sales_change_only_their_own(people):
    mine = create(people["a"])
    theirs = create(people["b"])
    pooled = make_customer(None)
    ctx = ctx_for(people["a"])
    with unit_of_work(ctx):
        customer_service.update_customer(ctx, mine.id, {"industry": "制造业"})
    with pytest.raises(NotFoundError):
        customer_service.update_customer(ctx, theirs.id, {"industry": "x"})
    with pytest.raises(PermissionDenied, match="公海客户"):
        customer_service.update_customer(ctx, pooled.id, {"industry": "x"})
    with pytest.raises(PermissionDenied):
        follow_up_service.add_follow_up(ctx, pooled.id, {"content": "x"})
    with pytest.raises(PermissionDenied):  # giving it away needs crm.customer.assign
        customer_service.update_customer(ctx, mine.id, {"owner_id": people["b"].id})
    with pytest.raises(PermissionDenied):
        customer_service.update_customer(ctx, mine.id, {"locked": True})
    with pytest.raises(ValidationError):
        customer_service.update_customer(ctx, mine.id, {"status": "in_pool"})


def test_manager_assigns_within_the_team(people):
    mine = create(people["a"])
    ctx = ctx_for(people["manager"])
    with unit_of_work(ctx):
        customer_service.update_customer(ctx, mine.id, {"owner_id": people["b"].id, "locked": True})
    changed = db.session.get(Customer, mine.id)
    assert changed.owner_id == people["b"].id and changed.locked
    assert changed.owner_since is not None
    with pytest.raises(PermissionDenied, match="本团队"):
        customer_service.update_customer(ctx, mine.id, {"owner_id": people["c"].id})


def test_reassign_customers_for_handover(people):
    one = create(people["a"])
    two = create(people["a"])
    pooled = make_customer(None)
    ctx = ServiceContext.system("job")
    with unit_of_work(ctx):
        moved = customer_service.reassign_customers(ctx, [one.id, two.id, pooled.id], people["c"].id, "离职交接")
    assert {c.owner_id for c in moved} == {people["c"].id}
    assert db.session.get(Customer, pooled.id).status == "active"
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.model == "crm_customer", AuditLog.action == "reassign")
    ).all()
    assert len(rows) == 3 and {r.message for r in rows} == {"离职交接"}
    assert {r.source for r in rows} == {"job"}
    with pytest.raises(PermissionDenied):
        customer_service.reassign_customers(ctx_for(people["a"]), [one.id], people["a"].id, "x")
    with pytest.raises(ValidationError):
        customer_service.reassign_customers(ctx, [one.id], people["a"].id, " ")
    # a confirmed handover: the receiving salesperson could not see them before
    receiver = ctx_for(people["b"], source="web")
    with unit_of_work(receiver):
        customer_service.reassign_customers(receiver, [one.id], people["b"].id, "交接确认", authorized=True)
    assert db.session.get(Customer, one.id).owner_id == people["b"].id


def test_unchanged_owner_who_left_does_not_block_edits(people):
    mine = create(people["a"])
    with unit_of_work(ServiceContext.system()):
        db.session.merge(people["a"]).active = False
    ctx = ctx_for(people["manager"])
    with unit_of_work(ctx):
        customer_service.update_customer(ctx, mine.id, {"industry": "教育"})
    with pytest.raises(ValidationError, match="负责人不存在或已停用"):
        customer_service.update_customer(ctx, mine.id, {"owner_id": 999999})


def test_audit_rows_carry_the_source(people):
    ctx = ctx_for(people["a"], source="api")
    with unit_of_work(ctx):
        customer = customer_service.create_customer(ctx, customer_data())
    with unit_of_work(ctx_for(people["a"], source="web")):
        customer_service.update_customer(
            ctx_for(people["a"], source="web"), customer.id, {"customer_level": "important"}
        )
    rows = db.session.scalars(
        select(AuditLog)
        .where(AuditLog.model == "crm_customer", AuditLog.record_id == str(customer.id))
        .order_by(AuditLog.id)
    ).all()
    assert [(r.action, r.source, r.actor_id) for r in rows] == [
        ("create", "api", people["a"].id),
        ("update", "web", people["a"].id),
    ]
    assert rows[1].changes == {"customer_level": ["normal", "important"]}


def test_delete_needs_permission(people):
    mine = create(people["a"])
    with pytest.raises(PermissionDenied):
        customer_service.delete_customer(ctx_for(people["a"]), mine.id)
    ctx = ctx_for(people["manager"])
    with unit_of_work(ctx):
        customer_service.delete_customer(ctx, mine.id)
    assert db.session.get(Customer, mine.id) is None


def test_demo_data_loads_200_customers(app_ctx):
    from core.demo import load_core_demo
    from modules.crm.demo import load_customers

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        load_core_demo(ctx)
        load_customers(ctx)
    customers = db.session.scalars(select(Customer)).all()
    assert len(customers) == 200
    assert {c.customer_level for c in customers} == {"important", "normal", "potential"}
    assert len({c.owner_id for c in customers if c.owner_id}) == 4
    assert any(c.status == "in_pool" for c in customers)
    overdue = [
        c
        for c in customers
        if c.owner_since and c.last_follow_up_at and (ctx.now - c.last_follow_up_at).days >= 60
    ]
    assert len(overdue) >= 20
    with unit_of_work(ctx):
        load_customers(ctx)  # idempotent
    assert db.session.scalar(select(db.func.count()).select_from(Customer)) == 200
