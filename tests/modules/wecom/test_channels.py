"""WeCom channels of the outbox, against the fake WeCom."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy import update

from core.bot import Card
from core.bot import CardButton
from core.extensions import db
from core.notify import relay
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from modules.wecom.models import SentMessage
from modules.wecom.push import push_card


def _card():
    return Card(title="新商机：中央空调 10 台", emphasis=("预计金额", "¥185,000.00"),
                fields=[("客户", "ABC公司")], url="/crm/opportunities/7",
                buttons=[CardButton.action("认领", "demo_a.widget.claim", 7)],
                record=("demo_a_widget", 7))


def test_app_card_goes_to_the_users_wecom_account(wecom_ctx, chat_user, fake_wecom):
    li = chat_user("li.sales")
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        push_card(ctx, _card(), users=[li])
    sent = fake_wecom.state.received("/cgi-bin/message/send")
    assert len(sent) == 1
    body = sent[0]["json"]
    assert body["touser"] == "li.sales" and body["msgtype"] == "template_card"
    assert body["template_card"]["card_type"] == "button_interaction"
    assert body["template_card"]["button_list"][0]["key"] == "demo_a.widget.claim:7"
    row = db.session.scalar(select(Notification))
    assert row.status == "sent"


def test_partial_failure_is_written_on_the_notification(wecom_ctx, chat_user, fake_wecom):
    ghost = chat_user("ghost.user")
    fake_wecom.state.users = {"li.sales"}
    try:
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            push_card(ctx, _card(), users=[ghost])
    finally:
        fake_wecom.state.users = set()
    row = db.session.scalar(select(Notification))
    db.session.refresh(row)
    assert row.status == "sent" and row.last_error == "invaliduser: ghost.user"
    assert db.session.scalar(select(SentMessage.invaliduser)) == "ghost.user"


def test_group_webhook_queues_past_twenty_a_minute_instead_of_dropping(wecom_ctx, fake_wecom):
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        for i in range(25):
            push_card(ctx, Card(title=f"提醒 {i}", url="/x"), webhook="sales")
    webhook_calls = fake_wecom.state.received("/cgi-bin/webhook/send")
    assert len(webhook_calls) == 20
    assert webhook_calls[0]["json"]["template_card"]["card_type"] == "text_notice"
    waiting = db.session.scalars(select(Notification).where(Notification.status == "pending"))
    waiting = list(waiting)
    assert len(waiting) == 5  # queued, not dropped, and not counted as failures
    assert all(n.attempts == 0 for n in waiting)
    assert relay() == 0  # still inside the minute: nothing more goes out
    # A minute later the relay sends the rest.
    from datetime import timedelta

    from core.db import utcnow
    from modules.wecom.channels import window

    window._sent.clear()
    fake_wecom.state.webhook_times.clear()
    for n in waiting:
        n.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert relay() == 5
    assert len(fake_wecom.state.received("/cgi-bin/webhook/send")) == 25


def test_without_corp_id_and_secret_nothing_is_sent_and_the_row_says_logged(
        wecom_ctx, chat_user, fake_wecom, monkeypatch):
    li = chat_user("li.sales")
    monkeypatch.setitem(wecom_ctx.config, "WECOM_APP_SECRET", "")
    monkeypatch.delenv("WECOM_APP_SECRET", raising=False)
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        push_card(ctx, _card(), users=[li])
    assert fake_wecom.state.received("/cgi-bin/gettoken") == []
    assert fake_wecom.state.received("/cgi-bin/message/send") == []
    row = db.session.scalar(select(Notification))
    db.session.refresh(row)
    assert row.status == "logged" and row.attempts == 1


class Killed(BaseException):
    """The worker dies here (``kill -9``): nothing after this line runs, nothing commits."""


def _group_push() -> int:
    """A pending group-robot push, not yet delivered (as the outbox holds it)."""
    with unit_of_work(ServiceContext.system("cli")):
        row = Notification(channel="wecom_webhook", address="sales", subject="新工单 AS1",
                           body="", payload={"msgtype": "markdown"})
        db.session.add(row)
        db.session.flush()
        return row.id


def _after_the_lease(notification_id: int) -> str:
    """The worker is gone; once its lease ran out RQ's retry (or the relay) delivers again."""
    from datetime import timedelta

    from core.db import utcnow
    from core.notify import deliver

    db.session.rollback()
    db.session.remove()
    db.session.execute(update(Notification).where(Notification.id == notification_id)
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    return deliver(notification_id)


def test_a_group_push_confirmed_before_the_worker_died_is_not_posted_again(
        wecom_ctx, fake_wecom, monkeypatch):
    import pytest

    from core.notify import deliver
    from modules.wecom import channels

    notification_id = _group_push()

    def killed(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as patch:  # dies after WeCom's answer, before the row says sent
        patch.setattr(channels.WeComAppChannel, "_log", staticmethod(killed))
        with pytest.raises(Killed):
            deliver(notification_id)
    assert len(fake_wecom.state.received("/cgi-bin/webhook/send")) == 1
    assert _after_the_lease(notification_id) == "sent"
    assert len(fake_wecom.state.received("/cgi-bin/webhook/send")) == 1


def test_a_group_push_that_may_have_gone_out_is_not_posted_again_and_says_so(
        wecom_ctx, fake_wecom, monkeypatch):
    import pytest

    from core.notify import deliver
    from modules.wecom import channels

    notification_id = _group_push()

    def killed(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as patch:  # dies between WeCom's answer and the confirmation
        patch.setattr(channels, "_confirm", killed)
        with pytest.raises(Killed):
            deliver(notification_id)
    assert len(fake_wecom.state.received("/cgi-bin/webhook/send")) == 1
    assert _after_the_lease(notification_id) == "failed"  # at most once: no second post
    assert len(fake_wecom.state.received("/cgi-bin/webhook/send")) == 1
    row = db.session.get(Notification, notification_id)
    assert "无法确认是否已送达" in row.last_error and row.attempts == 2


def test_a_group_push_wecom_refused_is_tried_again(wecom_ctx, fake_wecom):
    import time

    from core.notify import deliver

    notification_id = _group_push()
    fake_wecom.state.fail_for(0.3, path="/cgi-bin/webhook/send", errcode=93000)
    assert deliver(notification_id) == "pending"  # WeCom answered no: nothing was posted
    time.sleep(0.4)
    assert _after_the_lease(notification_id) == "sent"
    assert len(fake_wecom.state.received("/cgi-bin/webhook/send")) == 2
