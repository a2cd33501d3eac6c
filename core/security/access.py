"""View decorators that declare who may reach a route; the route test reads them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from typing import TypeVar

from flask import abort
from flask_login import current_user

from core.extensions import login_manager
from core.security.permissions import has_permission

F = TypeVar("F", bound=Callable[..., Any])

AUTHENTICATED = "authenticated"


def requires(permission: str | None = None) -> Callable[[F], F]:
    """Login required; and ``permission`` when given (403 without it)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if permission and not has_permission(current_user._get_current_object(), permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped._tandem_permission = permission or AUTHENTICATED  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def public(view: F) -> F:
    """Mark a view reachable without login (login page, signed callbacks, static)."""
    view._tandem_public = True  # type: ignore[attr-defined]
    return view


def view_access(view: Callable[..., Any]) -> str | None:
    """'public', a permission code, 'authenticated', or None when undeclared."""
    if getattr(view, "_tandem_public", False):
        return "public"
    return getattr(view, "_tandem_permission", None)
