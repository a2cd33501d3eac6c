"""The landing page after login: the user's workspace (工作台).

Installed modules contribute :class:`core.registration.WorkspaceCard` s through
``register_workspace_cards()``; the page shows those the user may see, grouped by kind
(KPIs on top, to-do lists, quick actions), each computed with the user's
:class:`~core.services.ServiceContext` so record rules decide what is counted. A card whose
``compute`` fails is logged and shown as unavailable: the page never answers 500 for it.
A user for whom no module contributes anything is told what to install and whom to ask.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import render_template
from flask_babel import gettext
from sqlalchemy import select

from core.extensions import db
from core.hooks import registry
from core.registration import CardContent
from core.registration import WorkspaceCard
from core.security.access import requires
from core.services import ServiceContext
from core.web.context import web_ctx
from core.web.links import fixed_url

log = logging.getLogger("tandem.workspace")

bp = Blueprint("core_home", __name__)

KINDS = ("kpi", "todo", "actions")
CORE_PREFIX = "core."  # ids of the core's own cards (shown to everyone, never "enough")

# What each core role's work is about, for the hint shown when nothing is installed for it.
ROLE_WORK = {
    "engineer": "售后工单、设备与保养",
    "warehouse": "配件库存、出入库与领料审批",
    "sales": "客户、商机与跟进",
    "manager": "团队的客户、商机与业绩",
}


@dataclass(frozen=True)
class ShownCard:
    card: WorkspaceCard
    content: CardContent | None
    failed: bool = False


def visible_cards(ctx: ServiceContext) -> list[WorkspaceCard]:
    return [c for c in registry().workspace_cards
            if c.permission is None or ctx.can(c.permission)]


def compute_cards(ctx: ServiceContext) -> list[ShownCard]:
    """Each visible card's content; a card that raises is logged and marked failed (its
    read is rolled back so the next card starts on a clean transaction)."""
    shown = []
    for card in visible_cards(ctx):
        try:
            content = card.compute(ctx)
        except Exception:  # noqa: BLE001 - one broken card must not take the page down
            log.exception("workspace card %s failed", card.id)
            db.session.rollback()
            shown.append(ShownCard(card, None, failed=True))
            continue
        if content is not None:
            shown.append(ShownCard(card, content))
    return shown


def nothing_for_you(ctx: ServiceContext, shown: list[ShownCard]) -> dict[str, Any] | None:
    """When no module contributes a card for this user: what his roles are about, which
    applications could be installed, and whom to ask (never a blank page)."""
    if any(not s.card.id.startswith(CORE_PREFIX) for s in shown):
        return None
    user = ctx.actor
    roles = sorted(user.role_codes) if user is not None else []
    if not any(r in ROLE_WORK for r in roles) and any(
            s.card.id != "core.notifications" for s in shown):
        return None  # e.g. an administrator with the system overview: not an empty page
    from core.security.models import CORE_ROLES
    from core.security.models import Role
    from core.security.models import User
    from core.security.models import user_roles

    reg = registry()
    work = [(gettext(CORE_ROLES[r]), gettext(ROLE_WORK[r])) for r in roles if r in ROLE_WORK]
    available = sorted(
        (info.manifest.sequence, gettext(info.manifest.title or info.name))
        for name, info in reg.modules.items()
        if info.manifest.application and info.manifest.installable
        and not reg.is_installed(name))
    admins = list(db.session.scalars(
        select(User).join(user_roles, user_roles.c.user_id == User.id)
        .join(Role, Role.code == user_roles.c.role_code)
        .where(Role.code == "admin", User.active.is_(True)).order_by(User.id).limit(5)))
    is_admin = ctx.can("core.module.manage")
    return {"work": work, "available": [title for _seq, title in available],
            "admins": [u.name for u in admins if u.id != ctx.actor_id],
            "apps_url": fixed_url("core_admin.apps") if is_admin else None}


@bp.route("/")
@requires()
def index():  # noqa: ANN201
    ctx = web_ctx()
    shown = compute_cards(ctx)
    groups = {kind: [s for s in shown if s.card.kind == kind] for kind in KINDS}
    groups["todo"] += [s for s in shown if s.card.kind not in KINDS]
    return render_template("core/home.html", groups=groups,
                           hint=nothing_for_you(ctx, shown))
