"""The core's own workspace cards and searcher (registered in :mod:`core.plugin`): the user's
unread notifications, a system overview for administrators, and users in the global search."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from core.extensions import db
from core.hooks import registry
from core.jobs.models import JobFailure
from core.notify import unread_count
from core.notify.models import InboxMessage
from core.registration import CardContent
from core.registration import Kpi
from core.registration import Searcher
from core.registration import SearchHit
from core.registration import TodoItem
from core.registration import WorkspaceCard
from core.security.models import User
from core.services import ServiceContext


def notifications_card(ctx: ServiceContext) -> CardContent:
    """The user's unread notifications (the bell's list), newest first."""
    user = ctx.actor
    unread = db.session.scalars(
        select(InboxMessage).where(InboxMessage.user_id == user.id,
                                   InboxMessage.read_at.is_(None))
        .order_by(InboxMessage.id.desc()).limit(5))
    return CardContent(
        items=tuple(TodoItem(m.title, m.url or url_for("core_system.notifications"),
                             m.body[:80]) for m in unread),
        total=unread_count(user), more_url=url_for("core_system.notifications"),
        empty_text=gettext("没有未读通知"))


def admin_card(ctx: ServiceContext) -> CardContent:
    """Users, applications and failed background jobs, for administrators."""
    users = db.session.scalar(select(func.count()).select_from(User)
                              .where(User.active.is_(True))) or 0
    failed = db.session.scalar(select(func.count()).select_from(JobFailure).where(
        JobFailure.final.is_(True), JobFailure.retried_at.is_(None))) or 0
    apps = len(registry().installed)
    return CardContent(
        kpis=(Kpi(gettext("启用的用户"), f"{users:,}", url_for("core_users.users")),
              Kpi(gettext("已安装应用"), str(apps), url_for("core_admin.apps")),
              Kpi(gettext("失败的后台任务"), str(failed), url_for("core_system.failed_jobs"),
                  hint=gettext("待处理") if failed else "")))


def core_cards() -> list[WorkspaceCard]:
    return [
        WorkspaceCard("core.notifications", "未读通知", notifications_card, kind="todo",
                      sequence=900),
        WorkspaceCard("core.admin", "系统概况", admin_card, kind="kpi",
                      permission="core.module.manage", sequence=900),
    ]


def search_users(ctx: ServiceContext, term: str, limit: int) -> list[SearchHit]:
    """Users by login, name, phone or e-mail (for those who may read users)."""
    like = f"%{term}%"
    users = db.session.scalars(
        ctx.scoped(select(User).where(or_(User.username.ilike(like), User.display_name.ilike(like),
                                          User.phone.like(like), User.email.ilike(like)))
                   .order_by(User.username).limit(limit), User))
    return [SearchHit(u.name, url_for("core_users.user_edit", id=u.id),
                      " · ".join(p for p in (u.username, u.phone or "") if p)) for u in users]


def core_searchers() -> list[Searcher]:
    return [Searcher("core.users", "用户", search_users, permission="core.user.read",
                     sequence=900)]
