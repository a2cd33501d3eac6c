"""Login and logout, rate limited; language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired

from core.db import utcnow
from core.extensions import db
from core.extensions import limiter
from core.security.access import public
from core.security.access import requires
from core.security.models import User
from core.security.passwords import hash_password
from core.security.passwords import needs_rehash
from core.security.passwords import verify_password

bp = Blueprint("core_auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码"))])


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if (not parts.scheme and not parts.netloc and target.startswith("/")
                and not target.startswith("//") and "\\" not in target):
            return target
    return url_for("core_home.index")


def _login_limit() -> str:
    return current_app.config["TANDEM_LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"],
               error_message=lambda: _("登录尝试过于频繁，请稍后再试。"))
@public
def login():  # noqa: ANN201
    if current_user.is_authenticated:
        return redirect(url_for("core_home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        if user and user.active and verify_password(user.password_hash, form.password.data):
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
            user.last_login_at = utcnow()
            db.session.commit()
            session.clear()
            login_user(user)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        flash(_("用户名或密码错误。"), "danger")
    return render_template("core/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@requires()
def logout():  # noqa: ANN201
    logout_user()
    session.clear()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("core_auth.login"))


@bp.route("/locale/<code>", methods=["POST"])
@public
def set_locale(code: str):  # noqa: ANN201
    if code in current_app.config["TANDEM_LOCALES"]:
        session["locale"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    target = request.form.get("next") or (request.referrer and urlsplit(request.referrer).path)
    return redirect(_safe_next(target))
