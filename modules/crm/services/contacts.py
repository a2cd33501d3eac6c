"""Contact writes: add, change and remove a customer's contacts."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from core.errors import FieldErrors
from core.extensions import db
from core.services import ServiceContext
from modules.crm.models.customer import Contact
from modules.crm.models.customer import Customer
from modules.crm.queries import get_contact
from modules.crm.queries import get_customer
from modules.crm.validation import clean_contact_phone
from modules.crm.validation import clean_email
from modules.crm.validation import clean_text

CONTACT_FIELDS = ("name", "title", "phone", "email", "wechat", "is_primary", "remark")


def _clean_contact(values: Mapping[str, Any]) -> dict[str, Any]:
    errors = FieldErrors()
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
        out[key] = errors.check(key, fn)
    out["is_primary"] = bool(values.get("is_primary"))
    errors.raise_if_any()
    return out


def _set_primary(customer: Customer, contact: Contact) -> None:
    if contact.is_primary:
        for other in customer.contacts:
            if other is not contact and other.is_primary:
                other.is_primary = False


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
