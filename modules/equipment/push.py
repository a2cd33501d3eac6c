"""What the preventive scan pushes: the maintenance reminder card (service group robot,
the unit's engineer on WeCom, in-app), the overdue escalation to the manager, and the
warranty-expiry alert to the sales owner. Everything goes through ``core.notify`` (the
outbox): delivery happens after the commit, once per row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm import lazyload

from core.bot import Card
from core.bot import CardButton
from core.extensions import db
from core.hooks import registry
from core.i18n import default_locale
from core.i18n import locale_of
from core.notify import notify
from core.security.models import Role
from core.security.models import User
from core.services import ServiceContext
from core.settings import get_setting
from modules.equipment.models import Equipment
from modules.equipment.models import MaintenanceReminder

MODEL = "equipment_equipment"
GROUP_CARD_LIMIT = 10  # reminder cards per scan to the service group; the rest summed up


def url(equipment: Equipment) -> str:
    return f"{current_app.config['TANDEM_BASE_URL'].rstrip('/')}/equipment/{equipment.id}"


def reminder_card(equipment: Equipment, due: date, *, source: str | None = None,
                  done: str | None = None) -> Card:
    """【维护提醒】ABC公司-3楼中央空调 建议安排保养, with the 生成维护工单 button (once the
    order is made, ``done`` names it instead)."""
    buttons = [CardButton.link(_("查看"), url(equipment))]
    if done is None:
        buttons.insert(0, CardButton.action(_("生成维护工单"), "equipment.maintenance.order",
                                            equipment.id))
    return Card(
        title=_("【维护提醒】%(name)s 建议安排保养", name=equipment.display_name),
        source=source or _("维护提醒"),
        emphasis=(_("计划维护日期"), due.isoformat()),
        fields=[(_("设备编号"), equipment.equipment_no),
                (_("型号"), f"{equipment.brand or ''} {equipment.model or ''}".strip() or "—"),
                (_("序列号"), equipment.serial_number or "—"),
                (_("工程师"), equipment.engineer.name if equipment.engineer else "—")],
        description=done or "",
        url=url(equipment), buttons=buttons, record=(MODEL, equipment.id))


def _channels() -> Any:
    return registry().notification_channels


class _Batch:
    """Notifications of one scan, written in one flush (a multi-row INSERT) instead of one
    flush each, then handed to delivery: what :func:`core.notify.notify` does row by row.
    The scan's reminder rows already make them once-only (no dedupe key needed)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.rows: list[Any] = []
        self.wecom = "wecom" in _channels()
        self.locale = str(get_locale())

    def add(self, users: list[User | None], subject: Callable[[], str] | None,
            body: Callable[[], str], *, link: str, record: Any,
            card: Callable[[], Card] | None = None) -> None:
        """One copy per user and channel, written in the user's language (``subject``,
        ``body`` and ``card`` are called once per language among the recipients; without
        ``subject``, the card's title)."""
        from core.notify.models import Notification

        def write() -> tuple[str, str, dict]:
            made = card() if card is not None else None
            title = subject() if subject is not None else made.title if made else ""
            return title, body(), ({"msgtype": "template_card",
                                    "card": made.to_template_card()} if made else {})

        written: dict[str, tuple[str, str, dict]] = {}
        for user in users:
            if user is None or not user.active:
                continue
            locale = locale_of(user)
            if locale not in written:
                if locale == self.locale:  # the scan's own language: no switch needed
                    written[locale] = write()
                else:
                    with force_locale(locale):
                        written[locale] = write()
            title, text, payload = written[locale]
            channels = ["inapp"] + (["wecom"] if self.wecom and user.wecom_userid else [])
            for channel in channels:
                self.rows.append(Notification(
                    channel=channel, recipient_id=user.id, subject=title[:255], body=text,
                    url=link, payload=payload if channel == "wecom" else {},
                    next_attempt_at=self.ctx.now, record_model=record.__tablename__,
                    record_id=str(record.id)))

    def send(self) -> None:
        from core import jobs

        if not self.rows:
            return
        db.session.add_all(self.rows)
        db.session.flush()
        for row in self.rows:
            jobs.enqueue("core.notify.deliver", row.id)


def _send(ctx: ServiceContext, users: list[User], subject: Any, body: Any, *, link: str,
          key: str | None, record: Any, card: Card | None = None) -> None:
    """In-app to ``users`` and, when WeCom is installed, to those bound to WeCom
    (``subject`` and ``body`` may be functions: each copy in its user's language)."""
    users = [u for u in users if u is not None and u.active]
    if not users:
        return
    notify(ctx, users, subject, body, channels=("inapp",), url=link, dedupe_key=key,
           record=record)
    on_wecom = [u for u in users if u.wecom_userid]
    if on_wecom and "wecom" in _channels():
        payload = ({"msgtype": "template_card", "card": card.to_template_card()}
                   if card is not None else None)
        notify(ctx, on_wecom, subject, body, channels=("wecom",), url=link, dedupe_key=key,
               record=record, payload=payload)


def _group() -> tuple[str | None, str | None]:
    """The service group's chat id and robot name (read once per request or job)."""
    from core.cache import request_cached

    def read() -> tuple[str | None, str | None]:
        chat_id = get_setting("equipment.service_chat_id")
        webhook = get_setting("equipment.service_webhook")
        configured = get_setting("wecom.webhook_keys") or {}
        usable = "wecom_webhook" in _channels() and webhook and webhook in configured
        return (str(chat_id) if chat_id else None), (str(webhook) if usable else None)

    return request_cached("equipment.service_group", read)


def _to_group(ctx: ServiceContext, card: Card, subject: str, body: str, key: str | None,
              record: Any, group: tuple[str | None, str | None] | None = None) -> None:
    """The service group's robot (``equipment.service_webhook``), remembering the card in
    the group's chat so that ``#生成维护工单`` there needs no number."""
    from core.bot import remember_card

    chat_id, webhook = group or _group()
    if chat_id:
        remember_card(chat_id, card)
    if webhook:
        notify(ctx, [], subject, body, channels=("wecom_webhook",), url=card.url,
               payload={"msgtype": "template_card", "card": card.to_template_card()},
               dedupe_key=key, address=str(webhook), record=record)


def _group_summary(ctx: ServiceContext, more: int, on: date,
                   group: tuple[str | None, str | None]) -> None:
    """One message for the reminders past the group's card limit."""
    _chat, webhook = group
    if not webhook:
        return
    link = f"{current_app.config['TANDEM_BASE_URL'].rstrip('/')}/equipment/?due_days=7"
    subject = _("【维护提醒】另有 %(n)s 台设备近期需要保养", n=more)
    notify(ctx, [], subject, _("请在“待维护设备”中查看并安排"), channels=("wecom_webhook",),
           url=link, dedupe_key=f"equipment.due-summary:{on.isoformat()}",
           address=str(webhook))


def _managers(engineer: User | None) -> list[User]:
    """The engineer's team manager, else every active manager."""
    if engineer is not None and engineer.team is not None and engineer.team.manager_id:
        manager = db.session.get(User, engineer.team.manager_id)
        if manager is not None:
            return [manager]
    return list(db.session.scalars(select(User).where(
        User.active.is_(True), User.roles.any(Role.code == "manager"))))


def _reminders(ids: list[int]) -> list[MaintenanceReminder]:
    if not ids:
        return []
    return list(db.session.scalars(
        select(MaintenanceReminder).where(MaintenanceReminder.id.in_(ids))
        .options(joinedload(MaintenanceReminder.equipment).joinedload(Equipment.customer),
                 joinedload(MaintenanceReminder.equipment).joinedload(Equipment.engineer),
                 joinedload(MaintenanceReminder.equipment).joinedload(Equipment.order))
        .order_by(MaintenanceReminder.id)))


def _sales_owner(equipment: Equipment) -> int | None:
    """The order's salesperson, else the customer's owner."""
    return (equipment.order.sales_user_id if equipment.order is not None
            else None) or equipment.customer.owner_id


def _users(ids: set[int]) -> dict[int, User]:
    """Users by id in one query (their roles not loaded): one ``get`` each cost the scan
    two statements per warranty alert."""
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_(ids)).options(lazyload(User.roles)))}


def reminders(ctx: ServiceContext, due_ids: list[int], overdue_ids: list[int],
              warranty_ids: list[int], on: date) -> None:
    """Each reminder row is new (the scan inserted it): the notifications need no dedupe
    key of their own, and what every push needs (settings, managers) is read once."""
    limit = int(get_setting("equipment.group_card_limit") or GROUP_CARD_LIMIT)
    group = _group()
    batch = _Batch(ctx)
    managers: dict[int | None, list[User]] = {}
    # The group robot's messages are in the installation's language (a group has no one
    # language); each user's copy in his own (``_Batch.add``).
    due = _reminders(due_ids)
    for n, reminder in enumerate(due):
        equipment, day = reminder.equipment, reminder.due_date

        def card(equipment: Equipment = equipment, day: date = day) -> Card:
            return reminder_card(equipment, day)

        def due_body(equipment: Equipment = equipment, day: date = day) -> str:
            return _("%(no)s 计划维护日期 %(day)s", no=equipment.equipment_no,
                     day=day.isoformat())

        if n < limit:  # the group robot takes 20 messages a minute: the rest in one
            with force_locale(default_locale()):
                group_card = card()
                _to_group(ctx, group_card, group_card.title, due_body(), None, equipment,
                          group)
        batch.add([equipment.engineer], None, due_body, link=url(equipment),
                  record=equipment, card=card)
    if len(due) > limit:
        with force_locale(default_locale()):
            _group_summary(ctx, len(due) - limit, on, group)
    for reminder in _reminders(overdue_ids):
        equipment, day = reminder.equipment, reminder.due_date

        def overdue_subject(equipment: Equipment = equipment) -> str:
            return _("【维护逾期】%(name)s", name=equipment.display_name)

        def overdue_body(equipment: Equipment = equipment, day: date = day) -> str:
            return _("%(no)s 应于 %(day)s 维护，已逾期 %(n)s 天", no=equipment.equipment_no,
                     day=day.isoformat(), n=(on - day).days)

        if equipment.engineer_id not in managers:
            managers[equipment.engineer_id] = _managers(equipment.engineer)
        batch.add(managers[equipment.engineer_id], overdue_subject, overdue_body,
                  link=url(equipment), record=equipment)
    warranty = _reminders(warranty_ids)
    owners = _users({_sales_owner(r.equipment) for r in warranty} - {None})
    for reminder in warranty:
        equipment, day = reminder.equipment, reminder.due_date
        owner = owners.get(_sales_owner(equipment))

        def warranty_subject(equipment: Equipment = equipment) -> str:
            return _("【保修到期】%(name)s", name=equipment.display_name)

        def warranty_body(equipment: Equipment = equipment, day: date = day) -> str:
            return _("%(no)s 保修将于 %(day)s 到期，可联系客户续保", no=equipment.equipment_no,
                     day=day.isoformat())

        batch.add([owner], warranty_subject, warranty_body, link=url(equipment),
                  record=equipment)
    batch.send()


def fault_reported(ctx: ServiceContext, equipment: Equipment, description: str, kind: str,
                   ref: str) -> None:
    """A customer's fault report: to the unit's engineer (in his language) and the service
    group (in the installation's)."""

    def subject() -> str:
        return _("【客户报修】%(name)s", name=equipment.display_name)

    def what() -> str:
        return (_("工单 %(ref)s", ref=ref) if kind == "ticket"
                else _("维修记录 #%(ref)s（待填写）", ref=ref))

    def body() -> str:
        return f"{equipment.equipment_no}：{description[:200]} · {what()}"

    key = f"equipment.fault:{kind}:{ref}"
    with force_locale(default_locale()):
        card = Card(title=subject(), source=_("客户报修"), description=description[:200],
                    fields=[(_("设备编号"), equipment.equipment_no), (_("处理"), what())],
                    url=url(equipment), buttons=[CardButton.link(_("查看"), url(equipment))],
                    record=(MODEL, equipment.id))
        _to_group(ctx, card, card.title, body(), key, equipment)
    _send(ctx, [equipment.engineer] if equipment.engineer else _managers(None), subject,
          body, link=url(equipment), key=key, record=equipment)
