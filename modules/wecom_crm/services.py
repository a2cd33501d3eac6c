"""Customer identity upgrade (a phone bound through the official account, verified once the
customer adds a salesperson on WeCom) and the WeCom side of a handover."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select

from core import audit
from core import hooks
from core.extensions import db
from core.i18n import default_locale
from core.notify import notify
from core.security.models import User
from core.services import ServiceContext
from core.settings import get_setting
from modules.crm.models.customer import Contact
from modules.crm.models.customer import Customer
from modules.crm.models.customer import parse_customer_number
from modules.crm.validation import normalize_phone
from modules.wecom.client import WeComAPIError
from modules.wecom.client import WeComClient
from modules.wecom.config import load_config
from modules.wecom_crm.models import RESULT_STATUS
from modules.wecom_crm.models import Binding
from modules.wecom_crm.models import ExternalLink

log = logging.getLogger(__name__)

_MOBILE_IN_TEXT = re.compile(r"(?:\+?86[\s-]?)?(1[3-9]\d(?:[\s-]?\d){8})")
ADD_CHANGES = {"add_external_contact", "add_half_external_contact"}
REMOVE_CHANGES = {"del_external_contact", "del_follow_user"}
TRANSFER_BATCH = 100


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else phone


def _customer_by_phone(phone: str) -> Customer | None:
    """The customer whose phone it is, else the customer of a contact with that phone (a
    company's contacts each have their own)."""
    found = db.session.scalar(select(Customer).where(Customer.phone == phone).limit(1))
    if found is None:
        found = db.session.scalar(select(Customer).join(Contact, Contact.customer_id == Customer.id)
                                  .where(Contact.phone == phone).order_by(Contact.id).limit(1))
    return found


def bind_phone_from_official_account(ctx: ServiceContext, openid: str, text: str) -> str | None:
    """A follower sent a phone number to the official account: a **temporary** binding.

    Rules (issue 14 #3): a binding that is verified, or already tied to a customer, never
    changes through the official account; a phone only makes or fills a temporary binding of
    this follower; a customer (a company has several contacts, each his own binding) gets
    tied to it only when no binding of his holds that phone yet; and the reply is the same
    whether or not the phone is a customer's (it must not tell)."""
    match = _MOBILE_IN_TEXT.search(text or "")
    if not match or not openid:
        return None
    phone = normalize_phone(match.group(1))
    reply = f"已收到您的手机号 {mask_phone(phone)}，工作人员会尽快与您联系。"
    binding = db.session.scalar(select(Binding).where(Binding.oa_openid == openid))
    if binding is not None and (binding.is_verified or binding.customer_id is not None
                                or binding.binding_status != "temp"):
        return reply  # his binding stands: a new phone does not rewrite it
    if binding is None:
        binding = Binding(oa_openid=openid, binding_status="temp")
        db.session.add(binding)
    binding.phone = phone
    customer = _customer_by_phone(phone)
    if customer is not None and db.session.scalar(select(Binding.id).where(
            Binding.customer_id == customer.id, Binding.phone == phone).limit(1)) is None:
        binding.customer_id = customer.id
        db.session.flush()
        audit.record(ctx, customer, "wecom_bind", f"公众号临时绑定手机号 {mask_phone(phone)}")
    db.session.flush()
    return reply


def _match_customer(state: str | None, mobiles: list[str]) -> Customer | None:
    if state:
        customer_id = parse_customer_number(state)
        if customer_id is not None:
            found = db.session.get(Customer, customer_id)
            if found is not None:
                return found
    for raw in mobiles:
        phone = normalize_phone(raw)
        if not phone:
            continue
        found = _customer_by_phone(phone)
        if found is not None:
            return found
        binding = db.session.scalar(select(Binding).where(
            Binding.phone == phone, Binding.customer_id.is_not(None)).order_by(Binding.id).limit(1))
        if binding is not None:
            return db.session.get(Customer, binding.customer_id)
    return None


def _follow_entry(contact: dict, userid: str) -> dict:
    for entry in contact.get("follow_user") or []:
        if entry.get("userid") == userid:
            return entry
    return {}


def external_contact_changed(ctx: ServiceContext, event: dict[str, Any],
                             client: WeComClient | None = None) -> ExternalLink | None:
    """Apply a 客户联系 event: link on add (verified when added by phone search), keep
    edits, mark removals. Unknown add_way codes are stored as they come."""
    change = event.get("ChangeType", "")
    external_userid = event.get("ExternalUserID") or ""
    follow_userid = event.get("UserID") or ""
    if not external_userid or not follow_userid:
        return None
    link = db.session.scalar(select(ExternalLink).where(
        ExternalLink.external_userid == external_userid,
        ExternalLink.follow_userid == follow_userid))
    if change in REMOVE_CHANGES:
        if link is not None:
            link.removed_at = ctx.now
        return link
    if change not in ADD_CHANGES and change != "edit_external_contact":
        return link
    try:
        detail = (client or WeComClient()).external_contact(external_userid)
    except (WeComAPIError, OSError, ValueError) as exc:
        log.warning("wecom_crm: externalcontact/get failed for %s: %s", external_userid, exc)
        detail = {}
    entry = _follow_entry(detail, follow_userid)
    mobiles = [m for m in entry.get("remark_mobiles") or [] if m]
    if link is None:
        link = ExternalLink(external_userid=external_userid, follow_userid=follow_userid)
        db.session.add(link)
    link.name = (detail.get("external_contact") or {}).get("name") or link.name
    if entry.get("add_way") is not None:
        link.add_way = int(entry["add_way"])
    link.state = entry.get("state") or event.get("State") or link.state
    link.remark_mobiles = mobiles
    link.removed_at = None
    customer = _match_customer(link.state, mobiles)
    if customer is None and link.customer_id is not None:
        customer = db.session.get(Customer, link.customer_id)
    if customer is not None:
        link.customer_id = customer.id
        _upgrade_identity(ctx, customer, link, change)
    db.session.flush()
    return link


def _contact_binding(customer: Customer, link: ExternalLink) -> Binding:
    """The binding of the person behind ``link`` (a company has one per contact): the
    customer's binding holding one of the contact's mobiles; else the one follower's
    temporary binding of that mobile not tied to anyone yet, now tied to the customer (two
    followers sent the same mobile: neither, nobody can tell which is the person); else,
    without mobiles, the customer's first binding; else a new one."""
    phones = list(dict.fromkeys(p for p in (normalize_phone(m) for m in link.remark_mobiles or [])
                                if p))
    if phones:
        mine = db.session.scalar(select(Binding).where(
            Binding.customer_id == customer.id, Binding.phone.in_(phones))
            .order_by(Binding.id).limit(1))
        if mine is not None:
            return mine
        loose = list(db.session.scalars(select(Binding).where(
            Binding.customer_id.is_(None), Binding.phone.in_(phones)).limit(2)))
        if len(loose) == 1:
            loose[0].customer_id = customer.id
            return loose[0]
    else:
        first = db.session.scalar(select(Binding).where(Binding.customer_id == customer.id)
                                  .order_by(Binding.id).limit(1))
        if first is not None:
            return first
    binding = Binding(customer_id=customer.id, phone=phones[0] if phones else customer.phone)
    db.session.add(binding)
    return binding


def _upgrade_identity(ctx: ServiceContext, customer: Customer, link: ExternalLink,
                      change: str) -> None:
    binding = _contact_binding(customer, link)
    binding.binding_status = "linked"
    verify_ways = load_config().verify_add_ways
    if change in ADD_CHANGES and link.add_way in verify_ways and not binding.is_verified:
        binding.is_verified = True
        binding.verified_at = ctx.now
        audit.record(ctx, customer, "wecom_verified",
                     f"企业微信通过手机号添加（add_way={link.add_way}），客户已认证")
    elif change in ADD_CHANGES:
        audit.record(ctx, customer, "wecom_linked",
                     f"已关联企业微信客户（add_way={link.add_way}）")


def identity(customer_id: int) -> tuple[list[Binding], list[ExternalLink]]:
    """A customer's bindings (one per contact who bound himself) and external contacts."""
    bindings = list(db.session.scalars(select(Binding).where(
        Binding.customer_id == customer_id).order_by(Binding.id)))
    links = list(db.session.scalars(select(ExternalLink).where(
        ExternalLink.customer_id == customer_id).order_by(ExternalLink.id)))
    return bindings, links


# ----------------------------------------------------------------------------- handover
def transfer_on_handover(ctx: ServiceContext, customer_ids: list[int], from_user_id: int | None,
                         to_user_id: int, client: WeComClient | None = None) -> int:
    """Transfer the handed-over customers' external contacts from the departing member to the
    new owner (≤100 per call). Returns how many transfers were started."""
    if not load_config().api_configured or from_user_id is None:
        return 0
    source = db.session.get(User, from_user_id)
    target = db.session.get(User, to_user_id)
    if not (source and target and source.wecom_userid and target.wecom_userid):
        return 0
    links = list(db.session.scalars(select(ExternalLink).where(
        ExternalLink.customer_id.in_(customer_ids),
        ExternalLink.follow_userid == source.wecom_userid,
        ExternalLink.removed_at.is_(None))))
    client = client or WeComClient()
    started = 0
    for start in range(0, len(links), TRANSFER_BATCH):
        batch = links[start : start + TRANSFER_BATCH]
        try:
            answer = client.transfer_customers(source.wecom_userid, target.wecom_userid,
                                               [link.external_userid for link in batch])
        except (WeComAPIError, OSError, ValueError) as exc:
            log.warning("wecom_crm: transfer_customer failed: %s", exc)
            for link in batch:
                link.transfer_status, link.transfer_updated_at = "failed", ctx.now
            continue
        codes = {c.get("external_userid"): c.get("errcode", 0)
                 for c in answer.get("customer") or []}
        for link in batch:
            ok = codes.get(link.external_userid, 0) == 0
            link.transfer_status = "waiting" if ok else "failed"
            link.transfer_to_userid = target.wecom_userid
            link.transfer_updated_at = ctx.now
            started += ok
    db.session.flush()
    return started


def poll_transfers(ctx: ServiceContext, client: WeComClient | None = None) -> int:
    """Update waiting transfers from ``transfer_result`` (WeCom completes them after 24 h,
    and the customer may refuse). Returns how many links changed."""
    waiting = list(db.session.scalars(select(ExternalLink).where(
        ExternalLink.transfer_status == "waiting")))
    if not waiting or not load_config().api_configured:
        return 0
    client = client or WeComClient()
    changed = 0
    pairs = {(link.follow_userid, link.transfer_to_userid) for link in waiting}
    for handover, takeover in pairs:
        cursor = ""
        statuses: dict[str, int] = {}
        while True:
            answer = client.transfer_result(handover, takeover, cursor)
            for item in answer.get("customer") or []:
                statuses[item["external_userid"]] = int(item.get("status", 0))
            cursor = answer.get("next_cursor") or ""
            if not cursor:
                break
        for link in waiting:
            if (link.follow_userid, link.transfer_to_userid) != (handover, takeover):
                continue
            status = RESULT_STATUS.get(statuses.get(link.external_userid, 0))
            if status and status != link.transfer_status:
                link.transfer_status, link.transfer_updated_at = status, ctx.now
                if status == "success":
                    link.follow_userid = takeover
                changed += 1
    db.session.flush()
    return changed


def push_announcement(ctx: ServiceContext, announcement: Any) -> None:
    """A new opportunity's card (with its 认领 button) on WeCom. When the sales group hears
    of it (a customer nobody owns) it goes to the group's robot (``wecom_crm.sales_webhook``,
    one of ``wecom.webhook_keys``), or to each salesperson's WeCom when no group robot is
    configured. On a customer someone owns, to the announced people only (the owner and his
    manager), whose single chats then have it as context (a bare ``#认领`` claims it)."""
    from core.bot import remember_card

    card, opp = announcement.card, announcement.opportunity
    with force_locale(default_locale()):
        payload = {"msgtype": "template_card", "card": card.to_template_card()}
    channels = hooks.registry().notification_channels
    texts = {"url": card.url, "payload": payload, "dedupe_key": announcement.dedupe_key,
             "record": opp}
    to_group = getattr(announcement, "to_group", True)
    webhook = get_setting("wecom_crm.sales_webhook")
    configured = get_setting("wecom.webhook_keys") or {}
    group = (to_group and "wecom_webhook" in channels and bool(webhook)
             and webhook in configured)
    if group:
        notify(ctx, [], announcement.title, announcement.body, channels=("wecom_webhook",),
               address=str(webhook), **texts)
        return
    on_wecom = [u for u in announcement.recipients if u.wecom_userid]
    if "wecom" in channels and on_wecom:
        notify(ctx, on_wecom, announcement.title, announcement.body, channels=("wecom",),
               **texts)
        for user in on_wecom:
            remember_card(f"single:{user.wecom_userid}", card)


# --- leads from the official account (seed 000 scenario 1, step 1) -------------------------

_DEMAND = re.compile(r"(\d{1,5})\s*(?:台|套|个|组|部|件)\s*(.{1,60})")
MIN_LEAD_TEXT = 4


def _lead_product(text: str) -> tuple[str, int]:
    """"需要10台中央空调" → ("中央空调", 10); otherwise the text itself, quantity 1."""
    match = _DEMAND.search(text)
    if match:
        product = re.split(r"[，,。.!！？?；;\s]", match.group(2).strip())[0]
        if product:
            return product[:200], max(int(match.group(1)), 1)
    return text.strip()[:60], 1


def lead_from_official_account(ctx: ServiceContext, openid: str, text: str) -> str | None:
    """A customer wrote to the official account something that is not a phone number
    ("需要10台中央空调"): an unowned opportunity for the customer bound to that openid (or
    a new potential customer in the pool, once the sender's phone is known: crm needs one
    for an individual), announced to the sales group with its 认领 button. A second
    message while that opportunity is still unclaimed adds to its requirements."""
    from modules.crm.models.opportunity import OPEN_STATUSES
    from modules.crm.models.opportunity import Opportunity
    from modules.crm.services.customers import create_customer
    from modules.crm.services.opportunities import create_opportunity

    text = (text or "").strip()
    if not openid or len(text) < MIN_LEAD_TEXT:
        return None
    binding = db.session.scalar(select(Binding).where(Binding.oa_openid == openid))
    customer = db.session.get(Customer, binding.customer_id) \
        if binding is not None and binding.customer_id else None
    if customer is None and (binding is None or not binding.phone):
        return "已收到您的需求。请回复您的手机号，方便销售顾问与您联系。"
    if customer is None:
        customer = create_customer(ctx, {
            "customer_type": "individual", "customer_level": "potential", "status": "in_pool",
            "customer_name": f"公众号客户{openid[-6:]}", "source": "wecom",
            "phone": binding.phone, "remark": f"公众号留言：{text[:200]}"})
        binding.customer_id = customer.id
        db.session.flush()
    waiting = db.session.scalar(select(Opportunity).where(
        Opportunity.customer_id == customer.id, Opportunity.owner_id.is_(None),
        Opportunity.status.in_(OPEN_STATUSES), Opportunity.source == "wecom")
        .order_by(Opportunity.id.desc()).limit(1))
    if waiting is not None:
        waiting.requirements = f"{waiting.requirements or ''}\n{text[:2000]}".strip()[:5000]
        db.session.flush()
        return "已收到您的补充需求，销售顾问会尽快与您联系。"
    product, quantity = _lead_product(text)
    create_opportunity(ctx, {"customer_id": customer.id, "product_name": product,
                             "quantity": quantity, "estimated_amount": "0", "source": "wecom",
                             "requirements": text[:5000], "unowned": True})
    return "已收到您的需求，销售顾问会尽快与您联系。"
