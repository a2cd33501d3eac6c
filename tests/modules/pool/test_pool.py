"""The public pool: recycling rules, reminders, claims with caps and cool-down, races,
assignment, release, hidden fields, history and the API."""

from __future__ import annotations

import re
import threading

import flask_babel
import pytest
from sqlalchemy import select
from sqlalchemy import update

from core.errors import ConflictError
from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm.models.customer import Customer
from modules.pool import queries as pool_queries
from modules.pool.models import PoolMove
from modules.pool.services import customers as pool_service
from modules.pool.services import rules as rule_service
from tests.conftest import login
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import make_customer
from tests.modules.pool.factories import age
from tests.modules.pool.factories import recycle


def _status(customer):
    db.session.expire_all()
    return db.session.get(Customer, customer.id)


@pytest.fixture
def li(app_ctx, make_user):
    return make_user("sales", username="li")


def test_inactive_customer_is_recycled_with_the_reason(li):
    customer = make_customer(li, customer_level="normal")  # normal: 30 days
    age(customer, owned_days=40, follow_up_days=35)
    assert recycle()["inactive_days"] == 1
    c = _status(customer)
    assert c.status == "in_pool" and c.owner_id is None
    move = db.session.scalar(select(PoolMove))
    assert (move.reason, move.from_owner_id, move.to_owner_id) == ("inactive_days", li.id, None)


def test_clock_starts_when_the_current_owner_got_the_customer(li):
    customer = make_customer(li, customer_level="normal")
    age(customer, owned_days=2)  # an old customer (created 400 days ago) re-claimed 2 days ago
    assert recycle() == {"inactive_days": 0, "no_deal": 0, "reminded": 0}
    assert _status(customer).status == "active"


def test_no_deal_recycles_after_m_days_despite_follow_ups(li):
    customer = make_customer(li, customer_level="normal")  # normal: 90 days without a deal
    age(customer, owned_days=100, follow_up_days=1)
    assert recycle()["no_deal"] == 1
    assert db.session.scalar(select(PoolMove.reason)) == "no_deal"


def test_reminder_k_days_before_and_the_job_is_idempotent(li):
    customer = make_customer(li, customer_level="normal")  # 30 days, reminder 3 days before
    age(customer, owned_days=28, follow_up_days=28)
    first = recycle()
    assert first["reminded"] == 1 and first["inactive_days"] == 0
    second = recycle()
    assert second == {"inactive_days": 0, "no_deal": 0, "reminded": 0}
    reminders = db.session.scalars(
        select(Notification).where(Notification.recipient_id == li.id)
    ).all()
    assert len(reminders) == 1 and "即将回收" in reminders[0].subject


def test_each_owner_is_reminded_in_his_language(li, make_user):
    en = make_user("sales", username="tom")
    en.locale = "en"
    db.session.commit()
    for owner in (li, en):
        age(make_customer(owner, customer_level="normal"), owned_days=28, follow_up_days=28)
    assert recycle()["reminded"] == 2
    sent = {n.recipient_id: (n.subject, n.body) for n in db.session.scalars(select(Notification))}
    assert sent[li.id][0].startswith("客户即将回收公海：")
    assert sent[li.id][1] == "3 天内如不跟进/成交，将自动回收（未跟进）"
    assert sent[en.id][0].startswith("Customer about to go back to the pool: ")
    assert sent[en.id][1].endswith("within 3 days, it goes back to the pool automatically "
                                   "(no follow-up)")


def test_recycling_twice_the_same_day_changes_nothing_more(li):
    customer = make_customer(li, customer_level="normal")
    age(customer, owned_days=40, follow_up_days=40)
    assert recycle()["inactive_days"] == 1
    assert recycle() == {"inactive_days": 0, "no_deal": 0, "reminded": 0}
    assert len(db.session.scalars(select(PoolMove)).all()) == 1


def test_locked_customers_are_exempt(li):
    customer = make_customer(li, customer_level="normal")
    db.session.execute(update(Customer).where(Customer.id == customer.id).values(locked=True))
    age(customer, owned_days=200, follow_up_days=200)
    assert recycle()["inactive_days"] == 0 and _status(customer).status == "active"


def test_manual_release_needs_a_reason(li):
    customer = make_customer(li)
    with pytest.raises(ValidationError, match="原因"), unit_of_work(ctx_for(li)):
        pool_service.release(ctx_for(li), customer.id, "  ")
    with unit_of_work(ctx := ctx_for(li)):
        pool_service.release(ctx, customer.id, "客户已搬迁")
    move = db.session.scalar(select(PoolMove))
    assert (move.reason, move.note) == ("manual", "客户已搬迁")


def test_claim_caps_and_cooldown(li, make_user):
    zhao = make_user("sales", username="zhao")
    with unit_of_work(ctx := ServiceContext.system("cli")):
        rule_service.update_rule(ctx, "normal", {"max_claims_per_day": 2, "cooldown_days": 7})
    pool = [make_customer(None, customer_level="normal") for _ in range(3)]
    for c in pool[:2]:
        with unit_of_work(ctx := ctx_for(zhao)):
            pool_service.claim(ctx, c.id)
    with pytest.raises(UserError, match="每日上限"), unit_of_work(ctx := ctx_for(zhao)):
        pool_service.claim(ctx, pool[2].id)
    mine = make_customer(li, customer_level="normal")
    with unit_of_work(ctx := ctx_for(li)):
        pool_service.release(ctx, mine.id, "暂不跟进")
    with pytest.raises(UserError, match="冷却期"), unit_of_work(ctx := ctx_for(li)):
        pool_service.claim(ctx, mine.id)
    make_customer(li, customer_level="normal")  # li now holds one customer
    with unit_of_work(ctx := ServiceContext.system("cli")):
        rule_service.update_rule(ctx, "normal", {"max_customers": 1})
    with pytest.raises(UserError, match="达到上限 1"), unit_of_work(ctx := ctx_for(li)):
        pool_service.claim(ctx, pool[2].id)


def _manage(manager, *members):
    from core.security.models import Team

    team = Team(name=f"{manager.username}组", manager_id=manager.id)
    db.session.add(team)
    db.session.flush()
    for member in members:
        member.team_id = team.id
    db.session.commit()


def test_claim_history_and_assignment(li, make_user):
    manager = make_user("manager", username="boss")
    _manage(manager, li)
    customer = make_customer(None)
    stranger = make_user("manager", username="other")
    with pytest.raises(PermissionDenied, match="本团队"), unit_of_work(ctx := ctx_for(stranger)):
        pool_service.assign(ctx, customer.id, li.id)
    with unit_of_work(ctx := ctx_for(manager)):
        pool_service.assign(ctx, customer.id, li.id)
    assert _status(customer).owner_id == li.id
    with pytest.raises(ConflictError), unit_of_work(ctx := ctx_for(manager)):
        pool_service.assign(ctx, customer.id, li.id)
    assert [m.reason for m in pool_queries.history(customer.id)] == ["assign"]


def test_two_people_claiming_at_once_exactly_one_wins(app, li, make_user):
    zhao = make_user("sales", username="zhao")
    customer = make_customer(None)
    results = []
    barrier = threading.Barrier(2)

    def run(user):
        with app.app_context():
            barrier.wait()
            try:
                with unit_of_work(ctx := ctx_for(user)):
                    pool_service.claim(ctx, customer.id)
                results.append("won")
            except (ConflictError, UserError) as exc:
                results.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(u,)) for u in (li, zhao)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("won") == 1
    assert [r for r in results if r != "won"] != [], results
    assert all("他人领取" in r or "不在公海" in r for r in results if r != "won"), results
    assert len(db.session.scalars(select(PoolMove).where(PoolMove.reason == "claim")).all()) == 1


def test_pool_page_hides_fields_from_claimers_and_api_actions(client, li, make_user):
    from core.settings import set_setting

    customer = make_customer(None, phone="13955556666", address="秘密地址 1 号")
    set_setting("pool.hidden_fields", ["phone", "address"])
    db.session.commit()
    login(client, li)
    page = client.get("/pool/").get_data(as_text=True)
    assert customer.customer_name in page and "13955556666" not in page
    from core.security.services import issue_token

    with unit_of_work(ctx := ctx_for(li)):
        token = issue_token(ctx, li)
    headers = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/v1/pool/customers", headers=headers).json
    assert listed["data"][0]["phone"] is None
    claimed = client.post(f"/api/v1/pool/customers/{customer.id}/claim", headers=headers)
    assert claimed.status_code == 200 and claimed.json["owner_id"] == li.id
    again = client.post(f"/api/v1/pool/customers/{customer.id}/claim", headers=headers)
    assert again.status_code == 409
    released = client.post(
        f"/api/v1/customers/{customer.id}/release", headers=headers, json={"reason": ""}
    )
    assert released.status_code == 422 and "reason" in released.json["error"]["fields"]
    released = client.post(
        f"/api/v1/customers/{customer.id}/release", headers=headers, json={"reason": "换区域"}
    )
    assert released.status_code == 200 and released.json["status"] == "in_pool"
    detail = client.get(f"/crm/customers/{customer.id}").get_data(as_text=True)
    assert "换区域" in detail  # the move history shows on the customer's page


def test_crm_cannot_be_uninstalled_while_pool_is_installed(make_app):
    from core.errors import ModuleError
    from core.registry import installer

    app = make_app(modules=["pool"])
    with app.app_context():
        assert {"crm", "pool"} <= set(installer.installed_names())
        with pytest.raises(ModuleError, match="pool"):
            installer.uninstall("crm")
        plan = installer.uninstall_plan("crm", cascade=True)
        assert plan.modules[:2] == ["pool", "crm"] or plan.modules[-1] == "crm"


def test_rules_page_saves_rules_per_level(client, login_as):
    login_as("admin", username="root")
    assert client.get("/pool/rules").status_code == 200
    form = {
        f"normal.{k}": v
        for k, v in {
            "inactive_days": "20",
            "no_deal_days": "60",
            "remind_days": "2",
            "max_customers": "50",
            "max_claims_per_day": "5",
            "cooldown_days": "3",
        }.items()
    }
    form["normal.enabled"] = "on"
    form["hidden"] = ["phone"]
    assert client.post("/pool/rules", data=form).status_code == 302
    rule = pool_queries.rules()["normal"]
    assert (rule.inactive_days, rule.max_claims_per_day) == (20, 5)
    assert pool_queries.hidden_fields() == {"phone"}
    bad = dict(form, **{"normal.remind_days": "30"})
    assert "提醒天数必须小于回收天数" in client.post(
        "/pool/rules", data=bad, follow_redirects=True
    ).get_data(as_text=True)


def test_crm_pages_api_and_export_withhold_fields_hidden_from_claimers(client, li, make_user):
    """The pool's hidden fields stay hidden wherever crm shows a pool customer to a claimer;
    once claimed, the new owner sees everything."""
    from flask_babel import refresh

    from core.security.services import issue_token
    from core.settings import set_setting
    from modules.crm.services.contacts import add_contact

    customer = make_customer(None, phone="13955556666", address="秘密地址 1 号")
    with unit_of_work(ctx := ServiceContext.system("cli")):
        add_contact(ctx, customer.id, {"name": "王总", "phone": "13977778888"})
        set_setting("pool.hidden_fields", ["phone", "address"])
        token = issue_token(ctx, li)
    headers = {"Authorization": f"Bearer {token}"}
    login(client, li)

    page = client.get(f"/crm/customers/{customer.id}").get_data(as_text=True)
    assert customer.customer_name in page and "（已隐藏）" in page
    assert "13955556666" not in page and "秘密地址" not in page and "13977778888" not in page
    one = client.get(f"/api/v1/customers/{customer.id}", headers=headers).json
    assert (one["phone"], one["address"], one["hidden_fields"]) == (None, None,
                                                                     ["address", "phone"])
    listed = client.get("/api/v1/customers?status=in_pool", headers=headers).json["data"]
    assert [(c["id"], c["phone"]) for c in listed] == [(customer.id, None)]
    contacts = client.get(f"/api/v1/customers/{customer.id}/contacts", headers=headers).json
    assert contacts["data"][0]["name"] == "王总" and contacts["data"][0]["phone"] is None
    listed_page = client.get("/crm/customers/?status=in_pool").get_data(as_text=True)
    assert customer.customer_name in listed_page and "13955556666" not in listed_page
    assert "（已隐藏）" in listed_page
    export = client.get("/crm/customers/?export=csv&status=in_pool").get_data(as_text=True)
    assert customer.customer_name in export and "13955556666" not in export
    assert "（已隐藏）" in export
    client.post("/locale/en")  # an export is in its reader's language, the mark too
    refresh()  # Babel keeps the locale in the app context this test holds across requests
    export = client.get("/crm/customers/?export=csv&status=in_pool").get_data(as_text=True)
    assert "Customer name" in export and "(hidden)" in export and "13955556666" not in export
    assert ",Individual," in export and "公海" not in export and "个人" not in export

    with unit_of_work(ctx := ctx_for(li)):
        pool_service.claim(ctx, customer.id)
    one = client.get(f"/api/v1/customers/{customer.id}", headers=headers).json
    assert (one["phone"], one["hidden_fields"]) == ("13955556666", [])
    assert "13977778888" in client.get(f"/crm/customers/{customer.id}").get_data(as_text=True)
    assert "13955556666" in client.get("/crm/customers/?mine=1").get_data(as_text=True)


def test_a_claimer_cannot_find_a_pool_customer_by_a_field_hidden_from_him(client, li,
                                                                          make_user):
    """Searching by a hidden phone or industry would reveal it: the claimer's searches (crm
    list and API, ``#客户历史``, the pool list) leave such customers out; a manager, who sees
    the fields, finds them; after the claim, so does the new owner."""
    from core.settings import set_setting
    from modules.crm.queries import find_customer
    from modules.crm.queries import search_customers

    hidden = make_customer(None, customer_name="隐藏客户", phone="13955556666",
                           industry="冷链物流")
    with unit_of_work(ServiceContext.system("cli")):
        set_setting("pool.hidden_fields", ["phone", "industry"])
    boss = make_user("manager", username="boss")

    def found(user, **filters):
        return [c.id for c in db.session.scalars(search_customers(ctx_for(user), **filters))]

    assert found(li, q="13955556666") == [] and found(li, industry="冷链物流") == []
    assert found(li, q="隐藏客户") == [hidden.id]  # the name is not hidden
    with pytest.raises(NotFoundError):
        find_customer(ctx_for(li), "139-5555-6666")
    assert found(boss, q="5555666") == [hidden.id] == found(boss, industry="冷链物流")
    assert find_customer(ctx_for(boss), "13955556666").id == hidden.id

    login(client, li)
    assert "隐藏客户" not in client.get("/crm/customers/?q=13955556666").get_data(as_text=True)
    assert "隐藏客户" not in client.get("/pool/?q=冷链").get_data(as_text=True)
    assert "隐藏客户" in client.get("/pool/?q=隐藏").get_data(as_text=True)

    with unit_of_work(ctx := ctx_for(li)):
        pool_service.claim(ctx, hidden.id)
    assert found(li, q="13955556666") == [hidden.id] == found(li, industry="冷链物流")


def test_an_english_claimer_reads_the_refusals_in_english(client, li, make_user):
    from core.security.services import issue_token

    zhao = make_user("sales", username="zhao")
    zhao.locale = "en"
    db.session.commit()
    with unit_of_work(ctx := ServiceContext.system("cli")):
        rule_service.update_rule(ctx, "normal", {"max_customers": 1})
    taken = make_customer(li, customer_level="normal")
    free = make_customer(None, customer_level="normal")
    own = make_customer(zhao, customer_level="normal")  # zhao is at his cap
    with unit_of_work(ctx := ctx_for(zhao)):
        token = issue_token(ctx, zhao)
    headers = {"Authorization": f"Bearer {token}"}

    capped = client.post(f"/api/v1/pool/customers/{free.id}/claim", headers=headers)
    assert capped.json["error"]["message"] == "You hold 1 customers, the limit is 1"
    gone = client.post(f"/api/v1/pool/customers/{taken.id}/claim", headers=headers)
    assert gone.status_code == 409
    assert gone.json["error"]["message"].startswith("This customer is no longer in the pool")
    released = client.post(f"/api/v1/customers/{own.id}/release", headers=headers,
                           json={"reason": " "})
    assert released.status_code == 422 and set(released.json["error"]["fields"]) == {"reason"}
    assert not re.search(r"[\u4e00-\u9fff]", released.get_data(as_text=True))
    login(client, zhao)
    client.post(f"/pool/customers/{free.id}/claim")
    page = client.get("/pool/").get_data(as_text=True)
    assert "You hold 1 customers, the limit is 1" in page
    client.post(f"/pool/customers/{own.id}/release", data={"reason": " "})
    page = client.get("/pool/").get_data(as_text=True)
    assert "Moving a customer to the pool needs a reason" in page

    flask_babel.refresh()  # the test's app context outlives the request (and its locale)
    with pytest.raises(UserError, match="达到上限 1"), unit_of_work(ctx := ctx_for(li)):
        pool_service.claim(ctx, free.id)  # li holds one too: Chinese, the default
