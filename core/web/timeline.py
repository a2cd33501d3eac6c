"""The timeline's comment form: ``POST /timeline/<model>/<record_id>/comments``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import request
from flask_babel import gettext

from core.errors import NotFoundError
from core.errors import TandemError
from core.security.access import requires
from core.services import unit_of_work
from core.timeline.services import add_comment
from core.web.auth import safe_next
from core.web.context import web_ctx

bp = Blueprint("core_timeline", __name__)


@bp.route("/timeline/<table>/<record_id>/comments", methods=["POST"])
@requires()
def post_comment(table: str, record_id: str) -> Any:
    ctx = web_ctx()
    try:
        with unit_of_work(ctx):
            add_comment(ctx, table, record_id, request.form.get("body", ""))
        flash(gettext("已添加备注"), "success")
    except NotFoundError:
        raise  # the app's 404 page (core.web.errors)
    except TandemError as exc:
        flash(exc.message, "danger")
    target = request.form.get("next") or urlsplit(request.referrer or "/").path
    return redirect(safe_next(target))


def blueprints() -> list[Blueprint]:
    return [bp]
