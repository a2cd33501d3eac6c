"""Who may own what: the ownership rules modules share (records owned by a user, given to
a user by someone else).

Record rules (``core.security.rules``) decide which rows an actor sees; these helpers decide
whom an actor may make a record's owner. Both let admins and system contexts (no actor)
through, so both use :func:`unrestricted`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import select

from core.security.models import RolePermission
from core.security.models import User as UserModel
from core.security.models import user_roles
from core.security.rules import managed_member_ids

if TYPE_CHECKING:
    from core.security.models import User
    from core.services import ServiceContext


def unrestricted(actor: User | None) -> bool:
    """System contexts (no actor) and admins: no record rule or ownership rule limits them."""
    return actor is None or actor.is_admin


def assignable_ids(ctx: ServiceContext, permission: str) -> set[int] | None:
    """Whom the actor may make an owner: anyone (``None``) when unrestricted; else himself,
    plus the members of the teams he manages when he holds ``permission`` (the module's
    "assign" permission, e.g. ``crm.customer.assign``)."""
    if unrestricted(ctx.actor):
        return None
    ids = {ctx.actor.id}
    if ctx.can(permission):
        ids |= managed_member_ids(ctx.actor)
    return ids


def may_assign(ctx: ServiceContext, owner_id: int, permission: str) -> bool:
    """Whether the actor may make ``owner_id`` a record's owner (see :func:`assignable_ids`)."""
    ids = assignable_ids(ctx, permission)
    return ids is None or owner_id in ids


def holds(permission: str) -> Any:
    """A condition on ``core_user``: the user holds ``permission`` through one of his roles
    (as granted now; admins hold every permission without a grant, and are not included).
    For "who gets this" lists: the salespeople a new opportunity is announced to, the
    people an owner filter offers."""
    granted = select(RolePermission.role_code).where(RolePermission.permission == permission)
    return (select(user_roles.c.user_id)
            .where(user_roles.c.user_id == UserModel.id, user_roles.c.role_code.in_(granted))
            .exists())
