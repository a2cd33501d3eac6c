"""The chat registry through the fake WeCom robot callback: ``#认领`` without a number
claims a ticket in the chat configured as the service group and an opportunity in the one
configured as the sales group, whatever card was posted there last; an explicit number still
wins; the administrator's 群聊用途 page sets the purposes (audited)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import AuditLog
from core.bot import remember_card
from core.bot.purposes import chat_purpose
from core.bot.purposes import set_chat_purpose
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm.models.opportunity import Opportunity
from modules.service.models import Ticket
from tests.conftest import cleaned_context
from tests.conftest import installed_app
from tests.conftest import login
from tests.modules.wecom.conftest import wecom_config

SERVICE_GROUP, SALES_GROUP = "wr-service-group", "wr-sales-group"


@pytest.fixture(scope="module")
def chat_app(databases: Any, instance_dir: Any, fake_wecom: Any) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["service", "wecom"],
                       **wecom_config(fake_wecom)) as app:
        yield app


@pytest.fixture
def ctx_app(chat_app: Any, fake_wecom: Any) -> Iterator[Any]:
    fake_wecom.state.requests.clear()
    with cleaned_context(chat_app) as app:
        yield app


_n = iter(range(1, 10**6))


def group_text(driver: Any, text: str, userid: str, chat: str) -> str:
    payload = {"msgid": f"m-{userid}-{next(_n)}", "chatid": chat, "chattype": "group",
               "from": {"userid": userid}, "msgtype": "text",
               "text": {"content": f"@Tandem {text}"}}
    status, answer = driver.bot_message(payload)[0]
    assert status == 200
    reply = driver.decrypt_bot_reply(answer)
    for kind in ("stream", "text", "markdown"):
        if kind in reply:
            return reply[kind]["content"]
    return str(reply)


def _people() -> dict[str, Any]:
    from core.security.services import create_user

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        # One person who may claim both (so only the chat can tell what he means).
        both = create_user(ctx, "both", roles=["sales", "engineer"], wecom_userid="both",
                           display_name="全能王", password="secret-pass-1")
        admin = create_user(ctx, "root", roles=["admin"], display_name="管理员",
                            password="secret-pass-1")
        seller = create_user(ctx, "seller", roles=["sales"], display_name="卖家",
                             password="secret-pass-1")
    return {"both": both, "admin": admin, "seller": seller}


def _records(people: dict[str, Any]) -> tuple[Any, Any]:
    from core.bot import Card
    from core.settings import set_setting
    from tests.modules.crm.factories import make_customer
    from tests.modules.crm.factories import make_opportunity
    from tests.modules.service.factories import make_ticket

    with unit_of_work(ServiceContext.system("cli")):
        set_setting("service.dispatch_mode", "manual")
    customer = make_customer(people["seller"])
    ticket = make_ticket(customer)
    opp = make_opportunity(make_customer(people["seller"], customer_name="另一家"))
    with unit_of_work(ServiceContext.system("cli")):
        # Each group saw both cards, the *other* kind last: the purpose must decide.
        remember_card(SERVICE_GROUP, Card("工单", "", record=("service_ticket", ticket.id)))
        remember_card(SALES_GROUP, Card("商机", "", record=("crm_opportunity", opp.id)))
        remember_card(SERVICE_GROUP, Card("商机", "", record=("crm_opportunity", opp.id)))
        remember_card(SALES_GROUP, Card("工单", "", record=("service_ticket", ticket.id)))
    return ticket, opp


def _configure(ctx_app: Any, people: dict[str, Any]) -> None:
    client = ctx_app.test_client()
    login(client, people["admin"])
    page = client.get("/admin/chats")
    assert page.status_code == 200
    for chat, purpose in ((SERVICE_GROUP, "service"), (SALES_GROUP, "sales")):
        r = client.post("/admin/chats", data={"chat_id": chat, "purpose": purpose},
                        follow_redirects=True)
        assert "群聊用途已保存" in r.get_data(as_text=True)
    html = client.get("/admin/chats").get_data(as_text=True)
    assert SERVICE_GROUP in html and "售后群" in html and "销售群" in html


def test_claim_follows_the_configured_chat_purpose(ctx_app, driver):
    people = _people()
    ticket, opp = _records(people)
    _configure(ctx_app, people)
    assert (chat_purpose(SERVICE_GROUP), chat_purpose(SALES_GROUP)) == ("service", "sales")
    reply = group_text(driver, "#认领", "both", SERVICE_GROUP)
    assert ticket.ticket_no in reply, reply
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).assignee_id == people["both"].id
    assert db.session.get(Opportunity, opp.id).owner_id is None
    reply = group_text(driver, "#认领", "both", SALES_GROUP)
    db.session.expire_all()
    assert db.session.get(Opportunity, opp.id).owner_id == people["both"].id, reply
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "chat_purpose")).all()
    assert len(audit) == 2 and {a.source for a in audit} == {"web"}


def test_explicit_number_wins_and_unconfigured_chat_uses_the_last_card(ctx_app, driver):
    people = _people()
    ticket, opp = _records(people)
    _configure(ctx_app, people)
    reply = group_text(driver, f"#认领 {ticket.ticket_no}", "both", SALES_GROUP)
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).assignee_id == people["both"].id, reply
    # No purpose: the last card (the opportunity) decides, as before.
    with unit_of_work(ServiceContext.system("cli")):
        from core.bot import Card

        remember_card("wr-other", Card("商机", "", record=("crm_opportunity", opp.id)))
    group_text(driver, "#认领", "both", "wr-other")
    db.session.expire_all()
    assert db.session.get(Opportunity, opp.id).owner_id == people["both"].id


def test_purposes_are_validated_and_need_the_settings_permission(ctx_app):
    people = _people()
    ctx = ServiceContext(actor=people["admin"], source="web")
    with pytest.raises(ValidationError), unit_of_work(ctx):
        set_chat_purpose(ctx, "wr-x", "cooking")
    with pytest.raises(ValidationError), unit_of_work(ctx):
        set_chat_purpose(ctx, "bad id", "sales")
    with unit_of_work(ctx):
        set_chat_purpose(ctx, "wr-x", "sales")
    with unit_of_work(ctx):
        set_chat_purpose(ctx, "wr-x", "")
    assert chat_purpose("wr-x") is None
    client = ctx_app.test_client()
    login(client, people["seller"])
    assert client.get("/admin/chats").status_code in (403, 404)
