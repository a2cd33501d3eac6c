"""Login and logout, rate limited; language switch."""

from __future__ import annotations

import secrets
from functools import cache
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


def safe_next(target: str | None) -> str:
    """``target`` when it is a path of this site (never ``//host`` or ``https://…``), else
    the home page."""
    if target:
        parts = urlsplit(target)
        if (not parts.scheme and not parts.netloc and target.startswith("/")
                and not target.startswith("//") and "\\" not in target):
            return target
    return url_for("core_home.index")


SESSION_GENERATION = "_tandem_gen"  # the user's session generation this session began under


def _login_limit() -> str:
    return current_app.config["TANDEM_LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["TANDEM_LOGIN_ACCOUNT_RATE_LIMIT"]


def _account_key() -> str:
    """Attempts on one account count together, from whatever address they come."""
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:64]


_TOO_MANY = lambda: _("登录尝试过于频繁，请稍后再试。")  # noqa: E731


@cache
def _decoy_hash() -> str:
    """A hash to verify against when there is no user's own: every attempt costs one."""
    return hash_password(secrets.token_urlsafe(16))


def check_credentials(username: str, password: str) -> User | None:
    """The active user with this username and password, else None, in the same time either
    way: an unknown, disabled or password-less user still costs one hash (issue 14 #11)."""
    user = db.session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None and user.password_hash else None
    valid = verify_password(stored or _decoy_hash(), password)
    if user is None or stored is None or not user.active or not valid:
        return None
    return user


def sign_in(user: User) -> None:
    """The one way a browser session is signed in (the password form, WeCom OAuth …): a new
    session for ``user`` under his present session generation (``session_is_current``), his
    login time noted. Commits."""
    user.last_login_at = utcnow()
    generation = user.session_generation or 0
    db.session.commit()
    session.clear()
    login_user(user)
    session[SESSION_GENERATION] = generation
    session.permanent = True


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], error_message=_TOO_MANY)
@limiter.limit(_account_limit, methods=["POST"], key_func=_account_key,
               error_message=_TOO_MANY)
@public
def login():  # noqa: ANN201
    if current_user.is_authenticated:
        return redirect(url_for("core_home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = check_credentials(form.username.data.strip()[:64], form.password.data[:1024])
        if user is not None:
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
            sign_in(user)
            return redirect(safe_next(request.args.get("next")))
        flash(_("用户名或密码错误。"), "danger")
    return render_template("core/login.html", form=form)


def session_is_current(user: User) -> bool:
    """Whether this browser session began under the user's present session generation."""
    return session.get(SESSION_GENERATION) == (user.session_generation or 0)


@bp.route("/logout", methods=["POST"])
@requires()
def logout():  # noqa: ANN201
    """Log out: this session, and any copy of its cookie, is over (the user's generation
    moves, which ends his other sessions too)."""
    from core.security.services import end_sessions

    user = db.session.get(User, current_user.id)
    if user is not None:
        end_sessions(user)
        db.session.commit()
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
    return redirect(safe_next(target))
