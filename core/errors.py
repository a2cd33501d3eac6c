"""Errors that carry a message meant for the user (in the user's language)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TandemError(Exception):
    """Base class for expected, user-facing errors."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class UserError(TandemError):
    """A business rule refused the change."""

    code = "invalid"
    http_status = 400


class ValidationError(TandemError):
    """One or more fields are invalid; ``fields`` names each."""

    code = "validation_error"
    http_status = 422

    @classmethod
    def of_fields(cls, fields: dict[str, str]) -> ValidationError:
        """The error for ``fields`` (field → its problem), saying "请检查：" and each problem."""
        from flask_babel import gettext

        problems = gettext("；").join(fields.values())
        return cls(gettext("请检查：%(problems)s", problems=problems), fields=fields)


class ConflictError(TandemError):
    """The change conflicts with existing data (duplicate, concurrent update)."""

    code = "conflict"
    http_status = 409


class NotFoundError(TandemError):
    """The record does not exist or the caller may not see it."""

    code = "not_found"
    http_status = 404


class PermissionDenied(TandemError):
    """The actor lacks a permission."""

    code = "forbidden"
    http_status = 403


class ModuleError(TandemError):
    """Module discovery, dependency or lifecycle problem."""

    code = "module_error"
    http_status = 400


class StartupError(Exception):
    """A module registered something invalid (duplicate, bad prefix)."""


class FieldError(ValueError):
    """One field is invalid; ``str(error)`` is the message (in the reader's language).
    Raised by cleaning functions; :class:`FieldErrors` collects them."""


class FieldErrors:
    """The field errors of a set of values, collected to refuse them all at once::

        errors = FieldErrors()
        name = errors.check("name", lambda: clean_text(values.get("name"), _l("名称"), 100, True))
        if not errors.has("phone") and not phone:
            errors.add("phone", gettext("请填写手机号"))
        errors.raise_if_any()  # one ValidationError naming each field
    """

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def check(self, field: str, clean: Callable[[], T]) -> T | None:
        """``clean()``'s value; its :class:`FieldError` is kept for ``field`` (then None)."""
        try:
            return clean()
        except FieldError as exc:
            self.add(field, str(exc))
            return None

    def add(self, field: str, message: str) -> None:
        """Note a problem of ``field`` (its first problem is the one kept)."""
        self.fields.setdefault(field, message)

    def has(self, field: str) -> bool:
        return field in self.fields

    def update(self, fields: dict[str, str]) -> None:
        for field, message in fields.items():
            self.add(field, message)

    def raise_if_any(self) -> None:
        """Raise one :class:`ValidationError` naming each field, if any was refused."""
        if self.fields:
            raise ValidationError.of_fields(self.fields)
