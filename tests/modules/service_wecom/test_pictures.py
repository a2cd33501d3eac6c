"""Pictures customers send to the official account: the callback answers at once (WeChat
waits 5 s and then retries) and a job downloads the picture and puts it on the ticket, once
per WeChat ``MsgId`` however often the message or the job is repeated."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.app import create_app
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.service.models import Ticket
from modules.service.services.photos import photos
from modules.wecom_crm.models import Binding
from tests.conftest import base_config
from tests.conftest import shared_redis_url
from tests.core.storage.test_storage import jpeg_with_gps
from tests.modules.service_wecom.test_seed001_e2e import OA_TOKEN
from tests.modules.service_wecom.test_seed001_e2e import _oa
from tests.modules.service_wecom.test_seed001_e2e import _oa_image
from tests.modules.service_wecom.test_seed001_e2e import _user
from tests.modules.service_wecom.test_seed001_e2e import ctx_app  # noqa: F401
from tests.modules.service_wecom.test_seed001_e2e import oa_app  # noqa: F401
from tests.modules.wecom.conftest import wecom_config

REDIS_URL = shared_redis_url(14)


def verified_customer(name: str, phone: str, openid: str) -> Any:
    """A customer whose official-account follower ``openid`` is verified."""
    from core.security.models import User
    from tests.modules.crm.factories import make_customer

    owner = db.session.scalar(select(User).where(User.username == "li.sales")) or \
        _user("li.sales", "sales", "李销售")
    customer = make_customer(owner, customer_name=name, phone=phone)
    with unit_of_work(ServiceContext.system("cli")):
        db.session.add(Binding(customer_id=customer.id, phone=phone, oa_openid=openid,
                               binding_status="linked", is_verified=True))
    return customer


@pytest.fixture
def redis_queue() -> Any:
    import redis
    from rq import Queue

    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    connection.flushdb()
    yield Queue("default", connection=connection)
    connection.flushdb()


@pytest.mark.redis
def test_the_callback_answers_before_the_download_and_a_job_attaches_it_once(
        ctx_app, fake_wecom, redis_queue, monkeypatch):  # noqa: F811
    import core.worker
    from core import jobs

    verified_customer("张三", "13800138000", "openid-zs")
    assert "工单已提交" in _oa(ctx_app.test_client(), "openid-zs", "维修 3楼空调不制冷")
    ticket = db.session.scalar(select(Ticket))
    fake_wecom.state.pictures["slow.jpg"] = jpeg_with_gps()
    url = f"{fake_wecom.base_url}/mmbiz/slow.jpg"
    fake_wecom.state.requests.clear()

    # A worker app on the same database with RQ: jobs are queued, not run in the request.
    app = create_app(base_config(
        ctx_app.config["SQLALCHEMY_DATABASE_URI"], ctx_app.instance_path, REDIS_URL=REDIS_URL,
        TANDEM_JOBS_EAGER=False, **wecom_config(fake_wecom, WECOM_OA_TOKEN=OA_TOKEN,
                                                WECOM_OA_PICTURE_HOSTS=["127.0.0.1"])))
    try:
        with app.app_context():
            client = app.test_client()
            # WeChat's delivery and its retry of the same message (same MsgId).
            for _ in range(2):
                answer = _oa_image(client, "openid-zs", url, msgid="7001")
                assert f"照片已收到，将附在工单 {ticket.ticket_no} 上" in answer or \
                    answer == "success"
            # Answered without fetching the picture; nothing attached yet; one job queued.
            assert fake_wecom.state.received("/mmbiz/slow.jpg") == []
            assert photos(ticket.id) == []
            queued = [j for j in redis_queue.get_jobs()
                      if j.args[0] == "service_wecom.attach_picture"]
            assert [j.args[1] for j in queued] == [["7001"]]

            monkeypatch.setattr(core.worker, "_app", app)
            core.worker.TandemWorker([redis_queue],
                                     connection=redis_queue.connection).work(burst=True)
            db.session.remove()
            assert [p.phase for p in photos(ticket.id)] == ["intake"]
            assert len(fake_wecom.state.received("/mmbiz/slow.jpg")) == 1
            # RQ runs a job at least once: a second run of the same job adds nothing.
            assert jobs.run_job("service_wecom.attach_picture", ["7001"]) == "attached"
            db.session.remove()
            assert len(photos(ticket.id)) == 1
            assert len(fake_wecom.state.received("/mmbiz/slow.jpg")) == 1
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_picture_goes_on_the_senders_own_ticket_not_a_colleagues(ctx_app, fake_wecom):  # noqa: F811
    # Two customers of one company, each with his own follower of the official account.
    verified_customer("华东工厂·张三", "13800138000", "openid-zhang")
    verified_customer("华东工厂·王五", "13900139000", "openid-wang")
    client = ctx_app.test_client()
    fake_wecom.state.pictures["wang.jpg"] = jpeg_with_gps()
    url = f"{fake_wecom.base_url}/mmbiz/wang.jpg"

    assert "工单已提交" in _oa(client, "openid-zhang", "维修 3楼空调不制冷")
    zhang_ticket = db.session.scalar(select(Ticket))
    # Wang reported nothing himself: his picture goes on no ticket of his colleague's.
    assert "请先发送" in _oa_image(client, "openid-wang", url, msgid="8001")
    assert photos(zhang_ticket.id) == []

    assert "工单已提交" in _oa(client, "openid-wang", "维修 仓库门禁坏了")
    wang_ticket = db.session.scalar(select(Ticket).where(Ticket.id != zhang_ticket.id))
    assert wang_ticket.ticket_no in _oa_image(client, "openid-wang", url, msgid="8002")
    assert len(photos(wang_ticket.id)) == 1 and photos(zhang_ticket.id) == []


def test_a_picture_sent_during_an_intake_goes_on_the_ticket_it_makes(ctx_app, fake_wecom):  # noqa: F811
    verified_customer("张三", "13800138000", "openid-zs")
    client = ctx_app.test_client()
    fake_wecom.state.pictures["door.jpg"] = jpeg_with_gps()
    url = f"{fake_wecom.base_url}/mmbiz/door.jpg"
    assert "工单已提交" in _oa(client, "openid-zs", "维修 3楼空调不制冷")
    earlier = db.session.scalar(select(Ticket))

    # A new problem: 维修, a picture of it, then its description.
    assert "请直接描述问题" in _oa(client, "openid-zs", "维修")
    assert "请继续描述问题" in _oa_image(client, "openid-zs", url, msgid="8101")
    assert fake_wecom.state.received("/mmbiz/door.jpg") == []
    assert "工单已提交" in _oa(client, "openid-zs", "仓库门禁坏了")
    new = db.session.scalar(select(Ticket).where(Ticket.id != earlier.id))
    assert len(photos(new.id)) == 1 and photos(earlier.id) == []
