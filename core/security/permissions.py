"""Permission checks. Admins hold every permission; others through their roles' grants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import g
from flask import has_app_context
from flask import has_request_context
from sqlalchemy import Select
from sqlalchemy import select

from core import hooks
from core.extensions import db
from core.security.models import RolePermission
from core.security.principal import cached

if TYPE_CHECKING:
    from core.security.models import User


def granted_permissions(user: User) -> frozenset[str]:
    """All permissions granted to the user's roles: in an HTTP request kept while the auth
    epoch is unchanged (``core.security.principal``), outside one read once per app context
    (a job or a command)."""
    roles = tuple(sorted(user.role_codes))

    def read() -> frozenset[str]:
        return frozenset(db.session.scalars(
            select(RolePermission.permission).where(RolePermission.role_code.in_(roles))))

    if has_request_context():
        return cached(("grants", roles), read)
    cache = g.setdefault("_tandem_perm_cache", {}) if has_app_context() else {}
    if roles not in cache:
        cache[roles] = read()
    return cache[roles]


def has_permission(user: User | None, permission: str) -> bool:
    """Whether ``user`` holds ``permission``; ``None`` is the system (jobs, CLI) and may all."""
    if user is None:
        return True
    if not user.is_active:
        return False
    if user.is_admin:
        return True
    return permission in granted_permissions(user)


def granted_users(permission: str) -> Select:
    """The active users whose roles grant ``permission``, as a SELECT of users by id (to
    narrow or order further). Administrators hold every permission but are listed only when
    one of their roles grants it: the people who do the work, for pickers and notices."""
    from core.security.models import Role
    from core.security.models import User

    granted = select(RolePermission.role_code).where(RolePermission.permission == permission)
    return select(User).where(User.active.is_(True), User.roles.any(Role.code.in_(granted))) \
        .order_by(User.id)


def permission_label(code: str) -> str:
    """The human label of a permission code, from the running registry."""
    if has_app_context():
        registry = hooks.registry_or_none()
        if registry is not None:
            perm = registry.permissions.get(code)
            if perm is not None:
                return perm.label
    return code
