"""Sign-in inside the WeCom client through WeCom's web OAuth2 (``connect/oauth2/authorize``
→ code → ``auth/getuserinfo``): a staff member who opens a Tandem link in WeCom lands on the
page signed in as himself, with his own rights — no password, nothing secret in the URL.

``/wecom/oauth/start?next=/sales/orders/12`` sends the browser to WeCom with a one-time
``state`` kept in the session; ``/wecom/oauth/callback`` checks it, asks WeCom who the code
belongs to and signs in the active user bound to that WeCom userid.
:func:`redirect_inside_wecom` sends any page opened in the WeCom client there first."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.extensions import db
from core.extensions import limiter
from core.security.access import public
from core.security.models import User
from core.web.auth import safe_next
from core.web.auth import sign_in
from modules.wecom.client import WeComAPIError
from modules.wecom.client import WeComClient
from modules.wecom.config import OFFICIAL_API_BASE
from modules.wecom.config import load_config

bp = Blueprint("wecom_oauth", __name__, url_prefix="/wecom/oauth")
OFFICIAL_OAUTH_BASE = "https://open.weixin.qq.com"
SESSION_KEY = "wecom_oauth"



def _oauth_base(api_base: str) -> str:
    return OFFICIAL_OAUTH_BASE if api_base.rstrip("/") == OFFICIAL_API_BASE else api_base


def _refused(message: str, status: int = 403) -> Any:
    return render_template("core/error.html", code=status, title=message, detail=""), status


@bp.route("/start")
@public
@limiter.limit("30/minute")
def start() -> Any:
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target)
    config = load_config()
    if not config.api_configured:
        return redirect(f"/login?{urlencode({'next': target})}")
    state = secrets.token_urlsafe(24)
    session[SESSION_KEY] = {"state": state, "next": target}
    base = current_app.config["TANDEM_BASE_URL"].rstrip("/")
    query = urlencode({"appid": config.corp_id, "redirect_uri": f"{base}/wecom/oauth/callback",
                       "response_type": "code", "scope": "snsapi_base", "state": state,
                       "agentid": config.agent_id})
    return redirect(f"{_oauth_base(config.api_base)}/connect/oauth2/authorize?{query}"
                    "#wechat_redirect")


@bp.route("/callback")
@public
@limiter.limit("30/minute")
def callback() -> Any:
    pending = session.pop(SESSION_KEY, None) or {}
    state, code = request.args.get("state", ""), request.args.get("code", "")
    if not pending or not state or not secrets.compare_digest(state, pending.get("state", "")):
        return _refused(_("登录链接已失效，请重新打开"))
    if not code:
        return _refused(_("企业微信未授权登录"))
    try:
        userid = WeComClient().oauth_userinfo(code).get("userid") or ""
    except WeComAPIError:
        return _refused(_("企业微信未授权登录"))
    user = db.session.scalar(select(User).where(User.wecom_userid == userid)) if userid else None
    if user is None or not user.active:
        return _refused(_("该企业微信账号未绑定可用的系统用户"))
    sign_in(user)
    return redirect(safe_next(pending.get("next")))


def redirect_inside_wecom() -> Any:
    """Inside the WeCom client (its browser says ``wxwork``), a page that needs a signed-in
    user signs him in through WeCom instead of showing the password form."""
    if current_user.is_authenticated or request.method != "GET":
        return None
    if "wxwork" not in request.headers.get("User-Agent", "").lower():
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "_tandem_public", False) or request.blueprint in (
            "wecom_oauth", "bootstrap") or request.endpoint == "static":
        return None
    if request.path.startswith("/api/"):
        return None
    config = load_config()
    if not config.api_configured:
        return None
    target = request.full_path if request.query_string else request.path
    return redirect(f"/wecom/oauth/start?{urlencode({'next': safe_next(target)})}")
