"""Admin pages: settings, the audit log and failed jobs; the user's notifications."""

from __future__ import annotations

import json
from datetime import date
from datetime import datetime
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import hooks
from core.audit import AuditLog
from core.errors import ValidationError
from core.extensions import db
from core.history import SOURCES
from core.history import action_label
from core.history import history_entries
from core.history import model_for_table
from core.history import model_label
from core.history import readable_changes
from core.jobs.failures import count_failed
from core.jobs.failures import delete_failed
from core.jobs.failures import get_failed
from core.jobs.failures import list_failed
from core.jobs.failures import retry_failed
from core.notify import inbox
from core.notify import mark_read
from core.security.access import requires
from core.security.models import User
from core.services import unit_of_work
from core.settings import get_setting
from core.settings import mask_secret
from core.settings import set_setting
from core.web.context import web_ctx
from core.web.links import query_url
from core.web.listview import Column
from core.web.listview import Filter
from core.web.listview import LazyChoices
from core.web.listview import ListView
from core.web.templating import local_dt

bp = Blueprint("core_system", __name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _day_start(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), time.min, SHANGHAI)


def _day_end(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), time.max, SHANGHAI)


def _audit_users() -> dict[str, str]:
    """Who can appear as an actor: every user, by name (kept per auth epoch)."""
    return {str(i): name for i, name in db.session.execute(
        select(User.id, User.name).order_by(User.name))}


def _audited_models() -> dict[str, str]:
    """Audited tables of this app by their declared names (``crm_opportunity`` → 商机)."""
    tables = sorted({m.class_.__tablename__ for m in db.Model.registry.mappers
                     if getattr(m.class_, "__audited__", False)
                     and model_for_table(m.class_.__tablename__) is m.class_})
    return {t: model_label(t) for t in tables}


def _changes_text(entry: AuditLog) -> str:
    """One row's changes in words (for the export: references stay numbers)."""
    model = model_for_table(entry.model)
    parts = [f"{c.label}{gettext('：')}{c.old} → {c.new}"
             for c in readable_changes(model, entry.changes or {}, {})]
    text = gettext("；").join(parts)
    if entry.message:
        text = f"{entry.message}{gettext('；') + text if text else ''}"
    return text[:300]


class AuditListView(ListView):
    """The audit log: the rows one action wrote for a record (the named action and its
    field changes) are one line, in people's words (:mod:`core.history`)."""

    def rows_html(self, rows: list[Any], cells: Any) -> Markup:  # type: ignore[override]
        here = url_for(self.endpoint)
        lines = []
        for e in history_entries(list(rows)):
            record = query_url(here, {"model": e.model, "record_id": e.record_id})
            created = e.action == "create"  # a new record's values, without "— →"
            changes = "".join(
                str(Markup("<li>{}{}{}</li>").format(c.label, gettext("："), c.new) if created
                    else Markup("<li>{}{}{} → {}</li>").format(c.label, gettext("："), c.old,
                                                               c.new))
                for c in e.changes)
            lines.append(str(Markup(
                '<tr data-id="{}" data-ids="{}"><td class="text-nowrap">{}</td><td>{}</td>'
                '<td><span class="badge text-bg-light border">{}</span></td>'
                '<td><a href="{}" title="{}">{} #{}</a></td>'
                '<td><span class="fw-semibold">{}</span>{}</td>'
                '<td><ul class="list-unstyled mb-0 small">{}</ul></td></tr>').format(
                e.ids[0], " ".join(map(str, e.ids)), local_dt(e.at), e.actor, e.source_label,
                record, gettext("只看这条记录"), e.model_label, e.record_id, e.action_label,
                Markup("{}{}").format(gettext("："), e.text) if e.text else "",
                Markup(changes))))
        return Markup("".join(lines))


AUDIT = AuditListView(
    AuditLog, "core_system.audit",
    columns=[
        Column("at", "时间", sort=AuditLog.at, fmt="datetime", phone="field"),
        Column("actor", "操作人", value=lambda a: a.actor.name if a.actor else gettext("系统"),
               phone="field"),
        Column("source", "来源", sort=AuditLog.source, fmt="label",
               value=lambda a: SOURCES.get(a.source, a.source), phone="badge"),
        Column("model", "对象", sort=AuditLog.model,
               value=lambda a: f"{model_label(a.model)} #{a.record_id}", phone="title"),
        Column("action", "操作", sort=AuditLog.action,
               value=lambda a: action_label(model_for_table(a.model), a.action), phone="field"),
        Column("changes", "变更", value=lambda a: _changes_text(a), phone="field"),
    ],
    search=[AuditLog.record_id, AuditLog.message],
    filters=[
        Filter("model", "对象", AuditLog.model, LazyChoices(_audited_models), translate=False),
        Filter("record_id", "记录编号", AuditLog.record_id),
        Filter("actor_id", "操作人", AuditLog.actor_id,
               LazyChoices(_audit_users, cache_key="core.audit.users"), convert=int,
               translate=False),
        Filter("source", "来源", AuditLog.source, SOURCES),
        Filter("from", "起始日期", AuditLog.at, kind="date_from", convert=_day_start),
        Filter("to", "截止日期", AuditLog.at, kind="date_to", convert=_day_end),
    ],
    default_sort="-at",
    options=[selectinload(AuditLog.actor)],
)


@bp.route("/admin/audit")
@requires("core.audit.read")
def audit() -> Any:
    """The audit log: of each record, only what the reader may see of it (its model's read
    permission and record rules); admins see it all (issue 14 #9)."""
    from core.timeline.services import visible_history

    ctx = web_ctx()
    stmt = select(AuditLog)
    scope = visible_history(ctx, AuditLog.model, AuditLog.record_id)
    if scope is not None:
        stmt = stmt.where(scope)
    return AUDIT.respond(ctx, stmt, title="操作日志")


# ------------------------------------------------------------------------------- settings
@bp.route("/admin/settings", methods=["GET", "POST"])
@requires("core.settings.manage")
def settings() -> Any:
    registry = hooks.registry()
    declared = registry.settings
    if request.method == "POST":
        ctx = web_ctx()
        errors = {}
        try:
            with unit_of_work(ctx):  # one bad value: nothing is saved
                for key, decl in declared.items():
                    raw = request.form.get(key)
                    if raw is None or (decl.secret and raw == ""):
                        continue  # a secret is only replaced when a new value is typed
                    try:
                        value = _parse(decl.type, raw)
                    except ValueError:
                        errors[key] = gettext("%(label)s：格式不正确", label=gettext(decl.label))
                        continue
                    if value != get_setting(key):
                        set_setting(key, value)
                if errors:
                    raise ValidationError(gettext("未保存：%(errors)s",
                                                  errors=gettext("；").join(errors.values())))
        except ValidationError as exc:
            flash(exc.message, "danger")
            return redirect(url_for("core_system.settings"))
        flash(gettext("设置已保存"), "success")
        return redirect(url_for("core_system.settings"))
    groups: dict[str, list] = {}
    for key, decl in sorted(declared.items()):
        value = get_setting(key)
        shown = mask_secret(value) if decl.secret and value else _show(value)
        groups.setdefault(key.split(".", 1)[0], []).append((decl, shown))
    return render_template("core/admin/settings.html", groups=groups)


def _parse(kind: str, raw: str) -> Any:
    raw = raw.strip()
    if kind == "int":
        return int(raw) if raw else None
    if kind == "bool":
        return raw in ("1", "true", "on", "yes")
    if kind == "json":
        return json.loads(raw) if raw else None
    return raw or None


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# ------------------------------------------------------------------------- chat registry
@bp.route("/admin/chats", methods=["GET", "POST"])
@requires("core.settings.manage")
def chats() -> Any:
    """群聊用途: which chat is the sales group, which the service group … (a shared command
    such as #认领 acts on that purpose's records there)."""
    from core.bot import purposes
    from core.web.forms import run_action

    if request.method == "POST":
        chat_id, purpose = request.form.get("chat_id", ""), request.form.get("purpose", "")
        return run_action(lambda ctx: purposes.set_chat_purpose(ctx, chat_id, purpose),
                          gettext("群聊用途已保存"), url_for("core_system.chats"))
    configured = purposes.chat_purposes()
    options = [(p, purposes.purpose_label(p)) for p in purposes.known_purposes()]
    rows = [(chat, configured.get(chat, "")) for chat in purposes.known_chats()]
    return render_template("core/admin/chats.html", rows=rows, options=options)


# ---------------------------------------------------------------------------- failed jobs
@bp.route("/admin/jobs")
@requires("core.jobs.manage")
def failed_jobs() -> Any:

    registry = hooks.registry()
    return render_template("core/admin/jobs.html", failures=list_failed(),
                           total=count_failed(),
                           jobs=sorted(registry.jobs.values(), key=lambda s: s.name))


@bp.route("/admin/jobs/<int:id>")
@requires("core.jobs.manage")
def failed_job(id: int) -> Any:
    """One failure: its arguments, where it ran and its whole traceback."""
    failure = get_failed(id)
    if failure is None:
        abort(404)
    return render_template("core/admin/job_failure.html", f=failure)


@bp.route("/admin/jobs/<int:id>/delete", methods=["POST"])
@requires("core.jobs.manage")
def delete_job(id: int) -> Any:
    with unit_of_work(web_ctx()):
        deleted = delete_failed(id)
    if deleted:
        flash(gettext("已删除该失败记录"), "success")
    return redirect(url_for("core_system.failed_jobs"))


@bp.route("/admin/jobs/<int:id>/retry", methods=["POST"])
@requires("core.jobs.manage")
def retry_job(id: int) -> Any:

    with unit_of_work(web_ctx()):
        ok = retry_failed(id)
    if ok:
        flash(gettext("已重新排队"), "success")
    else:
        flash(gettext("该任务已重试过"), "warning")
    return redirect(url_for("core_system.failed_jobs"))


# --------------------------------------------------------------------------- notifications
@bp.route("/notifications")
@requires()
def notifications() -> Any:

    return render_template("core/notifications.html",
                           messages=inbox(web_ctx().actor, limit=100))


@bp.route("/notifications/read", methods=["POST"])
@requires()
def notifications_read() -> Any:

    ids = [int(i) for i in request.form.getlist("id") if i.isdigit()] or None
    with unit_of_work(ctx := web_ctx()):
        mark_read(ctx, ids)
    return redirect(url_for("core_system.notifications"))
