"""Ticket photos: added by the ticket's workers through one service (web form, API, the
offline sync batch), checked by content, limited in size and number, EXIF removed, stored
through core.storage (local folder; S3 against moto's server) and served only to those who
may see the ticket (signed short-lived URLs from S3)."""

from __future__ import annotations

import base64
import io

import pytest
import requests

from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from core.storage import StorageError
from core.storage import build_storage
from core.storage import get_storage
from modules.service.api import out
from modules.service.models import Ticket
from modules.service.models import TicketActionLog
from modules.service.models import TicketPhoto
from modules.service.services import photos
from modules.service.services import sync
from modules.service.services import tickets as svc
from tests.conftest import login
from tests.core.storage.test_storage import jpeg_with_gps
from tests.fake_s3 import fake_s3
from tests.modules.crm.factories import api_callers
from tests.modules.service.factories import act
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import make_ticket
from tests.modules.service.factories import service_people
from tests.modules.service.factories import set_settings


def png_bytes(color: str = "blue") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (120, 90), color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def people(app_ctx, make_user):
    set_settings(dispatch_mode="manual", photo_max_count=3, photo_max_mb=1)
    return service_people(make_user)


@pytest.fixture
def mine(people):
    ticket = make_ticket(make_customer(people["sales"]))
    act(people["li"], svc.claim_ticket, ticket.id)
    return ticket


def test_add_photo_checks_and_stores(people, mine):
    li = people["li"]
    photo = act(li, photos.add_photo, mine.id, jpeg_with_gps(), "start", "拆机前")
    assert (photo.content_type, photo.width, photo.height) == ("image/jpeg", 640, 480)
    stored = get_storage().get(photo.storage_key)
    from PIL import Image

    assert not Image.open(io.BytesIO(stored)).getexif().get_ifd(0x8825)  # no GPS kept
    log = db.session.query(TicketActionLog).filter_by(ticket_id=mine.id, action="photo").one()
    assert log.note == "拆机前" and log.data["photo_id"] == photo.id
    with pytest.raises(ValidationError) as bad:
        act(li, photos.add_photo, mine.id, b"%PDF-1.4 not an image")
    assert "photo" in bad.value.fields
    big = io.BytesIO()
    import random

    from PIL import Image as Img

    noise = random.Random(1).randbytes(800 * 800 * 3)
    Img.frombytes("RGB", (800, 800), noise).save(big, "PNG")
    assert len(big.getvalue()) > 1024 * 1024
    with pytest.raises(ValidationError, match="1 MB"):
        act(li, photos.add_photo, mine.id, big.getvalue())
    act(li, photos.add_photo, mine.id, png_bytes())
    act(li, photos.add_photo, mine.id, png_bytes("red"))
    with pytest.raises(UserError, match="最多 3 张"):
        act(li, photos.add_photo, mine.id, png_bytes("green"))
    # Not his ticket: another engineer may not add nor delete.
    with pytest.raises(NotFoundError):  # he cannot even see it
        act(people["zhang"], photos.add_photo, mine.id, png_bytes())
    with pytest.raises(NotFoundError):
        act(people["zhang"], photos.delete_photo, photo.id)
    act(li, photos.delete_photo, photo.id)
    assert db.session.get(TicketPhoto, photo.id) is None
    with pytest.raises(StorageError):
        get_storage().get(photo.storage_key)


def test_only_uploader_or_manager_deletes(people, mine):
    act(people["li"], svc.add_collaborator, mine.id, people["zhang"].id)
    photo = act(people["li"], photos.add_photo, mine.id, png_bytes())
    with pytest.raises(PermissionDenied):
        act(people["zhang"], photos.delete_photo, photo.id)
    act(people["manager"], photos.delete_photo, photo.id)


def test_pages_upload_and_serve_with_access_checks(client, people, mine):
    login(client, people["li"])
    r = client.post(f"/service/tickets/{mine.id}/photos", data={
        "phase": "finish", "caption": "完工",
        "photos": [(io.BytesIO(png_bytes()), "a.png"), (io.BytesIO(jpeg_with_gps()), "b.jpg")]},
        content_type="multipart/form-data", follow_redirects=True)
    assert "已上传 2 张照片" in r.get_data(as_text=True)
    rows = photos.photos(mine.id)
    assert [p.phase for p in rows] == ["finish", "finish"]
    html = client.get(f"/service/tickets/{mine.id}").get_data(as_text=True)
    assert f"/service/photos/{rows[0].id}" in html and "完工" in html
    got = client.get(f"/service/photos/{rows[0].id}")
    assert got.status_code == 200 and got.mimetype == "image/png"
    assert got.headers["Cache-Control"].startswith("private")
    refused = client.post(f"/service/tickets/{mine.id}/photos", data={
        "photos": [(io.BytesIO(b"<html>"), "evil.png")]}, content_type="multipart/form-data",
        follow_redirects=True)
    assert "JPEG、PNG 或 WebP" in refused.get_data(as_text=True)
    # Another engineer cannot see the ticket, so not its photos either.
    client.post("/logout")
    login(client, people["zhang"])
    assert client.get(f"/service/photos/{rows[0].id}").status_code == 404
    assert client.get("/service/photos/999999").status_code == 404
    # The salesperson of the customer may see the ticket and its photos.
    client.post("/logout")
    login(client, people["sales"])
    assert client.get(f"/service/photos/{rows[0].id}").status_code == 200


def test_api_photos(client, people, mine):
    api = api_callers(client, people)
    data = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    r = api("li").post(f"/api/v1/tickets/{mine.id}/photos",
                       json={"data": data, "phase": "start", "caption": "到场"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["content_type"] == "image/png" and body["phase"] == "start"
    listed = api("sales").get(f"/api/v1/tickets/{mine.id}/photos").get_json()["data"]
    assert [p["id"] for p in listed] == [body["id"]]
    content = api("sales").get(body["url"])
    assert content.status_code == 200 and content.data.startswith(b"\x89PNG")
    assert api("zhang").get(body["url"]).status_code == 404
    assert api("zhang").get(f"/api/v1/tickets/{mine.id}/photos").status_code == 404
    bad = api("li").post(f"/api/v1/tickets/{mine.id}/photos", json={"data": "bm90IGltYWdl"})
    assert bad.status_code == 422


def test_sync_batch_applies_offline_photos(people, mine):
    li = people["li"]
    data = "data:image/jpeg;base64," + base64.b64encode(jpeg_with_gps()).decode()
    ctx = ServiceContext(actor=li, source="api")
    with unit_of_work(ctx):
        results = sync.apply_batch(ctx, [
            {"id": "p1", "type": "photo", "ticket_id": mine.id,
             "payload": {"photo": data, "phase": "start", "caption": "离线拍的"}},
            {"id": "p2", "type": "photo", "ticket_id": mine.id,
             "payload": {"photo": "data:image/png;base64,!!!"}},
        ], out)
    assert [r["status"] for r in results] == ["applied", "error"]
    rows = photos.photos(mine.id)
    assert len(rows) == 1 and rows[0].caption == "离线拍的" and rows[0].source == "api"
    # Transferred meanwhile: the queued photo is a conflict, not silently added.
    act(li, svc.transfer_ticket, mine.id, people["zhang"].id, "改派")
    with unit_of_work(ctx):
        late = sync.apply_batch(ctx, [{"id": "p3", "type": "photo", "ticket_id": mine.id,
                                       "assignee_id": li.id, "payload": {"photo": data}}], out)
    assert late[0]["status"] == "conflict" and len(photos.photos(mine.id)) == 1


@pytest.fixture
def s3_store(app):
    """The app's storage switched to a fake S3 (moto's server on loopback) for one test."""
    with fake_s3() as config:
        previous = app.extensions.get("tandem_storage")
        app.extensions["tandem_storage"] = build_storage(config, app.instance_path)
        try:
            yield config
        finally:
            app.extensions["tandem_storage"] = previous


def test_photos_in_s3_are_served_as_signed_urls(client, people, mine, s3_store):
    photo = act(people["li"], photos.add_photo, mine.id, png_bytes())
    login(client, people["sales"])
    r = client.get(f"/service/photos/{photo.id}")
    assert r.status_code == 302
    signed = r.headers["Location"]
    assert signed.startswith(s3_store["TANDEM_S3_ENDPOINT_URL"]) and "X-Amz-Expires=300" in signed
    fetched = requests.get(signed, timeout=5)
    assert fetched.status_code == 200 and fetched.content.startswith(b"\x89PNG")
    assert requests.get(signed.split("?")[0], timeout=5).status_code == 403  # private bucket
    client.post("/logout")
    login(client, people["zhang"])
    assert client.get(f"/service/photos/{photo.id}").status_code == 404
    act(people["li"], photos.delete_photo, photo.id)
    assert requests.get(signed, timeout=5).status_code == 404
    assert db.session.get(Ticket, mine.id) is not None


def test_a_deleted_photos_file_goes_only_when_the_deletion_commits(people, mine):
    """A failed commit keeps the photo's row: its file must still be there."""
    li = people["li"]
    photo = act(li, photos.add_photo, mine.id, png_bytes())
    key = photo.storage_key
    ctx = ServiceContext(actor=li, source="web")
    with pytest.raises(RuntimeError), unit_of_work(ctx):
        photos.delete_photo(ctx, photo.id)
        raise RuntimeError("the commit fails")
    db.session.expire_all()
    assert db.session.get(TicketPhoto, photo.id) is not None
    assert get_storage().get(key)
    act(li, photos.delete_photo, photo.id)
    with pytest.raises(StorageError):
        get_storage().get(key)


def test_a_photo_added_in_a_rolled_back_transaction_leaves_no_file(people, mine):
    li = people["li"]
    ctx = ServiceContext(actor=li, source="web")
    with pytest.raises(RuntimeError), unit_of_work(ctx):
        photo = photos.add_photo(ctx, mine.id, png_bytes())
        key = photo.storage_key
        assert get_storage().get(key)
        raise RuntimeError("the commit fails")
    db.session.expire_all()
    assert photos.photos(mine.id) == []
    with pytest.raises(StorageError):
        get_storage().get(key)


def test_the_api_serves_an_image_under_a_policy_that_runs_nothing(client, people, mine):
    api = api_callers(client, people)
    photo = act(people["li"], photos.add_photo, mine.id, png_bytes())
    served = api("li").get(f"/api/v1/photos/{photo.id}/content")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"] == "private, max-age=60"
