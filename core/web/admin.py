"""Admin pages of the core: the Apps page (install / upgrade / uninstall modules)."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from core.errors import TandemError
from core.registry import installer
from core.security.access import requires
from core.web.context import web_ctx

bp = Blueprint("core_admin", __name__, url_prefix="/admin")


@bp.route("/apps")
@requires("core.module.manage")
def apps():  # noqa: ANN201
    return render_template("core/apps.html", modules=installer.module_states())


@bp.route("/apps/<name>/install", methods=["POST"])
@requires("core.module.manage")
def app_install(name: str):  # noqa: ANN201
    try:
        done = installer.install([name], demo=bool(request.form.get("demo")), ctx=web_ctx())
        flash(_("已安装：%(modules)s", modules=_("、").join(done) or name), "success")
    except TandemError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("core_admin.apps"))


@bp.route("/apps/<name>/upgrade", methods=["POST"])
@requires("core.module.manage")
def app_upgrade(name: str):  # noqa: ANN201
    try:
        installer.upgrade([name])
        flash(_("已升级：%(modules)s", modules=name), "success")
    except TandemError as exc:
        flash(exc.message, "danger")
    return redirect(url_for("core_admin.apps"))


@bp.route("/apps/<name>/uninstall", methods=["GET", "POST"])
@requires("core.module.manage")
def app_uninstall(name: str):  # noqa: ANN201
    cascade = bool(request.values.get("cascade"))
    try:
        plan = installer.uninstall_plan(name, cascade=cascade)
    except TandemError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("core_admin.apps"))
    if request.method == "POST" and request.form.get("confirm") == "yes":
        try:
            installer.uninstall(name, cascade=cascade, ctx=web_ctx(),
                                keep_files=bool(request.form.get("keep_files")))
            flash(_("已卸载：%(modules)s", modules=_("、").join(plan.modules)), "success")
        except TandemError as exc:
            flash(exc.message, "danger")
        return redirect(url_for("core_admin.apps"))
    return render_template("core/apps_uninstall.html", name=name, plan=plan, cascade=cascade)
