"""Field checks for customers and contacts, shared by the services, forms and API.

Each ``clean_*`` function returns the normalised value or raises :class:`FieldError` with a
message in the reader's language; the services collect them into one
:class:`core.errors.ValidationError`. ``label`` arguments are lazy translations
(``lazy_gettext``), so a valid value costs no catalog lookup.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc

from core.errors import FieldError

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}\d{7,8}$")
_SEPARATORS_RE = re.compile(r"[\s\-()（）.]")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

MAX_TAGS = 20
MAX_TAG_LENGTH = 20


def normalize_phone(raw: str | None) -> str:
    """Drop spaces, dashes, brackets and a +86 / 0086 country prefix."""
    value = _SEPARATORS_RE.sub("", raw or "")
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            return value[len(prefix) :]
    if value.startswith("86") and len(value) == 13:
        return value[2:]
    return value


def clean_mobile(raw: str | None) -> str | None:
    """A mainland mobile number, normalised (``13812345678``); None when empty."""
    if not (raw or "").strip():
        return None
    value = normalize_phone(raw)
    if not _MOBILE_RE.match(value):
        raise FieldError(_("手机号格式不正确，请输入 11 位中国大陆手机号（如 138 1234 5678）"))
    return value


def clean_contact_phone(raw: str | None) -> str | None:
    """A contact's phone: a mainland mobile or a landline with area code (``01088886666``)."""
    if not (raw or "").strip():
        return None
    value = normalize_phone(raw)
    if _MOBILE_RE.match(value) or _LANDLINE_RE.match(value):
        return value
    raise FieldError(_("电话格式不正确，请输入手机号或带区号的固定电话（如 010-88886666）"))


def clean_tax_id(raw: str | None) -> str | None:
    """A unified social credit code (统一社会信用代码), checked by python-stdnum."""
    if not (raw or "").strip():
        return None
    try:
        return uscc.validate(raw)
    except stdnum_errors.InvalidLength as exc:
        raise FieldError(_("统一社会信用代码应为 18 位")) from exc
    except stdnum_errors.InvalidChecksum as exc:
        raise FieldError(_("统一社会信用代码校验位不正确，请核对后重新输入")) from exc
    except stdnum_errors.ValidationError as exc:
        raise FieldError(_("统一社会信用代码格式不正确，只能包含数字和大写字母")) from exc


def clean_tags(raw: str | list[str] | None) -> str | None:
    """Tags from a list or a string split on commas/spaces → ``"a,b"`` (unique, in order)."""
    items = raw if isinstance(raw, list | tuple) else re.split(r"[,，;；\s]+", raw or "")
    tags = list(dict.fromkeys(t.strip() for t in items if t and str(t).strip()))
    if any("," in t or "，" in t for t in tags):
        raise FieldError(_("标签不能包含逗号"))
    if len(tags) > MAX_TAGS:
        raise FieldError(_("标签最多 %(n)s 个", n=MAX_TAGS))
    if any(len(t) > MAX_TAG_LENGTH for t in tags):
        raise FieldError(_("每个标签最多 %(n)s 个字", n=MAX_TAG_LENGTH))
    return ",".join(tags) or None


def clean_email(raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    if not _EMAIL_RE.match(value):
        raise FieldError(_("邮箱格式不正确"))
    return value


def clean_text(raw: object, label: str, max_length: int, required: bool = False) -> str | None:
    """Strip; None when empty; check presence and length."""
    value = str(raw).strip() if raw is not None else ""
    if not value:
        if required:
            raise FieldError(_("%(label)s不能为空", label=label))
        return None
    if len(value) > max_length:
        raise FieldError(_("%(label)s最多 %(n)s 个字", label=label, n=max_length))
    return value


def clean_choice(raw: object, label: str, choices: dict[str, str]) -> str:
    """One of ``choices`` (``{value: label}``, the labels being msgids of the catalog)."""
    value = str(raw or "").strip()
    if value not in choices:
        allowed = _("、").join(
            _("%(value)s（%(label)s）", value=k, label=_(v)) for k, v in choices.items()
        )
        raise FieldError(_("%(label)s无效，可选值：%(choices)s", label=label, choices=allowed))
    return value
