"""A customer's picture that cannot be received (the download fails, or the photo is
refused) is on the ticket's timeline for staff, and the customer is asked once, on the
official account he sent it to, to send it again. Pictures of an intake that never made a
ticket are deleted by a daily job after ``service_wecom.waiting_picture_days``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core import jobs
from core.audit import AuditLog
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from core.settings import set_setting
from modules.service.models import Ticket
from modules.service.services.photos import photos
from modules.service.services.tickets import action_log
from modules.service_wecom.models import Intake
from modules.service_wecom.models import Picture
from tests.modules.service_wecom.test_pictures import verified_customer
from tests.modules.service_wecom.test_seed001_e2e import _oa
from tests.modules.service_wecom.test_seed001_e2e import _oa_image
from tests.modules.service_wecom.test_seed001_e2e import ctx_app  # noqa: F401
from tests.modules.service_wecom.test_seed001_e2e import oa_app  # noqa: F401
from tests.modules.wecom.conftest import official_account_api

SEND = "/cgi-bin/message/custom/send"


@pytest.fixture
def oa_api(ctx_app: Any, fake_wecom: Any) -> Any:  # noqa: F811
    """The official account's API configured (AppID, AppSecret) on the fake."""
    with official_account_api(fake_wecom):
        yield fake_wecom
    with fake_wecom.state.lock:
        fake_wecom.state.faults.clear()


def _reported(client: Any) -> Ticket:
    verified_customer("张三", "13800138000", "openid-zs")
    assert "工单已提交" in _oa(client, "openid-zs", "维修 3楼空调不制冷")
    return db.session.scalar(select(Ticket))


def _timeline(ticket_id: int) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(row.action, row.note) for row in action_log(ticket_id)
            if row.action == "photo_failed"]


def test_a_picture_that_cannot_be_downloaded_is_on_the_timeline_and_the_customer_told_once(
        ctx_app, oa_api):  # noqa: F811
    client = ctx_app.test_client()
    ticket = _reported(client)
    gone = f"{oa_api.base_url}/mmbiz/expired.jpg"  # WeChat's address no longer serves it

    assert ticket.ticket_no in _oa_image(client, "openid-zs", gone, msgid="9101")
    db.session.expire_all()
    picture = db.session.get(Picture, "9101")
    assert picture.status == "failed" and picture.notified_at is not None
    assert photos(ticket.id) == []
    [(_action, note)] = _timeline(ticket.id)
    assert "照片未能接收" in note and "下载失败" in note
    [told] = oa_api.state.delivered_to(SEND)
    assert told["touser"] == "openid-zs" and told["msgtype"] == "text"
    assert "照片未能接收" in told["text"]["content"] and "请重新发送" in told["text"]["content"]
    assert ticket.ticket_no in told["text"]["content"]

    # WeChat's retry of the message, and the jobs run again: nothing new for anyone.
    _oa_image(client, "openid-zs", gone, msgid="9101")
    assert jobs.run_job("service_wecom.attach_picture", ["9101"]) == "failed"
    assert jobs.run_job("service_wecom.tell_picture_failed", ["9101"]) == "skipped"
    assert len(oa_api.state.delivered_to(SEND)) == 1 and len(_timeline(ticket.id)) == 1


def test_a_refused_photo_is_told_too(ctx_app, oa_api):  # noqa: F811
    client = ctx_app.test_client()
    ticket = _reported(client)
    oa_api.state.pictures["not-a-photo.jpg"] = b"<html>not a picture</html>"
    _oa_image(client, "openid-zs", f"{oa_api.base_url}/mmbiz/not-a-photo.jpg", msgid="9201")
    db.session.expire_all()
    assert db.session.get(Picture, "9201").status == "failed"
    assert len(_timeline(ticket.id)) == 1
    assert [m["touser"] for m in oa_api.state.delivered_to(SEND)] == ["openid-zs"]


def test_a_customer_who_cannot_be_told_is_left_to_staff_on_the_timeline(ctx_app, oa_api):  # noqa: F811
    client = ctx_app.test_client()
    ticket = _reported(client)
    oa_api.state.oa_out_of_window.add("openid-zs")  # WeChat: 45015, no message in 48 h
    _oa_image(client, "openid-zs", f"{oa_api.base_url}/mmbiz/expired.jpg", msgid="9301")
    notes = [note for _action, note in _timeline(ticket.id)]
    assert len(notes) == 2 and "请联系客户" in notes[1] and "48 小时" in notes[1]
    assert oa_api.state.delivered_to(SEND) == []
    # Not tried again: the error cannot be mended by a retry.
    assert jobs.run_job("service_wecom.tell_picture_failed", ["9301"]) == "skipped"


def test_without_the_official_accounts_secret_staff_read_why(ctx_app, oa_api):  # noqa: F811
    client = ctx_app.test_client()
    ticket = _reported(client)
    with unit_of_work(ServiceContext.system("cli")):
        set_setting("wecom.oa_app_secret", "")
    _oa_image(client, "openid-zs", f"{oa_api.base_url}/mmbiz/expired.jpg", msgid="9401")
    notes = [note for _action, note in _timeline(ticket.id)]
    assert len(notes) == 2 and "AppSecret" in notes[1]


def test_wechat_busy_leaves_the_customer_to_be_told_by_a_later_run(ctx_app, oa_api):  # noqa: F811
    client = ctx_app.test_client()
    ticket = _reported(client)
    oa_api.state.fail_for(60, path=SEND, status=502)
    _oa_image(client, "openid-zs", f"{oa_api.base_url}/mmbiz/expired.jpg", msgid="9501")
    db.session.expire_all()
    assert db.session.get(Picture, "9501").notified_at is None  # the claim rolled back
    assert oa_api.state.delivered_to(SEND) == []
    with oa_api.state.lock:
        oa_api.state.faults.clear()
    assert jobs.run_job("service_wecom.tell_picture_failed", ["9501"]) == "told"
    assert jobs.run_job("service_wecom.tell_picture_failed", ["9501"]) == "skipped"
    assert len(oa_api.state.delivered_to(SEND)) == 1 and len(_timeline(ticket.id)) == 1


def test_a_download_that_may_work_later_is_tried_again_before_anyone_is_told(
        ctx_app, oa_api, monkeypatch):  # noqa: F811
    """WeChat's image server busy (5xx): while RQ has retries left the job fails and the
    picture waits; the last try tells. An address gone (404) is failed at once."""
    from modules.service_wecom import services
    from tests.core.storage.test_storage import jpeg_with_gps

    client = ctx_app.test_client()
    ticket = _reported(client)
    oa_api.state.pictures["busy.jpg"] = jpeg_with_gps()
    busy = f"{oa_api.base_url}/mmbiz/busy.jpg"
    oa_api.state.fail_for(60, path="/mmbiz/busy.jpg", status=502)
    monkeypatch.setattr(services, "_retries_left", lambda: True)

    _oa_image(client, "openid-zs", busy, msgid="9601")  # the job fails: RQ tries again
    db.session.expire_all()
    assert db.session.get(Picture, "9601").status == "pending"
    assert _timeline(ticket.id) == [] and oa_api.state.delivered_to(SEND) == []
    with oa_api.state.lock:
        oa_api.state.faults.clear()
    assert jobs.run_job("service_wecom.attach_picture", ["9601"]) == "attached"
    assert len(photos(ticket.id)) == 1

    _oa_image(client, "openid-zs", f"{oa_api.base_url}/mmbiz/gone.jpg", msgid="9602")
    db.session.expire_all()
    assert db.session.get(Picture, "9602").status == "failed"  # 404: no retry helps
    assert len(oa_api.state.delivered_to(SEND)) == 1

    oa_api.state.fail_for(60, path="/mmbiz/busy.jpg", status=502)
    monkeypatch.setattr(services, "_retries_left", lambda: False)  # the last try
    _oa_image(client, "openid-zs", busy, msgid="9603")
    db.session.expire_all()
    assert db.session.get(Picture, "9603").status == "failed"
    assert len(_timeline(ticket.id)) == 2 and len(oa_api.state.delivered_to(SEND)) == 2


def _picture(msgid: str, received_at: Any, *, ticket_id: int | None = None,
             status: str = "pending") -> None:
    db.session.add(Picture(msgid=msgid, openid="openid-zs", pic_url="http://127.0.0.1/x.jpg",
                           ticket_id=ticket_id, status=status, received_at=received_at))


def test_pictures_of_an_abandoned_intake_are_deleted_after_the_set_days(ctx_app):  # noqa: F811
    registry = ctx_app.extensions["tandem_registry"]
    assert registry.jobs["service_wecom.purge_waiting_pictures"].schedule
    assert registry.settings["service_wecom.waiting_picture_days"].default == 7
    client = ctx_app.test_client()
    ticket = _reported(client)
    ctx = ServiceContext.system("cli")
    now = ctx.now
    with unit_of_work(ctx):
        _picture("old-waiting", now - timedelta(days=8))
        _picture("four-days", now - timedelta(days=4))
        _picture("new-waiting", now - timedelta(hours=3))
        _picture("old-on-ticket", now - timedelta(days=8), ticket_id=ticket.id)
        _picture("old-failed", now - timedelta(days=8), ticket_id=ticket.id, status="failed")
        db.session.add(Intake(openid="openid-gone", ticket_type="repair",
                              started_at=now - timedelta(hours=2)))
        db.session.add(Intake(openid="openid-typing", ticket_type="repair", started_at=now))

    assert jobs.run_job("service_wecom.purge_waiting_pictures") == 1
    db.session.expire_all()
    assert set(db.session.scalars(select(Picture.msgid))) == {
        "four-days", "new-waiting", "old-on-ticket", "old-failed"}
    assert list(db.session.scalars(select(Intake.openid))) == ["openid-typing"]
    [entry] = db.session.scalars(select(AuditLog).where(
        AuditLog.model == "service_wecom_picture")).all()
    assert (entry.record_id, entry.action, entry.source) == ("old-waiting", "purge", "job")
    assert entry.changes["openid"] == "openid-zs"

    with unit_of_work(ServiceContext.system("cli")):
        set_setting("service_wecom.waiting_picture_days", 3)
    assert jobs.run_job("service_wecom.purge_waiting_pictures") == 1
    db.session.expire_all()
    assert "four-days" not in set(db.session.scalars(select(Picture.msgid)))
