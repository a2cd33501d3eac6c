"""Notifications through an outbox: rows written in the business transaction, delivered by
jobs through pluggable channels, with retries, once even if a delivery job runs twice, and
nothing lost while Redis is down (the periodic relay picks up what was never enqueued).

A delivery claims its row for a lease (``TANDEM_OUTBOX_LEASE_SECONDS``): a worker killed
mid-send (``kill -9``) leaves the row ``sending`` until the lease ends, then RQ's retry of
the job or the relay claims it again. Whether the killed send reached the provider is
unknown, so channels that can ask the provider to drop a repeat do (WeCom's
``enable_duplicate_check``), and those that cannot record their sends and raise
:class:`~core.notify.channels.Undeliverable` (failed, never retried) for one they cannot
confirm (WeCom's group robot).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from collections.abc import Iterable
from datetime import timedelta
from functools import cache
from typing import Any

from flask import current_app
from flask import has_app_context
from flask import has_request_context
from flask import request
from flask_babel import force_locale
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from core import hooks
from core import jobs
from core.db import utcnow
from core.extensions import db
from core.i18n import locale_of
from core.notify.channels import PREFETCHED_UNREAD
from core.notify.channels import RetryLater
from core.notify.channels import Undeliverable
from core.notify.channels import forget_prefetched_unread
from core.notify.models import InboxMessage
from core.notify.models import Notification
from core.security.models import Role
from core.security.models import User
from core.services import ServiceContext

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_SECONDS = [30, 120, 600, 1800]  # TANDEM_OUTBOX_BACKOFF overrides
LEASE_SECONDS = 120  # TANDEM_OUTBOX_LEASE_SECONDS: longer than any send (HTTP timeouts 10 s)
RELAY_SECONDS = 45  # TANDEM_OUTBOX_RELAY_SECONDS: a relay run's budget (it runs every minute)
RELAY_THREADS = 4  # TANDEM_OUTBOX_RELAY_THREADS: deliveries at once in a relay on PostgreSQL


def _setting(name: str, default: Any) -> Any:
    return (current_app.config.get(name) or default) if has_app_context() else default


# A text, or a function writing it in the current locale (see ``notify``).
Text = str | Callable[[], str]


def _user_id(recipient: Any) -> int | None:
    if recipient is None or isinstance(recipient, int):
        return recipient
    return recipient.id


def notify(
    ctx: ServiceContext,
    recipients: Iterable[Any],
    subject: Text,
    body: Text = "",
    *,
    channels: Iterable[str] = ("inapp",),
    url: str | None = None,
    dedupe_key: str | None = None,
    payload: dict | None = None,
    record: Any = None,
    address: str | None = None,
) -> list[Notification]:
    """Queue a notification per recipient (users or ids) and channel, in the caller's
    transaction. With ``dedupe_key`` a repeat (same key, recipient, channel) adds nothing.
    ``address`` targets a non-user (a customer's phone, a webhook name).

    ``subject`` and ``body`` may be functions, e.g. ``lambda: _("请确认客户交接 %(n)s", n=…)``:
    each user's copy is then written in his language (others: the default language)."""

    rows = []
    targets = list(recipients) or [None]
    for recipient in targets:
        title, text = _written_for(recipient, subject, body)
        for channel in channels:
            key = None
            if dedupe_key:
                key = f"{dedupe_key}:{_user_id(recipient) or address or '-'}:{channel}"
                if db.session.scalar(select(Notification.id).where(Notification.dedupe_key == key)):
                    continue
            row = Notification(
                channel=channel,
                recipient_id=_user_id(recipient),
                address=address,
                subject=title[:255],
                body=text,
                url=url,
                payload=payload or {},
                dedupe_key=key,
                next_attempt_at=ctx.now,
                record_model=getattr(record, "__tablename__", None),
                record_id=str(record.id) if record is not None else None,
            )
            db.session.add(row)
            rows.append(row)
    db.session.flush()
    for row in rows:
        jobs.enqueue("core.notify.deliver", row.id)
    return rows


def _written_for(recipient: Any, subject: Text, body: Text) -> tuple[str, str]:
    """The subject and body for ``recipient``: functions are called in his language."""
    if not callable(subject) and not callable(body):
        return subject, body

    user = db.session.get(User, recipient) if isinstance(recipient, int) else recipient
    with force_locale(locale_of(user)):
        return (subject() if callable(subject) else subject,
                body() if callable(body) else body)


def notify_admins(
    ctx: ServiceContext,
    title: Text = "",
    body: Text = "",
    *,
    url: str | None = None,
    dedupe_key: str | None = None,
    **_: Any,
) -> None:
    """An in-app notice to every active admin (each in his language when ``title`` and
    ``body`` are functions, as for :func:`notify`)."""

    admins = db.session.scalars(
        select(User).where(User.active.is_(True), User.roles.any(Role.code == "admin"))
    )
    subject = title or (lambda: (body() if callable(body) else body)[:60])
    notify(ctx, list(admins), subject, body, url=url, dedupe_key=dedupe_key)


def _channel(name: str) -> Any:
    channels = hooks.registry().notification_channels
    if name not in channels:
        raise LookupError(f"unknown notification channel {name}")
    return channels[name]


def _claimable(now: Any) -> Any:
    """Due rows, and rows whose sender's lease ran out (a worker killed mid-send)."""
    return or_(
        and_(Notification.status == "pending", Notification.next_attempt_at <= now),
        and_(Notification.status == "sending", Notification.next_attempt_at < now),
    )


def deliver(notification_id: int) -> str:
    """Send one notification. The conditional claim (pending → sending, with a lease kept in
    ``next_attempt_at``) makes a second run of the same job a no-op; a failure goes back to
    pending with back-off."""
    now = utcnow()
    lease = timedelta(seconds=float(_setting("TANDEM_OUTBOX_LEASE_SECONDS", LEASE_SECONDS)))
    claimed = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, _claimable(now))
        .values(status="sending", attempts=Notification.attempts + 1,
                next_attempt_at=now + lease)
    ).rowcount
    db.session.commit()
    if not claimed:
        return "skipped"
    row = db.session.get(Notification, notification_id, populate_existing=True)
    row.last_error = None  # a channel may note a partial failure while sending
    try:
        outcome = _channel(row.channel).send(row)
    except RetryLater as later:  # queued behind a rate limit: not a failed attempt
        db.session.rollback()
        row = db.session.get(Notification, notification_id)
        row.status, row.attempts = "pending", row.attempts - 1
        row.next_attempt_at = utcnow() + timedelta(seconds=later.seconds)
        row.last_error = str(later)
        db.session.commit()
        return "deferred"
    except Exception as exc:  # noqa: BLE001 - any channel failure is retried
        db.session.rollback()
        row = db.session.get(Notification, notification_id)
        row.last_error = str(exc)[:2000]
        if row.attempts >= MAX_ATTEMPTS or isinstance(exc, Undeliverable):
            row.status = "failed"
        else:
            row.status = "pending"
            backoff = _setting("TANDEM_OUTBOX_BACKOFF", BACKOFF_SECONDS)
            delay = backoff[min(row.attempts - 1, len(backoff) - 1)]
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
        db.session.commit()
        log.warning("notification %s failed (attempt %s): %s", row.id, row.attempts, exc)
        return row.status
    # A channel that only wrote the message to the log (no provider configured) says so:
    # the row records what really happened.
    row.status = "logged" if outcome == "logged" else "sent"
    row.sent_at = utcnow()
    db.session.commit()
    return row.status


def relay(limit: int = 500) -> int:
    """Periodic: deliver due pending rows (never enqueued while Redis was down, or waiting
    for a retry) and rows whose sender was killed (lease over), in batches of ``limit``
    until none is left or the run's budget (``TANDEM_OUTBOX_RELAY_SECONDS``) is spent: a
    backlog of thousands after an outage goes out in one run, not one batch a minute."""
    budget = float(_setting("TANDEM_OUTBOX_RELAY_SECONDS", RELAY_SECONDS))
    started = time.monotonic()
    sent, tried = 0, set()
    while time.monotonic() - started < budget:
        db.session.commit()  # a fresh snapshot for each batch
        ids = [i for i in db.session.scalars(
            select(Notification.id).where(_claimable(utcnow()))
            .order_by(Notification.id).limit(limit)) if i not in tried]
        if not ids:
            break
        tried.update(ids)  # a row failing again waits for the next run
        sent += sum(outcome in ("sent", "logged") for outcome in _deliver_all(ids))
    return sent


def _deliver_all(ids: list[int]) -> list[str]:
    """Deliver ``ids``: on PostgreSQL a backlog goes through a few threads, each with its own
    session (``TANDEM_OUTBOX_RELAY_THREADS``, 4): a delivery mostly waits — two commits and
    the provider's answer — so after an outage the backlog drains several times faster.
    Each row is still claimed once (``deliver``'s conditional claim)."""
    threads = int(_setting("TANDEM_OUTBOX_RELAY_THREADS", RELAY_THREADS))
    if len(ids) < 2 * threads or threads < 2 or db.engine.dialect.name != "postgresql":
        return [deliver(notification_id) for notification_id in ids]
    from concurrent.futures import ThreadPoolExecutor

    app = current_app._get_current_object()

    def one(notification_id: int) -> str:
        with app.app_context():
            try:
                return deliver(notification_id)
            except Exception:  # noqa: BLE001 - one row's failure must not stop the others
                log.exception("relay: notification %s", notification_id)
                return "error"
            finally:
                db.session.remove()

    db.session.commit()  # nothing of this session held while the threads work
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tandem-relay") as pool:
        return list(pool.map(one, ids))


# ------------------------------------------------------------------------------- inbox
# The environ key of ``(user id, count)`` when the request read the count with its auth
# epoch (``core.web.request_state``); a change to the inbox in the same request drops it.


def unread_count(user: Any) -> int:
    if has_request_context():
        kept = request.environ.get(PREFETCHED_UNREAD)
        if kept is not None and kept[0] == user.id:
            return kept[1]
    return db.session.scalar(unread_statement(), {"user_id": user.id}) or 0


@cache
def unread_statement() -> Select:
    """One statement object for every page header (it shows the count): SQLAlchemy keeps
    its cache key instead of recomputing it on each request."""
    return (select(func.count()).select_from(InboxMessage)
            .where(InboxMessage.user_id == bindparam("user_id"), InboxMessage.read_at.is_(None)))


def inbox(user: Any, limit: int = 50) -> list[InboxMessage]:
    return list(
        db.session.scalars(
            select(InboxMessage)
            .where(InboxMessage.user_id == user.id)
            .order_by(InboxMessage.id.desc())
            .limit(limit)
        )
    )


def mark_read(ctx: ServiceContext, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's messages read (all when ``ids`` is None)."""
    stmt = update(InboxMessage).where(
        InboxMessage.user_id == ctx.actor_id, InboxMessage.read_at.is_(None)
    )
    if ids is not None:
        stmt = stmt.where(InboxMessage.id.in_(list(ids)))
    forget_prefetched_unread()
    return db.session.execute(stmt.values(read_at=ctx.now)).rowcount
