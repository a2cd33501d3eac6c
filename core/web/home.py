"""The landing page after login."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template

from core.security.access import requires

bp = Blueprint("core_home", __name__)


@bp.route("/")
@requires()
def index():  # noqa: ANN201
    return render_template("core/home.html")
