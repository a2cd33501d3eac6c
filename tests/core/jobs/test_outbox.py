"""The notification outbox: same transaction, exactly once, retries, Redis down."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from core import notify
from core.extensions import db
from core.notify.models import InboxMessage
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import backend
from tests.conftest import base_config


def _user(name="u1", roles=("sales",)):
    from core.security.services import create_user

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        return create_user(ctx, name, roles=roles, password="secret-pass-1", phone="13800000000")


def _inbox(user):
    db.session.expire_all()
    return list(db.session.scalars(select(InboxMessage).where(InboxMessage.user_id == user.id)))


def test_notification_is_written_with_the_business_change_and_delivered(jobs_ctx):
    user = _user()
    with unit_of_work(ServiceContext.system("cli")):
        notify.notify(ServiceContext.system("cli"), [user], "新商机", "中央空调 10 台", url="/x")
    assert [m.title for m in _inbox(user)] == ["新商机"]
    assert notify.unread_count(user) == 1
    row = db.session.scalar(select(Notification))
    assert row.status == "sent" and row.attempts == 1


def test_nothing_is_sent_when_the_business_change_rolls_back(jobs_ctx):
    user = _user()
    with pytest.raises(RuntimeError), unit_of_work(ServiceContext.system("cli")):
        notify.notify(ServiceContext.system("cli"), [user], "x")
        raise RuntimeError("refused")
    assert _inbox(user) == [] and db.session.scalar(select(Notification)) is None


def test_delivery_job_running_twice_sends_once(jobs_ctx):
    user = _user()
    ctx = ServiceContext.system("cli")
    db.session.add(Notification(channel="inapp", recipient_id=user.id, subject="once"))
    db.session.commit()
    row_id = db.session.scalar(select(Notification.id))
    assert notify.deliver(row_id) == "sent"
    assert notify.deliver(row_id) == "skipped"
    assert len(_inbox(user)) == 1
    assert ctx.source == "cli"


@pytest.mark.skipif(backend() != "postgresql", reason="a real race needs PostgreSQL")
def test_concurrent_deliveries_send_once(jobs_app):
    with jobs_app.app_context():
        user = _user()
        db.session.add(Notification(channel="inapp", recipient_id=user.id, subject="race"))
        db.session.commit()
        row_id = db.session.scalar(select(Notification.id))
    results = []
    barrier = threading.Barrier(4)

    def worker():
        with jobs_app.app_context():
            barrier.wait()
            results.append(notify.deliver(row_id))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["sent", "skipped", "skipped", "skipped"]
    with jobs_app.app_context():
        assert len(_inbox(user)) == 1
    from tests.conftest import _clean

    _clean(jobs_app)


def test_failed_channel_retries_with_backoff_then_succeeds(jobs_ctx):
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        rows = notify.notify(ctx, [], "无手机号", channels=("sms",))  # no address: fails
    row = db.session.get(Notification, rows[0].id)
    db.session.refresh(row)
    assert row.status == "pending" and row.attempts == 1 and "no phone" in row.last_error
    row.address, row.next_attempt_at = "13800000000", ctx.now
    db.session.commit()
    assert notify.relay() == 1
    db.session.refresh(row)
    # No SMS provider is configured: the message was only written to the log.
    assert row.status == "logged" and row.attempts == 2


def test_dedupe_key_makes_repeats_no_ops(jobs_ctx):
    user = _user()
    ctx = ServiceContext.system("cli")
    for _ in range(2):
        with unit_of_work(ctx):
            notify.notify(ctx, [user], "提醒", dedupe_key="pool.reminder:1:2026-11-24")
    assert len(_inbox(user)) == 1


def test_a_written_function_gives_each_user_his_own_language(jobs_ctx):
    from flask_babel import gettext

    zh, en = _user("u-zh"), _user("u-en")
    en.locale = "en"
    db.session.commit()
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        notify.notify(ctx, [zh, en.id], lambda: gettext("通知"), lambda: gettext("是"))
        notify.notify_admins(ctx, body=lambda: gettext("否"))  # no admin: nobody
    assert [(m.title, m.body) for m in _inbox(zh)] == [("通知", "是")]
    assert [(m.title, m.body) for m in _inbox(en)] == [("Notifications", "Yes")]


@pytest.mark.redis
def test_nothing_lost_while_redis_is_down(jobs_app, redis_server):
    from core.app import create_app

    app = create_app(
        base_config(
            jobs_app.config["SQLALCHEMY_DATABASE_URI"],
            jobs_app.instance_path,
            REDIS_URL=redis_server.url,
            TANDEM_JOBS_EAGER=False,
        )
    )
    with app.app_context():
        user = _user("redis-down")
        redis_server.stop()
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):  # the business change commits although Redis is down
            notify.notify(ctx, [user], "Redis 停机期间的通知")
        row = db.session.scalar(select(Notification))
        assert row.status == "pending" and _inbox(user) == []
        redis_server.start()
        assert notify.relay() == 1  # the periodic relay delivers what was never enqueued
        assert notify.relay() == 0
        assert [m.title for m in _inbox(user)] == ["Redis 停机期间的通知"]
        db.session.remove()
    from tests.conftest import _clean

    _clean(jobs_app)


@pytest.mark.parametrize("channel", ["sms", "log"])
def test_a_channel_that_only_logs_marks_the_row_logged_not_sent(jobs_ctx, channel):
    user = _user()
    db.session.add(Notification(channel=channel, recipient_id=user.id, subject="回访提醒",
                                body="明天上午"))
    db.session.commit()
    row_id = db.session.scalar(select(Notification.id))
    assert notify.deliver(row_id) == "logged"
    db.session.expire_all()
    row = db.session.get(Notification, row_id)
    assert row.status == "logged" and row.sent_at is not None
    assert notify.deliver(row_id) == "skipped"  # never picked up again


def test_an_sms_through_a_real_provider_is_sent(jobs_ctx, monkeypatch):
    from flask import current_app

    sent = []

    class Provider:
        def send(self, phone, text):
            sent.append((phone, text))

    monkeypatch.setitem(current_app.config, "TANDEM_SMS_PROVIDER", f"{__name__}:_Provider")
    globals()["_Provider"] = Provider
    user = _user()
    db.session.add(Notification(channel="sms", recipient_id=user.id, subject="回访提醒"))
    db.session.commit()
    row_id = db.session.scalar(select(Notification.id))
    assert notify.deliver(row_id) == "sent"
    assert sent == [("13800000000", "回访提醒")]
