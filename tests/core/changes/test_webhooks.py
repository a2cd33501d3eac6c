"""Issue 19 #5, webhook subscriptions: each event delivered once per subscription to a
loopback HTTP server of the test, signed (HMAC-SHA256, verifiable with the secret),
retried with back-off after 500s and timeouts, never sent to a non-http(s) URL; the admin
page and its delivery log."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import update

from core.changes import webhooks
from core.changes.models import WebhookDelivery
from core.changes.models import WebhookSubscription
from core.db import utcnow
from core.extensions import db
from core.jobs import run_job
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm.models.customer import Customer
from tests.conftest import login
from tests.modules.crm.factories import api_callers
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_people

SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """A loopback HTTP server answering each POST with the next programmed status."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(app):
    """A loopback receiver: private destinations allowed while it runs."""
    app.config["TANDEM_WEBHOOK_ALLOW_PRIVATE"] = True
    r = Receiver()
    yield r
    r.close()
    app.config.pop("TANDEM_WEBHOOK_ALLOW_PRIVATE")


@pytest.fixture
def people(app_ctx: Any, make_user: Any) -> dict[str, Any]:
    return make_people(make_user)


@pytest.fixture
def api(client: Any, people: dict[str, Any]) -> Any:
    return api_callers(client, people)


def subscribe(api: Any, url: str, **extra: Any) -> dict:
    response = api("admin").post("/api/v1/webhooks", json={
        "name": "ERP", "url": url, "secret": SECRET, **extra})
    assert response.status_code == 201, response.json
    return response.json


def relay() -> None:
    run_job("core.webhooks.relay")
    db.session.expire_all()


def make_due() -> None:
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
    db.session.commit()


def verify(headers: dict[str, str], body: bytes, secret: str = SECRET) -> bool:
    timestamp = headers["X-Tandem-Timestamp"]
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(headers["X-Tandem-Signature"], "sha256=" + mac.hexdigest())


def test_an_event_is_delivered_signed_and_the_signature_verifies(people, api, receiver):
    created = subscribe(api, receiver.url, modules=["crm"])
    assert created["secret"] == SECRET
    customer = make_customer(people["a"])
    relay()
    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    assert verify(headers, body)
    assert not verify(headers, body, secret="another-secret-123")
    assert not verify(headers, body + b" ")  # a changed body does not verify
    event = json.loads(body)
    assert (event["model"], event["record_id"], event["action"]) == (
        "crm_customer", str(customer.id), "create")
    assert event["data"]["customer_name"] == customer.customer_name
    assert headers["X-Tandem-Event"] == event["cursor"]
    row = db.session.scalar(select(WebhookDelivery))
    assert (row.status, row.attempts, row.response_status) == ("sent", 1, 200)
    # The delivery log through the API.
    log = api("admin").get(f"/api/v1/webhooks/{created['id']}/deliveries").json["data"]
    assert [(d["status"], d["attempts"]) for d in log] == [("sent", 1)]


def test_500s_are_retried_with_back_off_until_delivered(people, api, receiver):
    subscribe(api, receiver.url)
    receiver.statuses = [500, 503]
    make_customer(people["a"])
    relay()
    row = db.session.scalar(select(WebhookDelivery))
    assert (row.status, row.attempts, row.response_status) == ("pending", 1, 500)
    assert row.next_attempt_at > utcnow()  # back-off: not due at once
    relay()
    assert len(receiver.requests) == 1  # not due yet: nothing sent
    make_due()
    relay()
    row = db.session.scalar(select(WebhookDelivery))
    assert (row.status, row.attempts, row.response_status) == ("pending", 2, 503)
    make_due()
    relay()
    row = db.session.scalar(select(WebhookDelivery))
    assert (row.status, row.attempts, row.response_status) == ("sent", 3, 200)
    assert len({h["X-Tandem-Delivery"] for h, _b in receiver.requests}) == 1
    assert len(receiver.requests) == 3


def test_after_the_last_attempt_a_delivery_is_failed(people, api, receiver):
    subscribe(api, receiver.url)
    receiver.statuses = [500] * webhooks.MAX_ATTEMPTS
    make_customer(people["a"])
    for _ in range(webhooks.MAX_ATTEMPTS):
        relay()
        make_due()
    row = db.session.scalar(select(WebhookDelivery))
    assert (row.status, row.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
    relay()
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS


def test_a_timeout_is_a_failed_attempt(people, api, receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "TIMEOUT", (1, 0.3))
    subscribe(api, receiver.url)
    receiver.delay = 1.0
    make_customer(people["a"])
    relay()
    row = db.session.scalar(select(WebhookDelivery))
    assert row.status == "pending" and "Timeout" in row.last_error


def test_exactly_one_delivery_per_event_per_subscription(people, api, receiver):
    subscribe(api, receiver.url)
    second = Receiver()
    try:
        subscribe(api, second.url)
        customer = make_customer(people["a"])
        with unit_of_work(ServiceContext.system("cli")):
            db.session.get(Customer, customer.id).customer_name = "改名"
        relay()
        relay()  # nothing new: nothing sent again
        for delivery in db.session.scalars(select(WebhookDelivery)):
            assert webhooks.deliver(delivery.id) == "skipped"  # a job run twice
        assert [json.loads(b)["action"] for _h, b in receiver.requests] == ["create", "update"]
        assert [json.loads(b)["action"] for _h, b in second.requests] == ["create", "update"]
        assert db.session.scalar(select(db.func.count(WebhookDelivery.id))) == 4
    finally:
        second.close()


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "javascript:alert(1)",
                                 "gopher://127.0.0.1:70/", "127.0.0.1:8000/hook",
                                 "http://user:pw@127.0.0.1/hook", "http:///nohost"])
def test_non_http_urls_are_refused(api, url):
    response = api("admin").post("/api/v1/webhooks", json={"name": "x", "url": url})
    assert response.status_code == 422, response.json
    assert "url" in response.json["error"]["fields"]


def test_no_delivery_to_a_url_that_became_disallowed(people, api, receiver):
    created = subscribe(api, receiver.url)
    db.session.execute(update(WebhookSubscription)
                       .where(WebhookSubscription.id == created["id"])
                       .values(url="file:///etc/passwd"))
    db.session.commit()
    make_customer(people["a"])
    relay()
    row = db.session.scalar(select(WebhookDelivery))
    assert row.status == "pending" and "http" in row.last_error
    assert receiver.requests == []


def test_a_paused_subscription_gets_nothing_and_only_admins_manage_them(people, api, receiver):
    created = subscribe(api, receiver.url)
    assert api("admin").patch(f"/api/v1/webhooks/{created['id']}",
                              json={"active": False}).json["active"] is False
    make_customer(people["a"])
    relay()
    assert receiver.requests == []
    assert api("a").get("/api/v1/webhooks").status_code == 403
    assert api("manager").post("/api/v1/webhooks", json={
        "name": "x", "url": receiver.url}).status_code == 403
    assert api("admin").delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert db.session.scalar(select(WebhookSubscription)) is None


def test_admin_page_adds_a_subscription_and_shows_the_delivery_log(client, people, receiver):
    login(client, people["admin"])
    response = client.post("/admin/webhooks", data={
        "name": "仓库系统", "url": receiver.url, "modules": ["crm"]})
    assert response.status_code == 200  # the secret shown once, in this answer
    subscription = db.session.scalar(select(WebhookSubscription))
    assert subscription.modules == ["crm"] and len(subscription.secret) >= 16
    assert subscription.secret in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert subscription.secret not in (response.headers.get("Set-Cookie") or "")
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert subscription.secret not in page  # only once
    make_customer(people["a"])
    relay()
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert "仓库系统" in page and "crm_customer" in page and "已送达" in page
    bad = client.post("/admin/webhooks", data={"name": "坏", "url": "ftp://x"},
                      follow_redirects=True).get_data(as_text=True)
    assert "只接受 http:// 或 https://" in bad
    other = client.application.test_client()
    login(other, people["a"])
    assert other.get("/admin/webhooks").status_code == 403


def test_a_private_address_is_refused_unless_allowed(app_ctx):
    """SSRF: the server does not post to its own network (loopback, private, link-local)."""
    from core.changes.webhooks import private_destination

    for url in ("http://127.0.0.1:6379/", "http://10.0.0.5/hook", "http://169.254.169.254/x",
                "http://[::1]/x", "http://localhost/x"):
        assert private_destination(url), url
    app_ctx.config["TANDEM_WEBHOOK_ALLOW_PRIVATE"] = True
    try:
        assert not private_destination("http://127.0.0.1:6379/")
    finally:
        app_ctx.config.pop("TANDEM_WEBHOOK_ALLOW_PRIVATE")


def test_the_relay_stops_at_its_time_budget_and_the_rest_goes_next_run(people, api, receiver,
                                                                         monkeypatch):
    """Due retries are sent within a time budget: a slow or dead endpoint never keeps a
    worker past the next run; what is left goes at the next one."""
    from core.changes import webhooks

    subscribe(api, receiver.url, modules=["crm"])
    receiver.statuses = [500]
    make_customer(people["a"])
    relay()
    assert len(receiver.requests) == 1  # the first attempt failed: a retry is pending
    make_due()
    monkeypatch.setattr(webhooks, "RELAY_BUDGET_SECONDS", -1)  # spent before the first send
    relay()
    assert len(receiver.requests) == 1
    monkeypatch.setattr(webhooks, "RELAY_BUDGET_SECONDS", 40)
    relay()
    assert len(receiver.requests) == 2
    assert db.session.scalar(select(WebhookDelivery)).status == "sent"


def test_a_subscription_whose_owner_is_disabled_gets_nothing(people, api, receiver):
    subscribe(api, receiver.url)
    make_customer(people["a"])
    db.session.execute(update(type(people["admin"])).where(
        type(people["admin"]).id == people["admin"].id).values(active=False))
    db.session.commit()
    relay()
    assert receiver.requests == []
    assert db.session.scalar(select(WebhookDelivery)) is None  # waits for an active owner


def test_the_connection_goes_to_the_vetted_address_not_a_rebound_one(people, api, app,
                                                                      monkeypatch):
    """DNS rebinding: the name answers a public address to the check and 127.0.0.1 after;
    the delivery must not reach the loopback receiver (the name is resolved once)."""
    import socket

    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host != "hooks.rebind.test":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        address = "93.184.215.14" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    loopback = Receiver()
    try:
        port = loopback.server.server_address[1]
        subscribe(api, f"http://hooks.rebind.test:{port}/hook")
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        monkeypatch.setattr(webhooks, "TIMEOUT", (0.5, 0.5))
        make_customer(people["a"])
        relay()
    finally:
        loopback.close()
    assert loopback.requests == []  # never sent to the rebound loopback address
    assert lookups == ["hooks.rebind.test"]
    row = db.session.scalar(select(WebhookDelivery))
    assert row.status == "pending" and row.last_error  # the public address did not answer


def test_a_pinned_delivery_carries_the_urls_host_header(people, api, receiver, monkeypatch):
    import socket

    real = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):
        if host == "erp.example.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    port = receiver.server.server_address[1]
    subscribe(api, f"http://erp.example.test:{port}/hook")
    make_customer(people["a"])
    relay()
    assert len(receiver.requests) == 1
    assert receiver.requests[0][0]["Host"] == f"erp.example.test:{port}"


def test_https_is_pinned_with_the_host_name_for_sni_and_certificate():
    adapter = webhooks._PinnedTLSAdapter("erp.example.test")
    pool = adapter.poolmanager.connection_from_url("https://93.184.215.14/hook")
    assert pool.host == "93.184.215.14"
    assert pool.conn_kw["server_hostname"] == "erp.example.test"
    assert pool.assert_hostname == "erp.example.test"


@pytest.mark.parametrize("stop", ["pause", "disable_owner"])
def test_queued_deliveries_wait_while_paused_or_the_owner_is_disabled(people, api, receiver,
                                                                      stop):
    created = subscribe(api, receiver.url)
    receiver.statuses = [500]  # the first attempt fails: a retry is due later
    make_customer(people["a"])
    relay()
    assert len(receiver.requests) == 1
    admin = type(people["admin"])
    if stop == "pause":
        db.session.execute(update(WebhookSubscription).values(active=False))
    else:
        db.session.execute(update(admin).where(admin.id == people["admin"].id)
                           .values(active=False))
    db.session.commit()
    make_due()
    relay()
    assert len(receiver.requests) == 1  # the retry waits
    row = db.session.scalar(select(WebhookDelivery))
    assert (row.status, row.attempts) == ("pending", 1)
    if stop == "pause":
        db.session.execute(update(WebhookSubscription)
                           .where(WebhookSubscription.id == created["id"]).values(active=True))
    else:
        db.session.execute(update(admin).where(admin.id == people["admin"].id)
                           .values(active=True))
    db.session.commit()
    make_due()
    relay()
    assert len(receiver.requests) == 2
    db.session.expire_all()
    assert db.session.scalar(select(WebhookDelivery)).status == "sent"


def _certificate(tmp_path, name: str) -> tuple[str, str]:
    """A self-signed certificate for ``name`` (its own CA): (cert file, key file)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_https_goes_to_the_vetted_address_with_the_names_sni_and_certificate(
        people, api, receiver, monkeypatch, tmp_path):
    import socket
    import ssl

    cert, key = _certificate(tmp_path, "erp.example.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    real = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):
        if host in ("erp.example.test", "other.example.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    port = receiver.server.server_address[1]
    subscribe(api, f"https://erp.example.test:{port}/hook")
    make_customer(people["a"])
    relay()
    assert len(receiver.requests) == 1
    assert receiver.requests[0][0]["Host"] == f"erp.example.test:{port}"
    assert names == ["erp.example.test"]  # SNI: the name, not the address
    assert db.session.scalar(select(WebhookDelivery)).status == "sent"
    # A name the certificate does not carry is refused (checked against the name).
    db.session.execute(update(WebhookSubscription)
                       .values(url=f"https://other.example.test:{port}/hook"))
    db.session.commit()
    make_customer(people["a"])
    relay()
    assert len(receiver.requests) == 1
    failed = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()[-1]
    assert failed.status == "pending" and "SSLError" in failed.last_error
