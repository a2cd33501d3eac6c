"""Permission checks. Admins hold every permission; others through their roles' grants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app
from flask import g
from flask import has_app_context
from sqlalchemy import select

from core.extensions import db
from core.security.models import RolePermission

if TYPE_CHECKING:
    from core.security.models import User


def granted_permissions(user: User) -> frozenset[str]:
    """All permissions granted to the user's roles (cached per request/app context)."""
    cache = g.setdefault("_tandem_perm_cache", {}) if has_app_context() else {}
    key = (user.id, tuple(sorted(user.role_codes)))
    if key not in cache:
        rows = db.session.scalars(
            select(RolePermission.permission).where(RolePermission.role_code.in_(user.role_codes))
        )
        cache[key] = frozenset(rows)
    return cache[key]


def has_permission(user: User | None, permission: str) -> bool:
    """Whether ``user`` holds ``permission``; ``None`` is the system (jobs, CLI) and may all."""
    if user is None:
        return True
    if not user.is_active:
        return False
    if user.is_admin:
        return True
    return permission in granted_permissions(user)


def permission_label(code: str) -> str:
    """The human label of a permission code, from the running registry."""
    if has_app_context():
        registry = current_app.extensions.get("tandem_registry")
        if registry is not None:
            perm = registry.permissions.get(code)
            if perm is not None:
                return perm.label
    return code


def clear_cache() -> None:
    if has_app_context():
        g.pop("_tandem_perm_cache", None)
