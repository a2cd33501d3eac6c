"""Customer, contact and follow-up services: the only way the edges change customers.

Every read goes through :func:`customer_select` (record rules: sales see their own customers
and the pool, managers their team's, admins all); writes additionally need the record to be
the actor's (or the team's) and not in the pool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import not_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.errors import ConflictError
from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.errors import ValidationError
from core.extensions import db
from core.security.models import User
from core.security.rules import managed_member_ids
from core.services import ServiceContext
from core.web.templating import translated_label
from modules.crm.models.customer import CUSTOMER_LEVELS
from modules.crm.models.customer import CUSTOMER_SOURCES
from modules.crm.models.customer import CUSTOMER_STATUSES
from modules.crm.models.customer import CUSTOMER_TYPES
from modules.crm.models.customer import FOLLOW_UP_CHANNELS
from modules.crm.models.customer import Contact
from modules.crm.models.customer import Customer
from modules.crm.models.customer import FollowUp
from modules.crm.models.customer import customer_number
from modules.crm.models.customer import parse_customer_number
from modules.crm.validation import FieldError
from modules.crm.validation import clean_choice
from modules.crm.validation import clean_contact_phone
from modules.crm.validation import clean_email
from modules.crm.validation import clean_mobile
from modules.crm.validation import clean_tags
from modules.crm.validation import clean_tax_id
from modules.crm.validation import clean_text
from modules.crm.validation import normalize_phone

log = logging.getLogger(__name__)

CUSTOMER_FIELDS = (
    "customer_type",
    "customer_name",
    "phone",
    "tax_id",
    "industry",
    "customer_level",
    "tags",
    "address",
    "source",
    "remark",
    "owner_id",
    "status",
    "locked",
)
CONTACT_FIELDS = ("name", "title", "phone", "email", "wechat", "is_primary", "remark")

NOT_FOUND = _l("客户不存在或无权查看")


class DuplicateCustomerError(ConflictError):
    """A phone or tax id is taken; ``existing_id`` is set only when the actor may see it."""

    def __init__(self, message: str, *, field: str, existing_id: int | None = None) -> None:
        super().__init__(message, fields={field: message})
        self.existing_id = existing_id


# --- reading -----------------------------------------------------------------------------


def customer_select(ctx: ServiceContext, *columns: Any) -> Select:
    """``SELECT`` customers (or ``columns``) the actor may see."""
    ctx.require("crm.customer.read")
    stmt = select(*columns) if columns else select(Customer)
    return ctx.scoped(stmt, Customer)


def can_see(ctx: ServiceContext, customer_id: int) -> bool:
    """Whether the actor may see the customer (permission and record rules)."""
    if not ctx.can("crm.customer.read"):
        return False
    stmt = customer_select(ctx, Customer.id).where(Customer.id == customer_id)
    return db.session.scalar(stmt) is not None


def get_customer(
    ctx: ServiceContext, customer_id: int | str, *, for_write: bool = False
) -> Customer:
    """The customer, if the actor may see it (and change it, with ``for_write``); else 404/403.

    ``customer_id`` may also be a customer number (``CUS-000123``).
    """
    if isinstance(customer_id, str):
        parsed = parse_customer_number(customer_id)
        if parsed is None and not (customer_id.strip().isascii() and customer_id.strip().isdigit()):
            raise NotFoundError(str(NOT_FOUND))
        customer_id = parsed if parsed is not None else int(customer_id)
    if not 0 < customer_id < 2**31:
        raise NotFoundError(str(NOT_FOUND))
    customer = db.session.scalar(customer_select(ctx).where(Customer.id == customer_id))
    if customer is None:
        raise NotFoundError(str(NOT_FOUND))
    if for_write:
        _check_writable(ctx, customer)
    return customer


def find_customer(ctx: ServiceContext, ref: str) -> Customer:
    """A visible customer by number (``CUS-000123``), id or phone (any format)."""
    ref = (ref or "").strip()
    if parse_customer_number(ref) is not None or (ref.isdigit() and len(ref) < 11):
        return get_customer(ctx, ref)
    phone = normalize_phone(ref)
    customer = db.session.scalar(customer_select(ctx).where(
        unless_hidden(ctx, "phone", Customer.phone == phone)))
    if customer is None:
        raise NotFoundError(str(NOT_FOUND))
    return customer


def search_customers(
    ctx: ServiceContext,
    *,
    q: str | None = None,
    customer_type: str | None = None,
    customer_level: str | None = None,
    status: str | None = None,
    owner_id: int | None = None,
    tag: str | None = None,
    industry: str | None = None,
    mine: bool = False,
    scoped: bool = True,
) -> Select:
    """A filtered ``SELECT`` of the customers the actor sees (lists, counts, exports, API,
    bot). ``scoped=False`` leaves the record rules to a caller that applies them itself
    (the API's ``paginate``)."""
    stmt = customer_select(ctx) if scoped else select(Customer)
    if q and q.strip():
        text = q.strip()
        like = f"%{text}%"
        clauses = [Customer.customer_name.ilike(like), Customer.tax_id.ilike(like)]
        phone = normalize_phone(text)
        if phone.isdigit():
            clauses.append(unless_hidden(ctx, "phone", Customer.phone.like(f"%{phone}%")))
        number = parse_customer_number(text)
        if number is not None:
            clauses.append(Customer.id == number)
        stmt = stmt.where(or_(*clauses))
    if customer_type:
        stmt = stmt.where(Customer.customer_type == customer_type)
    if customer_level:
        stmt = stmt.where(Customer.customer_level == customer_level)
    if status:
        stmt = stmt.where(Customer.status == status)
    if owner_id:
        stmt = stmt.where(Customer.owner_id == owner_id)
    if mine and ctx.actor is not None:
        stmt = stmt.where(Customer.owner_id == ctx.actor.id)
    if industry:
        stmt = stmt.where(unless_hidden(ctx, "industry", Customer.industry == industry))
    if tag and tag.strip():
        t = tag.strip()
        stmt = stmt.where(
            or_(
                Customer.tags == t,
                Customer.tags.like(f"{t},%"),
                Customer.tags.like(f"%,{t}"),
                Customer.tags.like(f"%,{t},%"),
            )
        )
    return stmt


def count_customers(ctx: ServiceContext, **filters: Any) -> int:
    """How many customers the actor sees (with the filters of :func:`search_customers`)."""
    stmt = search_customers(ctx, **filters)
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


# Labels and choice values in the reader's language (translated at export time).
EXPORT_COLUMNS: list[tuple[str, str, Callable[[Customer], Any]]] = [
    ("number", "客户编号", lambda c: c.number),
    ("customer_name", "客户名称", lambda c: c.customer_name),
    ("customer_type", "客户类型", lambda c: translated_label(c.type_label)),
    ("phone", "手机号", lambda c: c.phone or ""),
    ("tax_id", "统一社会信用代码", lambda c: c.tax_id or ""),
    ("industry", "所属行业", lambda c: c.industry or ""),
    ("customer_level", "客户分级", lambda c: translated_label(c.level_label)),
    ("tags", "标签", lambda c: c.tags or ""),
    ("address", "地址", lambda c: c.address or ""),
    ("source", "来源渠道", lambda c: translated_label(c.source_label)),
    ("owner", "负责人", lambda c: c.owner.name if c.owner else ""),
    ("status", "状态", lambda c: translated_label(c.status_label)),
    ("last_follow_up_at", "最后跟进时间", lambda c: c.last_follow_up_at),
]


def export_customers(ctx: ServiceContext, **filters: Any) -> tuple[list[str], list[list[Any]]]:
    """Header labels and rows of the customers the actor sees (needs ``crm.customer.export``)."""
    ctx.require("crm.customer.export")
    stmt = search_customers(ctx, **filters).order_by(Customer.id)
    getters = [masked(ctx, key, fn) for key, _label, fn in EXPORT_COLUMNS]
    rows = [[get(c) for get in getters] for c in db.session.scalars(stmt)]
    return [label for _k, label, _f in EXPORT_COLUMNS], rows


# --- access helpers ----------------------------------------------------------------------


def _unrestricted(ctx: ServiceContext) -> bool:
    return ctx.actor is None or ctx.actor.is_admin


def _check_writable(ctx: ServiceContext, customer: Customer) -> None:
    if _unrestricted(ctx):
        return
    if customer.status == "in_pool":
        raise PermissionDenied(gettext("公海客户需先领取或分配后才能修改"))
    actor = ctx.actor
    if customer.owner_id == actor.id:
        return
    if "manager" in actor.role_codes and customer.owner_id in managed_member_ids(actor):
        return
    if not {"sales", "manager"} & actor.role_codes:
        return  # roles without ownership rules are governed by permissions alone
    raise PermissionDenied(gettext("只能修改自己（或本团队）负责的客户"))


def _check_owner(ctx: ServiceContext, owner_id: int | None) -> dict[str, str]:
    """Field errors for an owner the actor may not give a customer to."""
    if owner_id is None:
        return {}
    owner = db.session.get(User, owner_id)
    if owner is None or not owner.active:
        return {"owner_id": gettext("负责人不存在或已停用")}
    if _unrestricted(ctx) or owner_id == ctx.actor.id:
        return {}
    if not ctx.can("crm.customer.assign"):
        raise PermissionDenied(gettext("无权限：只能把客户分配给自己"))
    if owner_id not in managed_member_ids(ctx.actor):
        raise PermissionDenied(gettext("只能把客户分配给本团队成员"))
    return {}


def assignable_owners(ctx: ServiceContext) -> list[User]:
    """Users the actor may make a customer's owner: self; team members; anyone for admins."""
    stmt = select(User).where(User.active.is_(True)).order_by(User.display_name, User.id)
    if not _unrestricted(ctx):
        ids = {ctx.actor.id}
        if ctx.can("crm.customer.assign"):
            ids |= managed_member_ids(ctx.actor)
        stmt = stmt.where(User.id.in_(ids))
    return list(db.session.scalars(stmt))


# --- validation --------------------------------------------------------------------------


def _clean_customer(
    ctx: ServiceContext, values: dict[str, Any], current_owner_id: int | None = None
) -> dict[str, Any]:
    """Validate and normalise the full set of customer values; raise ValidationError.

    The owner is checked only when it differs from ``current_owner_id`` (an unchanged owner
    who has since left stays valid until the customers are handed over).
    """
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    def run(key: str, fn: Callable[[], Any]) -> None:
        try:
            out[key] = fn()
        except FieldError as exc:
            errors[key] = str(exc)

    run(
        "customer_type",
        lambda: clean_choice(values.get("customer_type"), _l("客户类型"), CUSTOMER_TYPES),
    )
    run(
        "customer_name",
        lambda: clean_text(values.get("customer_name"), _l("客户名称"), 200, True),
    )
    run("phone", lambda: clean_mobile(values.get("phone")))
    run("tax_id", lambda: clean_tax_id(values.get("tax_id")))
    run("industry", lambda: clean_text(values.get("industry"), _l("所属行业"), 64))
    run(
        "customer_level",
        lambda: clean_choice(
            values.get("customer_level") or "normal", _l("客户分级"), CUSTOMER_LEVELS
        ),
    )
    run("tags", lambda: clean_tags(values.get("tags")))
    run("address", lambda: clean_text(values.get("address"), _l("地址"), 300))
    run(
        "source",
        lambda: (
            values.get("source")
            and clean_choice(values.get("source"), _l("来源渠道"), CUSTOMER_SOURCES)
        ),
    )
    run("remark", lambda: clean_text(values.get("remark"), _l("备注"), 5000))
    run(
        "status",
        lambda: clean_choice(
            values.get("status") or "active", _l("状态"), CUSTOMER_STATUSES
        ),
    )
    out["locked"] = bool(values.get("locked"))
    owner = values.get("owner_id")
    try:
        out["owner_id"] = int(owner) if owner not in (None, "") else None
    except (TypeError, ValueError):
        errors["owner_id"] = gettext("负责人无效")

    ctype = out.get("customer_type")
    if ctype == "individual":
        out["tax_id"] = None  # a tax id belongs to enterprise customers only
        if "phone" not in errors and not out.get("phone"):
            errors["phone"] = gettext("个人客户必须填写手机号")
    elif ctype == "enterprise" and "tax_id" not in errors and not out.get("tax_id"):
        errors["tax_id"] = gettext("企业客户必须填写统一社会信用代码")
    if out.get("status") == "in_pool":
        out["owner_id"] = None
    elif "owner_id" not in errors and out.get("owner_id") is None:
        errors["owner_id"] = gettext("请选择负责人")
    if "owner_id" not in errors and out.get("owner_id") != current_owner_id:
        errors.update(_check_owner(ctx, out.get("owner_id")))
    if errors:
        raise ValidationError.of_fields(errors)
    return out


def _duplicate_error(
    ctx: ServiceContext, existing: Customer, field: str, what: str
) -> DuplicateCustomerError:
    """A message pointing at ``existing`` that only names what the actor may see."""
    ref = customer_number(existing.id)
    if existing.status == "in_pool" and can_see(ctx, existing.id):
        msg = gettext(
            "%(what)s 已被公海客户「%(name)s」（%(number)s）使用，可在公海中领取该客户",
            what=what, name=existing.customer_name, number=ref,
        )
        return DuplicateCustomerError(msg, field=field, existing_id=existing.id)
    if existing.owner_id is not None and existing.owner_id == ctx.actor_id:
        msg = gettext(
            "%(what)s 已被您负责的客户「%(name)s」（%(number)s）使用",
            what=what, name=existing.customer_name, number=ref,
        )
        return DuplicateCustomerError(msg, field=field, existing_id=existing.id)
    if can_see(ctx, existing.id):
        owner = existing.owner.name if existing.owner else gettext("无")
        msg = gettext(
            "%(what)s 已被客户「%(name)s」（%(number)s，负责人：%(owner)s）使用",
            what=what, name=existing.customer_name, number=ref, owner=owner,
        )
        return DuplicateCustomerError(msg, field=field, existing_id=existing.id)
    if existing.status == "in_pool":
        msg = gettext("%(what)s 已被公海中的客户使用，请联系经理处理", what=what)
    else:
        msg = gettext(
            "%(what)s 已被其他销售负责的客户使用，不能重复建档；如需跟进请联系您的经理",
            what=what,
        )
    return DuplicateCustomerError(msg, field=field)


def _check_duplicates(ctx: ServiceContext, values: dict[str, Any], exclude_id: int | None) -> None:
    def other(*clauses: Any) -> Customer | None:
        stmt = select(Customer).where(*clauses)
        if exclude_id is not None:
            stmt = stmt.where(Customer.id != exclude_id)
        return db.session.scalar(stmt.limit(1))

    if values.get("phone"):
        existing = other(Customer.phone == values["phone"])
        if existing is not None:
            what = gettext("手机号 %(phone)s", phone=values["phone"])
            raise _duplicate_error(ctx, existing, "phone", what)
    if values.get("customer_type") == "enterprise" and values.get("tax_id"):
        existing = other(
            Customer.customer_type == "enterprise", Customer.tax_id == values["tax_id"]
        )
        if existing is not None:
            what = gettext("统一社会信用代码 %(code)s", code=values["tax_id"])
            raise _duplicate_error(ctx, existing, "tax_id", what)


def _flush_unique(ctx: ServiceContext, values: dict[str, Any], exclude_id: int | None) -> None:
    """Flush; a unique index violated by a concurrent insert becomes a friendly 409.

    The transaction is doomed by the violation, so it is rolled back here (the edge would
    roll it back anyway) before looking up the winner for the message.
    """
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        log.info("duplicate customer caught by the database: %s", exc.orig)
        _check_duplicates(ctx, values, exclude_id)
        raise ConflictError(
            gettext("客户已存在：手机号或统一社会信用代码与其他客户重复"),
            fields={"phone": gettext("可能重复"), "tax_id": gettext("可能重复")},
        ) from exc


# --- customers ---------------------------------------------------------------------------


def create_customer(ctx: ServiceContext, data: Mapping[str, Any]) -> Customer:
    """Create a customer; owner defaults to the actor. Raises 422 / 409 / 403."""
    ctx.require("crm.customer.create")
    values = {k: data.get(k) for k in CUSTOMER_FIELDS}
    values["customer_type"] = values["customer_type"] or "individual"
    if values["owner_id"] in (None, "") and values.get("status") != "in_pool":
        values["owner_id"] = ctx.actor_id
    if values.get("status") == "in_pool" and ctx.actor is not None:
        raise ValidationError(
            gettext("新建客户不能直接放入公海"), fields={"status": gettext("不能直接放入公海")}
        )
    if values.get("locked") and not ctx.can("crm.customer.assign"):
        raise PermissionDenied(gettext("无权限：只有经理可以锁定客户"))
    clean = _clean_customer(ctx, values)
    _check_duplicates(ctx, clean, None)
    customer = Customer(**clean)
    customer.owner_since = ctx.now if customer.owner_id else None
    db.session.add(customer)
    _flush_unique(ctx, clean, None)
    return customer


def update_customer(ctx: ServiceContext, customer_id: int, data: Mapping[str, Any]) -> Customer:
    """Change the given fields (others keep their values). Raises 404 / 403 / 422 / 409."""
    ctx.require("crm.customer.write")
    customer = get_customer(ctx, customer_id, for_write=True)
    changes = {k: data[k] for k in CUSTOMER_FIELDS if k in data}
    values = {k: getattr(customer, k) for k in CUSTOMER_FIELDS} | changes
    if not _unrestricted(ctx):
        if "status" in changes and (changes["status"] == "in_pool") != (
            customer.status == "in_pool"
        ):
            raise ValidationError(
                gettext("移入或移出公海请使用公海功能"), fields={"status": gettext("不能在此修改")}
            )
        if "locked" in changes and bool(changes["locked"]) != customer.locked:
            ctx.require("crm.customer.assign")
    if "owner_id" in changes and values["owner_id"] in (None, "") and values["status"] != "in_pool":
        message = gettext("请选择负责人")
        raise ValidationError(message, fields={"owner_id": message})
    clean = _clean_customer(ctx, values, current_owner_id=customer.owner_id)
    _check_duplicates(ctx, clean, customer.id)
    old_owner = customer.owner_id
    for key, value in clean.items():
        if getattr(customer, key) != value:
            setattr(customer, key, value)
    if customer.owner_id != old_owner:
        customer.owner_since = ctx.now if customer.owner_id else None
    _flush_unique(ctx, clean, customer.id)
    return customer


def delete_customer(ctx: ServiceContext, customer_id: int) -> None:
    """Delete a customer with its contacts and follow-ups (needs ``crm.customer.delete``)."""
    ctx.require("crm.customer.delete")
    customer = get_customer(ctx, customer_id, for_write=True)
    db.session.delete(customer)
    db.session.flush()


def reassign_customers(
    ctx: ServiceContext,
    customer_ids: Iterable[int],
    new_owner_id: int,
    reason: str,
    *,
    authorized: bool = False,
) -> list[Customer]:
    """Give customers to ``new_owner_id`` in the current transaction (handover, assignment).

    Needs ``crm.customer.assign`` and customers the actor may see, unless the caller has
    already authorised the whole operation (``authorized=True``, e.g. a confirmed handover).
    Each change is audited with ``reason`` as a ``reassign`` event; pool customers become
    active again and ``owner_since`` restarts.
    """
    if not authorized:
        ctx.require("crm.customer.assign")
    owner = db.session.get(User, new_owner_id)
    if owner is None or not owner.active:
        message = gettext("接手人不存在或已停用")
        raise ValidationError(message, fields={"owner_id": message})
    reason = (reason or "").strip()
    if not reason:
        message = gettext("请填写原因")
        raise ValidationError(message, fields={"reason": message})
    result = []
    for cid in dict.fromkeys(customer_ids):
        customer = db.session.get(Customer, cid) if authorized else get_customer(ctx, cid)
        if customer is None:
            raise NotFoundError(str(NOT_FOUND))
        if customer.owner_id != new_owner_id:
            old = customer.owner_id
            customer.owner_id = new_owner_id
            customer.owner_since = ctx.now
            if customer.status == "in_pool":
                customer.status = "active"
            audit.record(
                ctx,
                customer,
                "reassign",
                message=reason,
                changes={"owner_id": [old, new_owner_id]},
            )
        result.append(customer)
    db.session.flush()
    return result


# --- contacts ----------------------------------------------------------------------------


def _clean_contact(values: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    checks: dict[str, Callable[[], Any]] = {
        "name": lambda: clean_text(values.get("name"), _l("姓名"), 100, True),
        "title": lambda: clean_text(values.get("title"), _l("职务"), 100),
        "phone": lambda: clean_contact_phone(values.get("phone")),
        "email": lambda: clean_email(values.get("email")),
        "wechat": lambda: clean_text(values.get("wechat"), _l("微信"), 64),
        "remark": lambda: clean_text(values.get("remark"), _l("备注"), 2000),
    }
    for key, fn in checks.items():
        try:
            out[key] = fn()
        except FieldError as exc:
            errors[key] = str(exc)
    out["is_primary"] = bool(values.get("is_primary"))
    if errors:
        raise ValidationError.of_fields(errors)
    return out


def _set_primary(customer: Customer, contact: Contact) -> None:
    if contact.is_primary:
        for other in customer.contacts:
            if other is not contact and other.is_primary:
                other.is_primary = False


def list_contacts(ctx: ServiceContext, customer_id: int) -> list[Contact]:
    ctx.require("crm.contact.read")
    return list(get_customer(ctx, customer_id).contacts)


def get_contact(ctx: ServiceContext, contact_id: int, *, for_write: bool = False) -> Contact:
    ctx.require("crm.contact.read")
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise NotFoundError(gettext("联系人不存在或无权查看"))
    try:
        get_customer(ctx, contact.customer_id, for_write=for_write)
    except NotFoundError:
        raise NotFoundError(gettext("联系人不存在或无权查看")) from None
    return contact


def add_contact(ctx: ServiceContext, customer_id: int, data: Mapping[str, Any]) -> Contact:
    ctx.require("crm.contact.create")
    customer = get_customer(ctx, customer_id, for_write=True)
    contact = Contact(customer=customer, **_clean_contact(data))
    db.session.add(contact)
    _set_primary(customer, contact)
    db.session.flush()
    return contact


def update_contact(ctx: ServiceContext, contact_id: int, data: Mapping[str, Any]) -> Contact:
    ctx.require("crm.contact.write")
    contact = get_contact(ctx, contact_id, for_write=True)
    values = {k: getattr(contact, k) for k in CONTACT_FIELDS} | {
        k: data[k] for k in CONTACT_FIELDS if k in data
    }
    for key, value in _clean_contact(values).items():
        if getattr(contact, key) != value:
            setattr(contact, key, value)
    _set_primary(contact.customer, contact)
    db.session.flush()
    return contact


def delete_contact(ctx: ServiceContext, contact_id: int) -> None:
    ctx.require("crm.contact.delete")
    contact = get_contact(ctx, contact_id, for_write=True)
    contact.customer.contacts.remove(contact)
    db.session.flush()


# --- follow-ups --------------------------------------------------------------------------


def _as_datetime(value: Any, ctx: ServiceContext) -> datetime:
    """A datetime; naive values are local time (the app's display time zone)."""
    if value in (None, ""):
        return ctx.now
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise FieldError(gettext("跟进时间格式不正确")) from exc
    if not isinstance(value, datetime):
        raise FieldError(gettext("跟进时间格式不正确"))
    if value.tzinfo is None:
        tz = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise FieldError(gettext("下次跟进日期格式不正确")) from exc


def _clean_follow_up(ctx: ServiceContext, values: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    checks: dict[str, Callable[[], Any]] = {
        "follow_up_at": lambda: _as_datetime(values.get("follow_up_at"), ctx),
        "channel": lambda: clean_choice(
            values.get("channel") or "phone", _l("跟进方式"), FOLLOW_UP_CHANNELS
        ),
        "content": lambda: clean_text(values.get("content"), _l("跟进内容"), 5000, True),
        "next_follow_up_date": lambda: _as_date(values.get("next_follow_up_date")),
    }
    for key, fn in checks.items():
        try:
            out[key] = fn()
        except FieldError as exc:
            errors[key] = str(exc)
    at = out.get("follow_up_at")
    if at is not None and at > ctx.now + timedelta(minutes=5):
        errors["follow_up_at"] = gettext("跟进时间不能晚于现在")
    nxt = out.get("next_follow_up_date")
    if nxt is not None and at is not None and nxt < at.date():
        errors["next_follow_up_date"] = gettext("下次跟进日期不能早于本次跟进")
    opp = values.get("opportunity_id")
    out["opportunity_id"] = int(opp) if opp not in (None, "") else None
    if errors:
        raise ValidationError.of_fields(errors)
    return out


def list_follow_ups(ctx: ServiceContext, customer_id: int) -> list[FollowUp]:
    ctx.require("crm.follow_up.read")
    return list(get_customer(ctx, customer_id).follow_ups)


def add_follow_up(ctx: ServiceContext, customer_id: int, data: Mapping[str, Any]) -> FollowUp:
    """Record a follow-up by the actor; moves the customer's ``last_follow_up_at`` forward."""
    ctx.require("crm.follow_up.create")
    customer = get_customer(ctx, customer_id, for_write=True)
    follow_up = FollowUp(customer=customer, user_id=ctx.actor_id, **_clean_follow_up(ctx, data))
    db.session.add(follow_up)
    if customer.last_follow_up_at is None or follow_up.follow_up_at > customer.last_follow_up_at:
        customer.last_follow_up_at = follow_up.follow_up_at
    db.session.flush()
    return follow_up


# --- 360° view ---------------------------------------------------------------------------


def customer_sections(ctx: ServiceContext, customer: Customer) -> list[dict[str, Any]]:
    """Sections other installed modules contribute to the 360° view, rendered for the actor.

    A section that fails is shown as an error instead of breaking the whole page.
    """
    registry = current_app.extensions["tandem_registry"]
    out = []
    for section in registry.customer_sections:
        if section.permission and not ctx.can(section.permission):
            continue
        try:
            html = Markup(section.render(customer, ctx))
        except Exception:  # a broken add-on must not hide the customer
            log.exception("customer section %s failed", section.id)
            html = Markup('<div class="text-danger">{}</div>').format(gettext("该部分加载失败"))
        out.append({"id": section.id, "title": section.title, "html": html})
    return out


HIDDEN_MARK = "（已隐藏）"


def hidden_fields(ctx: ServiceContext, customer: Customer) -> frozenset[str]:
    """Fields of ``customer`` the actor must not see, as installed modules say through
    ``customer_hidden_fields`` (the pool hides some from claimers). ``phone`` also hides
    the contacts' phones, e-mails and WeChat ids."""
    hook = getattr(current_app.extensions["tandem_registry"].hook, "customer_hidden_fields",
                   None)
    if hook is None:
        return frozenset()
    return frozenset(name for names in hook(customer=customer, ctx=ctx) for name in names or ())


def hidden_where(ctx: ServiceContext, field: str) -> Any:
    """For which customers ``field`` is hidden from the actor, as a SQL condition that
    installed modules give through ``customer_hidden_where``; None where it never is."""
    hook = getattr(current_app.extensions["tandem_registry"].hook, "customer_hidden_where",
                   None)
    hidden = [c for c in (hook(field=field, ctx=ctx) if hook else []) if c is not None]
    return or_(*hidden) if hidden else None


def unless_hidden(ctx: ServiceContext, field: str, condition: Any) -> Any:
    """``condition`` (a match on ``field``) narrowed to the customers whose ``field`` the
    actor may see."""
    hidden = hidden_where(ctx, field)
    return condition if hidden is None else and_(condition, not_(hidden))


def masked(ctx: ServiceContext, key: str, getter: Callable[[Customer], Any]
           ) -> Callable[[Customer], Any]:
    """``getter`` that answers :data:`HIDDEN_MARK` (in the actor's language) where ``key``
    is hidden from the actor."""
    mark = gettext(HIDDEN_MARK)
    return lambda c: mark if key in hidden_fields(ctx, c) else getter(c)


def customer_360(ctx: ServiceContext, customer_id: int) -> dict[str, Any]:
    """Everything about a visible customer: itself, contacts, follow-ups, module sections."""
    customer = get_customer(ctx, customer_id)
    return {
        "customer": customer,
        "hidden": hidden_fields(ctx, customer),
        "contacts": list(customer.contacts) if ctx.can("crm.contact.read") else [],
        "follow_ups": list(customer.follow_ups) if ctx.can("crm.follow_up.read") else [],
        "sections": customer_sections(ctx, customer),
        "can_write": _writable(ctx, customer),
    }


def _writable(ctx: ServiceContext, customer: Customer) -> bool:
    if not ctx.can("crm.customer.write"):
        return False
    try:
        _check_writable(ctx, customer)
    except PermissionDenied:
        return False
    return True


def can_write(ctx: ServiceContext, customer: Customer) -> bool:
    """Whether the actor may change the (visible) customer."""
    return _writable(ctx, customer)


def customer_label(customer: Customer) -> str:
    """``CUS-000123 某某公司`` for chat replies and select boxes."""
    return f"{customer.number} {customer.customer_name}"
