"""Errors that carry a message meant for the user (in the user's language)."""

from __future__ import annotations


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
