"""Admin pages: users, roles (permission matrix) and teams."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import BooleanField
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import Length
from wtforms.validators import Optional

from core import audit
from core import hooks
from core.errors import ConflictError
from core.extensions import db
from core.security.access import requires
from core.security.models import Role
from core.security.models import RolePermission
from core.security.models import Team
from core.security.models import User
from core.security.services import create_user
from core.security.services import set_password
from core.security.services import update_user
from core.services import unit_of_work
from core.web.context import web_ctx
from core.web.forms import submit
from core.web.listview import Column
from core.web.listview import Filter
from core.web.listview import ListView

bp = Blueprint("core_users", __name__, url_prefix="/admin")

USERS = ListView(
    User, "core_users.users",
    columns=[
        Column("username", "用户名", sort=User.username, link=True),
        Column("display_name", "姓名", sort=User.display_name),
        Column("roles", "角色", value=lambda u: gettext("、").join(
            sorted(gettext(r.label) for r in u.roles))),
        Column("team", "团队", value=lambda u: u.team.name if u.team else ""),
        Column("wecom_userid", "企业微信账号", sort=User.wecom_userid),
        Column("active", "启用", sort=User.active),
        Column("last_login_at", "最近登录", sort=User.last_login_at, fmt="datetime"),
    ],
    search=[User.username, User.display_name, User.phone, User.wecom_userid],
    filters=[Filter("active", "状态", User.active, {"1": "启用", "0": "停用"},
                    convert=lambda v: v == "1")],
    default_sort="username", detail_endpoint="core_users.user_edit", live_models="core_user",
    options=[selectinload(User.team)],
)


def _role_choices() -> list[tuple[str, str]]:
    return [(r.code, gettext(r.label))
            for r in db.session.scalars(select(Role).order_by(Role.code))]


def _team_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(str(t.id), t.name) for t in db.session.scalars(
        select(Team).order_by(Team.name))]


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名")),
                                                   Length(max=64)])
    display_name = StringField(_l("姓名"), validators=[Length(max=100)])
    wecom_userid = StringField(_l("企业微信账号 (userid)"), validators=[Length(max=64)])
    phone = StringField(_l("手机号"), validators=[Length(max=32)])
    email = StringField(_l("邮箱"), validators=[Optional(), Email(_l("邮箱格式不正确"))])
    roles = SelectMultipleField(_l("角色"))
    team_id = SelectField(_l("团队"))
    password = PasswordField(_l("密码（留空则不修改）"))
    active = BooleanField(_l("启用"), default=True)


@bp.route("/users")
@requires("core.user.read")
def users() -> Any:
    return USERS.respond(web_ctx(), select(User), title="用户",
                         actions=[("新建用户", url_for("core_users.user_new"))])


def _user_form(user: User | None) -> UserForm:
    form = UserForm(obj=user)
    form.roles.choices = _role_choices()
    form.team_id.choices = _team_choices()
    if user is not None and request.method == "GET":
        form.roles.data = sorted(user.role_codes)
        form.team_id.data = str(user.team_id or "")
    return form


@bp.route("/users/new", methods=["GET", "POST"])
@requires("core.user.manage")
def user_new() -> Any:
    form = _user_form(None)

    def action(ctx: Any) -> User:
        team = db.session.get(Team, int(form.team_id.data)) if form.team_id.data else None
        return create_user(ctx, form.username.data, roles=form.roles.data,
                           password=form.password.data or None,
                           display_name=form.display_name.data or "",
                           wecom_userid=form.wecom_userid.data or None,
                           phone=form.phone.data or None, email=form.email.data or None,
                           team=team)

    done, user = submit(form, action)
    if done:
        flash(gettext("已创建用户 %(username)s", username=user.username), "success")
        return redirect(url_for("core_users.users"))
    return render_template("core/admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:id>", methods=["GET", "POST"])
@requires("core.user.manage")
def user_edit(id: int) -> Any:
    user = db.session.get(User, id) or abort(404)
    form = _user_form(user)
    del form.username

    def action(ctx: Any) -> User:
        update_user(ctx, user, display_name=form.display_name.data,
                    wecom_userid=form.wecom_userid.data or None, phone=form.phone.data,
                    email=form.email.data, roles=form.roles.data,
                    team_id=int(form.team_id.data) if form.team_id.data else None,
                    active=form.active.data)
        if form.password.data:
            set_password(ctx, user, form.password.data)
        return user

    done, _ = submit(form, action)
    if done:
        flash(gettext("已保存用户 %(username)s", username=user.username), "success")
        return redirect(url_for("core_users.users"))
    return render_template("core/admin/user_form.html", form=form, user=user)


# ---------------------------------------------------------------------------------- roles
@bp.route("/roles", methods=["GET", "POST"])
@requires("core.role.manage")
def roles() -> Any:

    registry = hooks.registry()
    all_roles = list(db.session.scalars(select(Role).order_by(Role.code)))
    granted = {(g.role_code, g.permission) for g in db.session.scalars(select(RolePermission))}
    if request.method == "POST":
        wanted = {tuple(v.split("|", 1)) for v in request.form.getlist("grant") if "|" in v}
        wanted = {(r, p) for r, p in wanted if p in registry.permissions and r != "admin"}
        ctx = web_ctx()
        with unit_of_work(ctx):
            added, removed = wanted - granted, granted - wanted
            for role, perm in removed:
                db.session.execute(delete(RolePermission).where(
                    RolePermission.role_code == role, RolePermission.permission == perm))
            for role, perm in added:
                db.session.add(RolePermission(role_code=role, permission=perm))
            if added or removed:
                audit.record(ctx, "core_role_permission", "grants", record_id="*",
                             changes={"added": sorted("|".join(x) for x in added),
                                      "removed": sorted("|".join(x) for x in removed)})
        flash(gettext("权限已保存"), "success")
        return redirect(url_for("core_users.roles"))
    groups: dict[str, list] = {}
    for code, perm in sorted(registry.permissions.items()):
        groups.setdefault(registry.permission_owner[code], []).append(perm)
    return render_template("core/admin/roles.html", roles=all_roles, groups=groups,
                           granted=granted)


# ---------------------------------------------------------------------------------- teams
class TeamForm(FlaskForm):
    name = StringField(_l("团队名称"), validators=[DataRequired(_l("请输入团队名称")),
                                                  Length(max=100)])
    manager_id = SelectField(_l("经理"))


@bp.route("/teams", methods=["GET", "POST"])
@requires("core.team.manage")
def teams() -> Any:
    form = TeamForm()
    form.manager_id.choices = [("", "—")] + [
        (str(u.id), u.name) for u in db.session.scalars(
            select(User).where(User.active.is_(True)).order_by(User.username))]

    def action(ctx: Any) -> Team:

        if db.session.scalar(select(Team.id).where(Team.name == form.name.data.strip())):
            message = gettext("团队名称已存在")
            raise ConflictError(message, fields={"name": message})
        team = Team(name=form.name.data.strip(),
                    manager_id=int(form.manager_id.data) if form.manager_id.data else None)
        db.session.add(team)
        db.session.flush()
        return team

    done, team = submit(form, action)
    if done:
        flash(gettext("已创建团队 %(name)s", name=team.name), "success")
        return redirect(url_for("core_users.teams"))
    all_teams = list(db.session.scalars(select(Team).order_by(Team.name)))
    members = {t.id: list(db.session.scalars(select(User).where(User.team_id == t.id)))
               for t in all_teams}
    return render_template("core/admin/teams.html", form=form, teams=all_teams,
                           members=members)
