"""Customer identity through the fake WeCom: official-account phone binding, then the
WeCom add event (verified only when added by phone search), and the handover transfer."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.wecom.fake import CallbackDriver
from tests.conftest import cleaned_context
from tests.conftest import installed_app
from tests.modules.wecom.conftest import CORP_ID
from tests.modules.wecom.conftest import wecom_config

OA_TOKEN = "oatoken"


@pytest.fixture(scope="module")
def identity_app(databases: Any, instance_dir: Any, fake_wecom: Any) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["crm", "wecom"],
                       **wecom_config(fake_wecom, WECOM_OA_TOKEN=OA_TOKEN)) as app:
        assert "wecom_crm" in app.extensions["tandem_registry"].installed  # the bridge
        yield app


@pytest.fixture
def ctx_app(identity_app: Any, fake_wecom: Any) -> Iterator[Any]:
    with cleaned_context(identity_app) as app:
        yield app
    fake_wecom.state.external_contacts.clear()
    fake_wecom.state.transfer_results.clear()


def _user(username: str, *roles: str) -> Any:
    from core.security.services import create_user

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        return create_user(ctx, username, roles=roles or ("sales",), wecom_userid=username,
                           password="secret-pass-1")


def _customer(owner: Any, phone: str = "13812345678") -> Any:
    from modules.crm.services.customers import create_customer

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        return create_customer(ctx, {"customer_name": "王先生", "customer_type": "individual",
                                     "phone": phone, "owner_id": owner.id})


def _binding(customer_id: int) -> Any:
    from modules.wecom_crm.models import Binding

    db.session.expire_all()
    return db.session.scalar(select(Binding).where(Binding.customer_id == customer_id))


def _oa_post(client: Any, xml: str) -> Any:
    timestamp, nonce = str(int(time.time())), "12345"
    sig = hashlib.sha1("".join(sorted([OA_TOKEN, timestamp, nonce])).encode()).hexdigest()
    return client.post("/wecom/oa/callback", data=xml,
                       query_string={"signature": sig, "timestamp": timestamp, "nonce": nonce})


def _add_event(driver: CallbackDriver, ext: str, userid: str, change: str = "add_external_contact",
               at: int = 1700000000) -> None:
    driver.app_event({"ToUserName": CORP_ID, "FromUserName": "sys", "CreateTime": at,
                      "MsgType": "event", "Event": "change_external_contact",
                      "ChangeType": change, "UserID": userid, "ExternalUserID": ext,
                      "State": "", "WelcomeCode": "wc"})


def _contact(ext: str, userid: str, add_way: int, mobiles: list[str]) -> dict:
    return {"external_contact": {"external_userid": ext, "name": "王先生", "type": 1},
            "follow_user": [{"userid": userid, "remark": "", "add_way": add_way,
                             "remark_mobiles": mobiles, "createtime": 1700000000}]}


def test_phone_sent_to_the_official_account_binds_temporarily(ctx_app):
    owner = _user("li.sales")
    customer = _customer(owner)
    xml = ("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[openid-1]]>"
           "</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           "<Content><![CDATA[我的手机 138-1234-5678]]></Content><MsgId>777</MsgId></xml>")
    response = _oa_post(ctx_app.test_client(), xml)
    assert response.status_code == 200
    assert "138****5678" in response.get_data(as_text=True)
    binding = _binding(customer.id)
    assert binding.binding_status == "temp" and binding.oa_openid == "openid-1"
    assert not binding.is_verified


def _oa_text(openid: str, content: str, msgid: int) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            "</FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]>"
            f"</MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msgid}</MsgId></xml>")


def test_official_account_binding_cannot_be_hijacked_and_does_not_tell(ctx_app):
    """Issue 14 #3: another follower sending a customer's phone changes nothing of that
    customer's binding; a bound follower's new phone does not rewrite his binding; the
    reply is the same for a known and an unknown phone."""
    from modules.wecom_crm.models import Binding

    owner = _user("li.sales")
    customer = _customer(owner)
    client = ctx_app.test_client()
    assert _oa_post(client, _oa_text("openid-1", "13812345678", 801)).status_code == 200
    binding = _binding(customer.id)
    binding.is_verified = True
    db.session.commit()
    known = _oa_post(client, _oa_text("attacker", "13812345678", 802)).get_data(as_text=True)
    unknown = _oa_post(client, _oa_text("other", "13900001111", 803)).get_data(as_text=True)
    assert _binding(customer.id).oa_openid == "openid-1" and _binding(customer.id).is_verified
    attacker = db.session.scalar(select(Binding).where(Binding.oa_openid == "attacker"))
    assert attacker.customer_id is None and attacker.binding_status == "temp"
    reply = re.compile(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", re.S)
    assert reply.search(known).group(1).replace("138****5678", "#") == \
        reply.search(unknown).group(1).replace("139****1111", "#")
    # The bound follower sends another phone: his binding keeps its phone and customer.
    _oa_post(client, _oa_text("openid-1", "13700002222", 804))
    mine = _binding(customer.id)
    assert mine.phone == "13812345678" and mine.customer_id == customer.id


def test_official_account_with_an_aes_key_takes_only_encrypted_messages(ctx_app):
    from core.settings import set_setting

    set_setting("wecom.oa_aes_key", "a" * 43)
    db.session.commit()
    response = _oa_post(ctx_app.test_client(), _oa_text("openid-9", "13812345678", 901))
    assert response.status_code == 403


def test_official_account_refuses_a_stale_timestamp(ctx_app):
    timestamp, nonce = str(int(time.time()) - 3600), "12345"
    sig = hashlib.sha1("".join(sorted([OA_TOKEN, timestamp, nonce])).encode()).hexdigest()
    response = ctx_app.test_client().post(
        "/wecom/oa/callback", data=_oa_text("openid-1", "13812345678", 905),
        query_string={"signature": sig, "timestamp": timestamp, "nonce": nonce})
    assert response.status_code == 403


def test_official_account_refuses_a_bad_signature(ctx_app):
    response = ctx_app.test_client().post(
        "/wecom/oa/callback", data="<xml/>",
        query_string={"signature": "0" * 40, "timestamp": "1", "nonce": "2"})
    assert response.status_code == 403


def test_added_by_phone_search_marks_the_customer_verified(ctx_app, driver, fake_wecom):
    owner = _user("li.sales")
    customer = _customer(owner)
    fake_wecom.state.external_contacts["wm_ext1"] = _contact("wm_ext1", "li.sales", 2,
                                                             ["13812345678"])
    _add_event(driver, "wm_ext1", "li.sales")
    binding = _binding(customer.id)
    assert binding.is_verified and binding.verified_at is not None
    assert binding.binding_status == "linked"


def test_the_customer_page_shows_the_wecom_identity(ctx_app, driver, fake_wecom):
    """The bridge has no routes of its own; its 360° section still finds its template."""
    from tests.conftest import login

    owner = _user("li.sales")
    customer = _customer(owner)
    fake_wecom.state.external_contacts["wm_ext9"] = _contact("wm_ext9", "li.sales", 2,
                                                             ["13812345678"])
    _add_event(driver, "wm_ext9", "li.sales")
    client = ctx_app.test_client()
    login(client, owner)
    page = client.get(f"/crm/customers/{customer.id}").get_data(as_text=True)
    section = page.split('id="section-wecom"')[1] if 'id="section-wecom"' in page else page
    assert "该部分加载失败" not in page and "已认证" in section


def test_added_by_qr_code_links_without_verifying(ctx_app, driver, fake_wecom):
    owner = _user("li.sales")
    customer = _customer(owner)
    fake_wecom.state.external_contacts["wm_ext2"] = _contact("wm_ext2", "li.sales", 1,
                                                             ["+86 138 1234 5678"])
    _add_event(driver, "wm_ext2", "li.sales")
    binding = _binding(customer.id)
    assert binding.binding_status == "linked" and not binding.is_verified


def test_unknown_add_way_is_stored_as_it_came_and_removal_is_recorded(ctx_app, driver,
                                                                     fake_wecom):
    from modules.wecom_crm.models import ExternalLink

    owner = _user("li.sales")
    _customer(owner)
    fake_wecom.state.external_contacts["wm_ext3"] = _contact("wm_ext3", "li.sales", 999,
                                                             ["13812345678"])
    _add_event(driver, "wm_ext3", "li.sales")
    _add_event(driver, "wm_ext3", "li.sales", change="del_follow_user", at=1700000500)
    link = db.session.scalar(select(ExternalLink).where(ExternalLink.external_userid == "wm_ext3"))
    assert link.add_way == 999 and link.removed_at is not None


def test_handover_transfers_the_external_contacts_and_tracks_the_result(ctx_app, driver,
                                                                      fake_wecom):
    from modules.wecom_crm import services
    from modules.wecom_crm.models import ExternalLink

    old, new = _user("li.sales"), _user("zhao.sales")
    customer = _customer(old)
    fake_wecom.state.users.update({"li.sales", "zhao.sales"})
    fake_wecom.state.external_contacts["wm_ext4"] = _contact("wm_ext4", "li.sales", 2,
                                                             ["13812345678"])
    _add_event(driver, "wm_ext4", "li.sales")
    ctx = ServiceContext.system("job")
    with unit_of_work(ctx):
        assert services.transfer_on_handover(ctx, [customer.id], old.id, new.id) == 1
    link = db.session.scalar(select(ExternalLink).where(ExternalLink.external_userid == "wm_ext4"))
    assert link.transfer_status == "waiting"
    calls = fake_wecom.state.received("/cgi-bin/externalcontact/transfer_customer")
    assert calls[-1]["json"]["handover_userid"] == "li.sales"
    assert calls[-1]["json"]["takeover_userid"] == "zhao.sales"
    fake_wecom.state.transfer_results["wm_ext4"] = 3  # the customer refused
    with unit_of_work(ctx):
        assert services.poll_transfers(ctx) == 1
    db.session.expire_all()
    assert db.session.get(ExternalLink, link.id).transfer_status == "refused"


def test_transfer_calls_take_at_most_one_hundred_contacts(ctx_app, fake_wecom):
    from modules.wecom_crm import services
    from modules.wecom_crm.models import ExternalLink

    old, new = _user("li.sales"), _user("zhao.sales")
    customer = _customer(old)
    ctx = ServiceContext.system("job")
    with unit_of_work(ctx):
        for i in range(150):
            ext = f"wm_bulk{i}"
            fake_wecom.state.external_contacts[ext] = _contact(ext, "li.sales", 2, [])
            db.session.add(ExternalLink(customer_id=customer.id, external_userid=ext,
                                        follow_userid="li.sales"))
    before = len(fake_wecom.state.received("/cgi-bin/externalcontact/transfer_customer"))
    with unit_of_work(ctx):
        assert services.transfer_on_handover(ctx, [customer.id], old.id, new.id) == 150
    calls = fake_wecom.state.received("/cgi-bin/externalcontact/transfer_customer")[before:]
    assert [len(c["json"]["external_userid"]) for c in calls] == [100, 50]


def test_bridge_installs_itself_and_cascades_out(make_app):
    from core.registry import installer

    app = make_app(modules=["crm"])
    with app.app_context():
        assert installer.install(["wecom"]) == ["wecom", "wecom_crm"]
        with pytest.raises(Exception, match="wecom_crm"):
            installer.uninstall("crm")
        plan = installer.uninstall("wecom", cascade=True)
        assert plan.modules == ["wecom_crm", "wecom"]
        assert installer.install(["wecom"]) == ["wecom", "wecom_crm"]


def test_confirmed_handover_transfers_the_wecom_relationship(ctx_app, driver, fake_wecom):
    from modules.crm.services import handover as handover_service
    from modules.wecom_crm.models import ExternalLink

    old, new = _user("li.sales"), _user("zhao.sales")
    admin = _user("root", "admin")
    reviewer = _user("root2", "admin")
    customer = _customer(old)
    fake_wecom.state.external_contacts["wm_ho"] = _contact("wm_ho", "li.sales", 2,
                                                           ["13812345678"])
    _add_event(driver, "wm_ho", "li.sales")

    def run(user, fn, *args, **kwargs):
        ctx = ServiceContext(actor=user, source="web")
        with unit_of_work(ctx):
            return fn(ctx, *args, **kwargs)

    h = run(admin, handover_service.start_handover, to_user_id=new.id, from_user_id=old.id,
            reason="resignation")
    run(admin, handover_service.update_checklist, h.id, list(range(len(h.checklist))))
    run(admin, handover_service.submit, h.id)
    run(reviewer, handover_service.review, h.id, True)
    run(new, handover_service.confirm, h.id)  # the transfer job runs after this commit
    calls = fake_wecom.state.received("/cgi-bin/externalcontact/transfer_customer")
    assert calls and calls[-1]["json"]["external_userid"] == ["wm_ho"]
    assert calls[-1]["json"]["takeover_userid"] == "zhao.sales"
    db.session.expire_all()
    link = db.session.scalar(select(ExternalLink).where(ExternalLink.external_userid == "wm_ho"))
    assert link.transfer_status == "waiting" and link.customer_id == customer.id


def _company_with_contacts(owner: Any, *phones: str) -> Any:
    from modules.crm.services.contacts import add_contact
    from tests.modules.crm.factories import make_customer

    company = make_customer(owner, customer_type="enterprise")
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        for n, phone in enumerate(phones):
            add_contact(ctx, company.id, {"name": f"联系人{n}", "phone": phone})
    return company


def _bindings(customer_id: int) -> list[Any]:
    from modules.wecom_crm.models import Binding

    db.session.expire_all()
    return list(db.session.scalars(select(Binding).where(Binding.customer_id == customer_id)
                                   .order_by(Binding.id)))


def test_each_contact_of_a_company_binds_and_is_verified_himself(ctx_app, driver, fake_wecom):
    """A company's second contact binds and gets verified like the first (his own phone on
    the official account, then added by phone search): one binding per contact."""
    from tests.conftest import login

    owner = _user("li.sales")
    company = _company_with_contacts(owner, "13811110001", "13822220002")
    client = ctx_app.test_client()
    for openid, phone, ext, msgid in (("openid-a", "13811110001", "wm_a", 811),
                                      ("openid-b", "13822220002", "wm_b", 812)):
        assert _oa_post(client, _oa_text(openid, phone, msgid)).status_code == 200
        fake_wecom.state.external_contacts[ext] = _contact(ext, "li.sales", 2, [phone])
        _add_event(driver, ext, "li.sales")
    found = _bindings(company.id)
    assert [(b.oa_openid, b.phone, b.is_verified, b.binding_status) for b in found] == [
        ("openid-a", "13811110001", True, "linked"), ("openid-b", "13822220002", True, "linked")]
    login(client, owner)
    page = client.get(f"/crm/customers/{company.id}").get_data(as_text=True)
    assert page.count("data-binding=") == 2 and "138****0002" in page


def test_a_second_contact_gets_the_same_checks(ctx_app, driver, fake_wecom):
    """Added by QR code he is linked, not verified; a phone two followers sent ties
    neither of them (nobody can tell which is the contact)."""
    owner = _user("li.sales")
    company = _company_with_contacts(owner, "13811110001", "13822220002")
    client = ctx_app.test_client()
    _oa_post(client, _oa_text("openid-a", "13811110001", 821))
    fake_wecom.state.external_contacts["wm_a"] = _contact("wm_a", "li.sales", 2, ["13811110001"])
    _add_event(driver, "wm_a", "li.sales")
    _oa_post(client, _oa_text("openid-b", "13822220002", 822))
    fake_wecom.state.external_contacts["wm_b"] = _contact("wm_b", "li.sales", 1, ["13822220002"])
    _add_event(driver, "wm_b", "li.sales")
    found = {b.oa_openid: b for b in _bindings(company.id)}
    assert found["openid-a"].is_verified
    assert found["openid-b"].binding_status == "linked" and not found["openid-b"].is_verified


def test_a_contact_added_on_wecom_ties_his_own_waiting_binding(ctx_app, driver, fake_wecom):
    """A follower who sent his phone before staff entered it as a contact is tied (and
    verified) when he is added by phone search, besides the company's other binding; when
    two followers sent that phone, neither is."""
    from modules.crm.services.contacts import add_contact
    from modules.wecom_crm.models import Binding

    owner = _user("li.sales")
    company = _company_with_contacts(owner, "13811110001")
    client = ctx_app.test_client()
    _oa_post(client, _oa_text("openid-a", "13811110001", 831))
    _oa_post(client, _oa_text("openid-b", "13822220002", 832))  # not a contact yet
    _oa_post(client, _oa_text("openid-c", "13833330003", 833))
    _oa_post(client, _oa_text("openid-d", "13833330003", 834))  # the same phone as c
    assert [b.oa_openid for b in _bindings(company.id)] == ["openid-a"]
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        add_contact(ctx, company.id, {"name": "王工", "phone": "13822220002"})
        add_contact(ctx, company.id, {"name": "赵工", "phone": "13833330003"})
    for ext, phone in (("wm_a", "13811110001"), ("wm_b", "13822220002"),
                       ("wm_c", "13833330003")):
        fake_wecom.state.external_contacts[ext] = _contact(ext, "li.sales", 2, [phone])
        _add_event(driver, ext, "li.sales")
    found = _bindings(company.id)
    assert [(b.oa_openid, b.is_verified) for b in found][:2] == [("openid-a", True),
                                                                 ("openid-b", True)]
    # c and d: a new binding of the contact's phone, no follower's
    assert [(b.oa_openid, b.phone) for b in found[2:]] == [(None, "13833330003")]
    untied = db.session.scalars(select(Binding).where(Binding.oa_openid.in_(
        ["openid-c", "openid-d"]))).all()
    assert [b.customer_id for b in untied] == [None, None]
