"""The import pages (issue 19 #3): choose a kind, download its template, upload a file for a
dry run, see the refused rows (row, column, message), confirm, follow the progress; the log
of past runs with their error reports.

Downloads are query variants of the two pages (``?template=<kind>``, ``?download=errors``)
and the progress is ``?format=json`` of a run's page, polled by ``static/imports.js``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for
from flask_babel import gettext
from sqlalchemy.orm import selectinload

from core import imports
from core.errors import TandemError
from core.extensions import db
from core.imports.models import STATUSES
from core.security.access import requires
from core.services import unit_of_work
from core.web.context import web_ctx

bp = Blueprint("core_imports", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/imports/", methods=["GET", "POST"])
@requires()
def index() -> Any:
    ctx = web_ctx()
    kinds = imports.kinds_for(ctx)
    template = request.args.get("template")
    if template:
        path = imports.template_file(ctx, template)
        kind = imports.kinds()[template]
        return send_file(path, mimetype=XLSX, as_attachment=True,
                         download_name=f"{gettext(kind.label)}-{gettext('导入模板')}.xlsx")
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            with unit_of_work(ctx):
                log = imports.start(ctx, request.form.get("kind", ""),
                                    upload.filename if upload else "",
                                    upload.read() if upload else b"", dry_run=True)
            return redirect(url_for(".run", id=log.id))
        except TandemError as exc:
            flash(exc.message, "danger")
    logs = db.session.scalars(imports.visible_logs(ctx).options(
        selectinload(imports.ImportLog.actor)).limit(50)).all()
    names = {k: gettext(v.label) for k, v in imports.kinds().items()}
    return render_template("core/imports/index.html", kinds=kinds, logs=logs, names=names,
                           statuses=STATUSES, chosen=request.values.get("kind"))


@bp.route("/imports/<int:id>", methods=["GET", "POST"])
@requires()
def run(id: int) -> Any:
    ctx = web_ctx()
    log = imports.get_log(ctx, id)
    if request.method == "POST":  # confirm the dry run: import its file
        with unit_of_work(ctx):
            done = imports.confirm(ctx, log.id)
        return redirect(url_for(".run", id=done.id))
    if request.args.get("download") == "errors":
        if not log.error_report:
            abort(404)
        return send_file(imports.folder() / log.error_report, mimetype=XLSX, as_attachment=True,
                         download_name=f"{gettext('错误报告')}-{log.id}.xlsx")
    if request.args.get("format") == "json":
        return jsonify(id=log.id, status=log.status, percent=log.percent,
                       total=log.total_rows, processed=log.processed_rows,
                       created=log.created_rows, errors=log.error_rows)
    kind = imports.kinds().get(log.kind)
    imported = db.session.scalar(imports.visible_logs(ctx).where(
        imports.ImportLog.dry_run_of_id == log.id).limit(1)) if log.dry_run else None
    return render_template(
        "core/imports/run.html", log=log, kind=kind, statuses=STATUSES, imported=imported,
        errors=imports.report_rows(log) if log.status == "done" else [])
