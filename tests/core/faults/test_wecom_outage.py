"""The WeCom API answering 5xx and rate-limit codes for a while: the messages wait in the
outbox and are delivered later, once each (issue 20 #3)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from core import notify
from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import installed_app
from tests.core.faults.conftest import wait_until
from tests.core.faults.conftest import wecom_members
from tests.core.faults.conftest import wecom_settings

pytestmark = pytest.mark.timeout(120)
FAULT_SECONDS = 5


@pytest.fixture
def wecom_outbox_app(databases: Any, instance_dir: Any, fake_wecom: Any) -> Iterator[Any]:
    # A key of its own: the robot's 20-a-minute window is kept per key in the process.
    key = f"fault-key-{uuid.uuid4().hex[:8]}"
    settings = {**wecom_settings(fake_wecom), "WECOM_WEBHOOK_KEYS": f'{{"service": "{key}"}}',
                "TANDEM_OUTBOX_BACKOFF": [2], "WECOM_RATE_LIMIT_RETRY_SECONDS": 1}
    with installed_app(databases, instance_dir, ["demo_a", "wecom"], **settings) as app, \
            app.app_context():
        yield app
        db.session.remove()


@pytest.mark.usefixtures("wecom_outbox_app")
def test_wecom_failing_for_a_while_delays_messages_and_sends_each_once(fake_wecom):
    state = fake_wecom.state
    members = wecom_members(5, "busy")
    state.fail_for(FAULT_SECONDS, status=502)  # app messages: a gateway error page
    state.fail_for(FAULT_SECONDS, path="/cgi-bin/webhook/send", errcode=45009)  # rate limit
    ctx = ServiceContext.system("job")
    with unit_of_work(ctx):  # delivered at once after the commit: WeCom fails each
        for n in range(10):
            notify.notify(ctx, [members[n % 5]], f"派工单 D-{n}", channels=("wecom",),
                          dedupe_key=f"fault.wecom:{n}")
        for n in range(5):
            notify.notify(ctx, [], f"服务群通知 {n}", channels=("wecom_webhook",),
                          address="service", dedupe_key=f"fault.webhook:{n}")
    rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert {(r.channel, r.status) for r in rows} == {("wecom", "pending"),
                                                     ("wecom_webhook", "pending")}, [
        (r.channel, r.status, r.attempts, r.last_error) for r in rows]
    assert state.delivered == []
    assert all("HTTP 502" in r.last_error for r in rows if r.channel == "wecom")

    def relayed() -> bool:  # the periodic relay, run here every half second
        notify.relay()
        db.session.expire_all()
        return {r.status for r in db.session.scalars(select(Notification))} == {"sent"}

    assert wait_until(relayed, 40, step=0.5), [
        (r.channel, r.status, r.attempts, r.last_error)
        for r in db.session.scalars(select(Notification))]
    app_messages = [m["markdown"]["content"] for m in state.delivered_to()]
    pushes = [m["markdown"]["content"] for m in state.delivered_to("/cgi-bin/webhook/send")]
    assert len(app_messages) == 10 and max(Counter(app_messages).values()) == 1
    assert len(pushes) == 5 and max(Counter(pushes).values()) == 1
    # Each was tried while WeCom failed, and sent once it answered again.
    assert len(state.received("/cgi-bin/message/send")) > 10
    assert len(state.received("/cgi-bin/webhook/send")) > 5
    rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert all(r.attempts >= 2 for r in rows if r.channel == "wecom"), [  # 5xx: a failed try
        (r.channel, r.attempts) for r in rows]
    assert all(r.attempts == 1 for r in rows if r.channel == "wecom_webhook"), [  # 45009
        (r.channel, r.attempts) for r in rows]  # waits: not counted as a failed try
