"""Admin pages: settings, the audit log and failed jobs; the user's notifications."""

from __future__ import annotations

import json
from datetime import date
from datetime import datetime
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import hooks
from core.audit import AuditLog
from core.errors import ValidationError
from core.jobs.failures import list_failed
from core.jobs.failures import retry_failed
from core.notify import inbox
from core.notify import mark_read
from core.security.access import requires
from core.services import unit_of_work
from core.settings import get_setting
from core.settings import mask_secret
from core.settings import set_setting
from core.web.context import web_ctx
from core.web.listview import Column
from core.web.listview import Filter
from core.web.listview import ListView

bp = Blueprint("core_system", __name__)

SOURCES = {"web": "网页", "api": "API", "bot": "机器人", "job": "后台任务", "cli": "命令行",
           "system": "系统"}
SHANGHAI = ZoneInfo("Asia/Shanghai")

def _day_start(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), time.min, SHANGHAI)


def _day_end(value: str) -> datetime:
    return datetime.combine(date.fromisoformat(value), time.max, SHANGHAI)


AUDIT = ListView(
    AuditLog, "core_system.audit",
    columns=[
        Column("at", "时间", sort=AuditLog.at, fmt="datetime"),
        Column("actor", "操作人", value=lambda a: a.actor.name if a.actor else "—"),
        Column("source", "来源", sort=AuditLog.source, fmt="label",
               value=lambda a: SOURCES.get(a.source, a.source)),
        Column("model", "对象", sort=AuditLog.model),
        Column("record_id", "记录"),
        Column("action", "操作", sort=AuditLog.action),
        Column("changes", "变更", value=lambda a: _changes(a)),
    ],
    search=[AuditLog.model, AuditLog.record_id, AuditLog.message],
    filters=[
        Filter("source", "来源", AuditLog.source, SOURCES),
        Filter("model", "对象", AuditLog.model),
        Filter("record_id", "记录", AuditLog.record_id),
        Filter("actor_id", "操作人ID", AuditLog.actor_id, convert=int),
        Filter("from", "起始日期", AuditLog.at, kind="date_from", convert=_day_start),
        Filter("to", "截止日期", AuditLog.at, kind="date_to", convert=_day_end),
    ],
    default_sort="-at",
    options=[selectinload(AuditLog.actor)],
)


def _changes(entry: AuditLog) -> str:
    parts = [f"{k}: {v[0]} → {v[1]}" if isinstance(v, list) and len(v) == 2 else f"{k}: {v}"
             for k, v in (entry.changes or {}).items()]
    text = "；".join(parts)
    if entry.message:
        text = f"{entry.message}{'；' + text if text else ''}"
    return text[:300]


@bp.route("/admin/audit")
@requires("core.audit.read")
def audit() -> Any:
    return AUDIT.respond(web_ctx(), select(AuditLog), title="操作日志")


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


# ---------------------------------------------------------------------------- failed jobs
@bp.route("/admin/jobs")
@requires("core.jobs.manage")
def failed_jobs() -> Any:

    registry = hooks.registry()
    return render_template("core/admin/jobs.html", failures=list_failed(),
                           jobs=sorted(registry.jobs.values(), key=lambda s: s.name))


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
