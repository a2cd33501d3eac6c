"""Customer writes: create, change, delete and reassign customers (the only way the edges
change them). Reads are in :mod:`modules.crm.queries`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.errors import ConflictError
from core.errors import FieldErrors
from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.errors import ValidationError
from core.extensions import db
from core.security.models import User
from core.security.ownership import may_assign
from core.security.ownership import unrestricted
from core.services import ServiceContext
from modules.crm.models.customer import CUSTOMER_LEVELS
from modules.crm.models.customer import CUSTOMER_SOURCES
from modules.crm.models.customer import CUSTOMER_STATUSES
from modules.crm.models.customer import CUSTOMER_TYPES
from modules.crm.models.customer import Customer
from modules.crm.models.customer import customer_number
from modules.crm.queries import CUSTOMER_NOT_FOUND
from modules.crm.queries import can_see
from modules.crm.queries import get_customer
from modules.crm.validation import clean_choice
from modules.crm.validation import clean_mobile
from modules.crm.validation import clean_tags
from modules.crm.validation import clean_tax_id
from modules.crm.validation import clean_text

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


class DuplicateCustomerError(ConflictError):
    """A phone or tax id is taken; ``existing_id`` is set only when the actor may see it."""

    def __init__(self, message: str, *, field: str, existing_id: int | None = None) -> None:
        super().__init__(message, fields={field: message})
        self.existing_id = existing_id


def _check_owner(ctx: ServiceContext, owner_id: int | None) -> dict[str, str]:
    """Field errors for an owner the actor may not give a customer to."""
    if owner_id is None:
        return {}
    owner = db.session.get(User, owner_id)
    if owner is None or not owner.active:
        return {"owner_id": gettext("负责人不存在或已停用")}
    if may_assign(ctx, owner_id, "crm.customer.assign"):
        return {}
    if not ctx.can("crm.customer.assign"):
        raise PermissionDenied(gettext("无权限：只能把客户分配给自己"))
    raise PermissionDenied(gettext("只能把客户分配给本团队成员"))


def _clean_customer(
    ctx: ServiceContext, values: dict[str, Any], current_owner_id: int | None = None
) -> dict[str, Any]:
    """Validate and normalise the full set of customer values; raise ValidationError.

    The owner is checked only when it differs from ``current_owner_id`` (an unchanged owner
    who has since left stays valid until the customers are handed over).
    """
    errors = FieldErrors()
    out: dict[str, Any] = {}

    def run(key: str, fn: Callable[[], Any]) -> None:
        out[key] = errors.check(key, fn)

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
        errors.add("owner_id", gettext("负责人无效"))

    ctype = out.get("customer_type")
    if ctype == "individual":
        out["tax_id"] = None  # a tax id belongs to enterprise customers only
        if not errors.has("phone") and not out.get("phone"):
            errors.add("phone", gettext("个人客户必须填写手机号"))
    elif ctype == "enterprise" and not errors.has("tax_id") and not out.get("tax_id"):
        errors.add("tax_id", gettext("企业客户必须填写统一社会信用代码"))
    if out.get("status") == "in_pool":
        out["owner_id"] = None
    elif not errors.has("owner_id") and out.get("owner_id") is None:
        errors.add("owner_id", gettext("请选择负责人"))
    if not errors.has("owner_id") and out.get("owner_id") != current_owner_id:
        errors.update(_check_owner(ctx, out.get("owner_id")))
    errors.raise_if_any()
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
    if not unrestricted(ctx.actor):
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
            raise NotFoundError(str(CUSTOMER_NOT_FOUND))
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
