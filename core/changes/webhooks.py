"""Webhook subscriptions: the changes feed pushed to an integrator's URL.

Every minute (``core.webhooks.relay``) each active subscription reads the feed after its
own cursor with its owner's rights (the same filter as ``GET /api/v1/changes``), turns
each event into a delivery row (unique per subscription and event: exactly one delivery per
event) and advances its cursor, in one transaction; each delivery is then a job
(``core.webhooks.deliver``) that POSTs the event as JSON with::

    X-Tandem-Event: <the event's cursor>
    X-Tandem-Delivery: <delivery id>
    X-Tandem-Timestamp: <unix seconds>
    X-Tandem-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

A 2xx answer marks it sent; anything else (an error status, a timeout, a refused
connection) is retried with back-off until :data:`MAX_ATTEMPTS`, then marked failed. A
delivery claims its row before sending (pending → sending), so a job run twice sends once.
Only ``http``/``https`` URLs are accepted (checked when saved and again before sending),
redirects are not followed, and every request is bounded by :data:`TIMEOUT`. The host is
resolved once, checked (no address of this network) and connected to at that address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import requests
from flask import current_app
from flask_babel import gettext
from requests.adapters import HTTPAdapter
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from core import jobs
from core.changes import check_modules
from core.changes import serialize
from core.changes import visible_events
from core.changes.models import ChangeEvent
from core.changes.models import WebhookDelivery
from core.changes.models import WebhookSubscription
from core.db import utcnow
from core.errors import NotFoundError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext

log = logging.getLogger(__name__)

PERMISSION = "core.webhook.manage"
MAX_ATTEMPTS = 6
BACKOFF_SECONDS = [10, 60, 300, 1800, 7200]
TIMEOUT = (3.05, 10)  # seconds: connect, read
STUCK_AFTER = timedelta(minutes=10)
BATCH = 500
RELAY_BUDGET_SECONDS = 40  # the relay runs every minute


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL without credentials, else a 422."""
    url = (url or "").strip()
    parts = urlsplit(url)
    problem = None
    if len(url) > 500:
        problem = gettext("网址过长（最多 500 个字符）")
    elif parts.scheme not in ("http", "https") or not parts.hostname:
        problem = gettext("只接受 http:// 或 https:// 开头的完整网址")
    elif parts.username or parts.password:
        problem = gettext("网址中不能包含用户名或密码")
    if problem:
        raise ValidationError(problem, fields={"url": problem})
    return url


def vetted_address(url: str) -> str | None:
    """The address to send ``url``'s deliveries to: ``url``'s host resolved once, or None
    when it resolves to an address of this network (loopback, private, link-local,
    reserved, multicast): a subscription must not make the server probe its own network
    (SSRF). ``TANDEM_WEBHOOK_ALLOW_PRIVATE`` allows those (an integrator inside the same
    network; the tests' receiver on loopback). An unresolvable host is refused too. The
    connection goes to this very address (:func:`_pinned_post`): a second lookup could
    answer another one (DNS rebinding)."""
    allow_private = bool(current_app.config.get("TANDEM_WEBHOOK_ALLOW_PRIVATE"))
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not addresses:
        return None
    if not allow_private and any(not a.is_global or a.is_multicast for a in addresses):
        return None
    return str(addresses[0])


def private_destination(url: str) -> bool:
    """Whether ``url`` may not be posted to (see :func:`vetted_address`)."""
    return vetted_address(url) is None


class _PinnedTLSAdapter(HTTPAdapter):
    """HTTPS to a vetted address: SNI and the certificate's check use the URL's host name."""

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["server_hostname"] = self._hostname
        kwargs["assert_hostname"] = self._hostname
        super().init_poolmanager(*args, **kwargs)


def _pinned_post(url: str, address: str, body: bytes,
                 headers: dict[str, str]) -> requests.Response:
    """POST ``body`` to ``url`` over a connection to ``address`` (already vetted), with the
    URL's own ``Host`` header (and, for https, SNI and certificate host name); no proxy
    from the environment (it would resolve the name again; ``REQUESTS_CA_BUNDLE`` still
    counts), no redirects."""
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    session = requests.Session()
    session.trust_env = False
    # the CA bundle a deployment names (an integrator's private CA) is still used
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get(
        "CURL_CA_BUNDLE") or True
    if parts.scheme == "https":
        session.mount("https://", _PinnedTLSAdapter(hostname))
    host = f"[{hostname}]" if ":" in hostname else hostname
    headers = {**headers, "Host": host + (f":{parts.port}" if parts.port else "")}
    with session:
        return session.post(pinned, data=body, headers=headers, timeout=TIMEOUT,
                            allow_redirects=False, stream=True)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Tandem-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# ------------------------------------------------------------------------ subscriptions
def create_subscription(ctx: ServiceContext, name: str, url: str, secret: str | None = None,
                        modules: Iterable[str] | None = None) -> WebhookSubscription:
    """A new subscription owned by the actor, starting with the events after now (no
    replay of older ones: an integrator syncs the lists first). Without ``secret`` one is
    generated (read it from the returned row once)."""
    ctx.require(PERMISSION)
    name = (name or "").strip()
    if not name or len(name) > 100:
        problem = gettext("请填写名称（最多 100 个字符）")
        raise ValidationError(problem, fields={"name": problem})
    secret = (secret or "").strip() or secrets.token_urlsafe(32)
    if len(secret) < 16 or len(secret) > 200:
        problem = gettext("密钥长度须为 16–200 个字符")
        raise ValidationError(problem, fields={"secret": problem})
    subscription = WebhookSubscription(
        name=name, url=check_url(url), secret=secret, modules=check_modules(modules) or [],
        owner_id=ctx.actor_id, active=True,
        last_event_id=db.session.scalar(select(func.max(ChangeEvent.id))) or 0)
    db.session.add(subscription)
    db.session.flush()
    return subscription


def get_subscription(ctx: ServiceContext, subscription_id: int) -> WebhookSubscription:
    ctx.require(PERMISSION)
    subscription = db.session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFoundError(gettext("订阅不存在"))
    return subscription


def list_subscriptions(ctx: ServiceContext) -> list[WebhookSubscription]:
    ctx.require(PERMISSION)
    return list(db.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def set_active(ctx: ServiceContext, subscription_id: int, active: bool) -> WebhookSubscription:
    subscription = get_subscription(ctx, subscription_id)
    subscription.active = active
    db.session.flush()
    return subscription


def delete_subscription(ctx: ServiceContext, subscription_id: int) -> None:
    """Remove a subscription and its delivery log."""
    subscription = get_subscription(ctx, subscription_id)
    db.session.execute(WebhookDelivery.__table__.delete().where(
        WebhookDelivery.subscription_id == subscription.id))
    db.session.delete(subscription)
    db.session.flush()


def recent_deliveries(ctx: ServiceContext, subscription_id: int | None = None,
                      limit: int = 100) -> list[WebhookDelivery]:
    """The delivery log, newest first."""
    ctx.require(PERMISSION)
    stmt = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if subscription_id is not None:
        stmt = stmt.where(WebhookDelivery.subscription_id == subscription_id)
    return list(db.session.scalars(stmt))


# ------------------------------------------------------------------------------ dispatch
def dispatch(limit: int = BATCH) -> list[int]:
    """Turn new events into deliveries for every active subscription (in the caller's
    transaction; each subscription's row is locked while its cursor moves). Returns the
    new delivery ids; their jobs start after the commit."""
    created: list[int] = []
    ids = list(db.session.scalars(select(WebhookSubscription.id)
                                  .where(WebhookSubscription.active.is_(True))))
    for subscription_id in ids:
        created += _dispatch_one(subscription_id, limit)
    for delivery_id in created:
        jobs.enqueue("core.webhooks.deliver", delivery_id)
    return created


def _dispatch_one(subscription_id: int, limit: int) -> list[int]:
    subscription = db.session.scalar(
        select(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
        .with_for_update().execution_options(populate_existing=True))
    if subscription is None or not subscription.active or subscription.owner is None \
            or not subscription.owner.is_active:  # a disabled owner's subscription waits
        return []
    stmt = (select(ChangeEvent).where(ChangeEvent.id > subscription.last_event_id)
            .order_by(ChangeEvent.id).limit(limit))
    if subscription.modules:
        stmt = stmt.where(ChangeEvent.module.in_(subscription.modules))
    events = list(db.session.scalars(stmt))
    if not events:
        return []
    owner_ctx = ServiceContext(actor=subscription.owner, source="job")
    rows = [WebhookDelivery(subscription_id=subscription.id, event_id=e.id,
                            payload=json.loads(json.dumps(serialize(e), default=str)),
                            next_attempt_at=utcnow())
            for e in visible_events(owner_ctx, events)]
    db.session.add_all(rows)
    subscription.last_event_id = events[-1].id
    db.session.flush()
    return [row.id for row in rows]


def deliver(delivery_id: int) -> str:
    """Send one delivery (see the module's docstring); returns its new status or
    ``skipped`` when another run has it or it is not due."""
    now = utcnow()
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
               WebhookDelivery.next_attempt_at <= now)
        .values(status="sending", attempts=WebhookDelivery.attempts + 1, next_attempt_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not claimed:
        return "skipped"
    row = db.session.get(WebhookDelivery, delivery_id)
    if row is None:  # its subscription was deleted meanwhile
        return "skipped"
    db.session.refresh(row)
    db.session.refresh(row.subscription)  # paused or its owner changed meanwhile: as now
    owner = row.subscription.owner
    if owner is not None:
        db.session.refresh(owner)
    if not row.subscription.active or owner is None or not owner.is_active:
        # paused, or its owner disabled, since it was queued: looked at again later
        row.status = "pending"
        row.attempts -= 1  # this was no attempt
        row.next_attempt_at = now + timedelta(minutes=5)
        db.session.commit()
        return "skipped"
    subscription = row.subscription
    error, status_code = _post(subscription, row)
    row.response_status = status_code
    if error is None:
        row.status, row.sent_at, row.last_error = "sent", utcnow(), None
    else:
        row.last_error = error[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
        else:
            row.status = "pending"
            delay = BACKOFF_SECONDS[min(row.attempts - 1, len(BACKOFF_SECONDS) - 1)]
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
        log.warning("webhook delivery %s failed (attempt %s): %s", row.id, row.attempts, error)
    db.session.commit()
    return row.status


def _post(subscription: WebhookSubscription, row: WebhookDelivery) -> tuple[str | None, int | None]:
    """POST the delivery; ``(None, status)`` on a 2xx answer, else ``(error, status)``."""
    try:
        url = check_url(subscription.url)
    except ValidationError as exc:
        return exc.message, None
    address = vetted_address(url)
    if address is None:
        return "refused: the address is not a public one (TANDEM_WEBHOOK_ALLOW_PRIVATE)", None
    body = json.dumps(row.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "Tandem-Webhooks/1",
               "X-Tandem-Event": str(row.payload.get("cursor", "")),
               "X-Tandem-Delivery": str(row.id),
               "X-Tandem-Timestamp": timestamp,
               "X-Tandem-Signature": sign(subscription.secret, timestamp, body)}
    try:
        with _pinned_post(url, address, body, headers) as response:
            if 200 <= response.status_code < 300:
                return None, response.status_code
            return f"HTTP {response.status_code}", response.status_code
    except requests.RequestException as exc:  # the kind only: no probing through the log
        return type(exc).__name__, None


def relay(limit: int = BATCH) -> int:
    """Periodic: new events to deliveries, stuck ``sending`` rows (a killed worker) back to
    pending, and the due retries (and deliveries never started) sent. Returns how many
    were sent."""
    now = utcnow()
    dispatch(limit)
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.status == "sending",
               WebhookDelivery.next_attempt_at < now - STUCK_AFTER)
        .values(status="pending").execution_options(synchronize_session=False))
    db.session.commit()
    due = list(db.session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.id).limit(limit)))
    # Within a time budget, so that slow or dead endpoints never keep a worker past the next
    # run (each send may wait up to TIMEOUT); what is left is due at the next run.
    deadline = time.monotonic() + RELAY_BUDGET_SECONDS
    sent = 0
    for delivery_id in due:
        if time.monotonic() > deadline:
            break
        sent += deliver(delivery_id) == "sent"
    return sent
