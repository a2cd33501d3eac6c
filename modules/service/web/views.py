"""Ticket pages: list (filters on every dimension), kanban (待处理 / 处理中 / 已解决 / 已关闭),
detail with the action log, new ticket, the engineer's phone page "my tickets today", SLA
policies and engineers, and the customer's public survey page. Every button posts to one
action endpoint that calls the same service as the chat and the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint
from flask import abort
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import Select
from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlalchemy.orm import joinedload
from sqlalchemy.orm import lazyload
from sqlalchemy.orm import load_only
from wtforms import IntegerField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from core.errors import NotFoundError
from core.errors import TandemError
from core.errors import ValidationError
from core.extensions import db
from core.periods import day_end
from core.periods import day_start
from core.security.access import public
from core.security.access import requires
from core.security.models import User
from core.security.permissions import granted_users
from core.services import ServiceContext
from core.services import unit_of_work
from core.web.context import web_ctx
from core.web.forms import run_action
from core.web.forms import submit
from core.web.kanban import Kanban
from core.web.listview import Column
from core.web.listview import Filter
from core.web.listview import ListView
from modules.crm.models.customer import Customer
from modules.crm.queries import customer_choices
from modules.service import links
from modules.service.models import ACTION_LABELS
from modules.service.models import CHANNELS
from modules.service.models import COMPLAINT_LEVELS
from modules.service.models import OPEN_STATUSES
from modules.service.models import PHOTO_PHASES
from modules.service.models import PRIORITIES
from modules.service.models import SLA_STATES
from modules.service.models import STAGES
from modules.service.models import STATUSES
from modules.service.models import SURVEY_STATES
from modules.service.models import TICKET_TYPES
from modules.service.models import TRANSITIONS
from modules.service.models import WARRANTY
from modules.service.models import Engineer
from modules.service.models import SlaPolicy
from modules.service.models import Ticket
from modules.service.models import TicketPhoto
from modules.service.queries import mine_clause
from modules.service.services import dispatch
from modules.service.services import onsite
from modules.service.services import photos
from modules.service.services import ratings
from modules.service.services import sla as sla_service
from modules.service.services import surveys
from modules.service.services import tickets as svc
from modules.service.sla import to_local

bp = Blueprint("service", __name__, url_prefix="/service", template_folder="templates")
STATIC = Path(__file__).parent / "static"
SCRIPTS = {"today.js", "sign.js", "sw.js"}
public_bp = Blueprint("service_public", __name__, url_prefix="/service",
                      template_folder="templates")

_CUSTOMER = aliased(Customer)  # made once: the statements stay in SQLAlchemy's cache
_ASSIGNEE = aliased(User)


def _list_rows(stmt: Select, ctx: Any) -> Select:  # noqa: ARG001 - ListView's signature
    """A row of the list as plain columns (the customer's and the assignee's names joined
    for the page of rows only, not for its count)."""
    return (stmt.with_only_columns(
        Ticket.id, Ticket.ticket_no, Ticket.subject, Ticket.ticket_type, Ticket.priority,
        Ticket.status, Ticket.progress, Ticket.sla_state, Ticket.resolution_due_at,
        Ticket.created_at, _CUSTOMER.customer_name.label("customer_name"),
        _ASSIGNEE.name.label("assignee_name"), maintain_column_froms=True)
        .join_from(Ticket, _CUSTOMER, _CUSTOMER.id == Ticket.customer_id)
        .outerjoin_from(Ticket, _ASSIGNEE, _ASSIGNEE.id == Ticket.assignee_id))


TICKETS = ListView(
    Ticket,
    "service.index",
    columns=[
        Column("ticket_no", "工单号", sort=Ticket.ticket_no, link=True),
        Column("subject", "主题", sort=Ticket.subject),
        Column("customer", "客户", value=lambda t: t.customer_name),
        Column("ticket_type", "类型", sort=Ticket.ticket_type,
               value=lambda t: TICKET_TYPES[t.ticket_type], fmt="label"),
        Column("priority", "优先级", sort=Ticket.priority,
               value=lambda t: PRIORITIES[t.priority], fmt="label"),
        Column("status", "状态", sort=Ticket.status, value=lambda t: STATUSES[t.status],
               fmt="label"),
        Column("assignee", "负责人", value=lambda t: t.assignee_name or ""),
        Column("progress", "进度", sort=Ticket.progress, value=lambda t: f"{t.progress}%"),
        Column("sla_state", "SLA", sort=Ticket.sla_state,
               value=lambda t: SLA_STATES[t.sla_state], fmt="label"),
        Column("resolution_due_at", "解决时限", sort=Ticket.resolution_due_at, fmt="datetime"),
        Column("created_at", "创建时间", sort=Ticket.created_at, fmt="datetime"),
    ],
    search=[Ticket.ticket_no, Ticket.subject, Customer.customer_name],
    filters=[
        Filter("status", "状态", Ticket.status, STATUSES),
        Filter("stage", "阶段", Ticket.stage, STAGES),
        Filter("ticket_type", "类型", Ticket.ticket_type, TICKET_TYPES),
        Filter("priority", "优先级", Ticket.priority, PRIORITIES),
        Filter("sla_state", "SLA", Ticket.sla_state, SLA_STATES),
        Filter("warranty_status", "保修", Ticket.warranty_status, WARRANTY),
        Filter("survey_state", "评价", Ticket.survey_state, SURVEY_STATES),
        Filter("created_from", "创建自", Ticket.created_at, kind="date_from"),
        Filter("created_to", "创建至", Ticket.created_at, kind="date_to"),
        Filter("resolved_from", "解决自", Ticket.resolved_at, kind="date_from",
               convert=day_start),
        Filter("resolved_to", "解决至", Ticket.resolved_at, kind="date_to", convert=day_end),
        Filter("rated_from", "评价自", Ticket.rated_at, kind="date_from", convert=day_start),
        Filter("rated_to", "评价至", Ticket.rated_at, kind="date_to", convert=day_end),
    ],
    default_sort="-created_at",
    detail_endpoint="service.detail",
    live_models="service_ticket",
    row_select=_list_rows,
)

BOARD = Kanban(Ticket, Ticket.stage, STAGES, title=lambda t: f"{t.ticket_no} {t.subject}",
               fields=lambda t: [("客户", t.customer.customer_name),
                                 ("优先级", gettext(t.priority_label)),
                                 ("负责人", t.assignee.name if t.assignee else "—")],
               detail_endpoint="service.detail", move_endpoint="service.board_move",
               count_cap=10_000,  # columns of a million tickets: "10,000+", as the list
               few_cards=1_000,  # an engineer's sparse column: sorted, not walked
               # A card shows these columns only; the collaborators are not loaded.
               options=[load_only(Ticket.id, Ticket.ticket_no, Ticket.subject, Ticket.stage,
                                  Ticket.priority, Ticket.customer_id, Ticket.assignee_id),
                        lazyload(Ticket.collaborators),
                        joinedload(Ticket.customer).load_only(Customer.customer_name),
                        joinedload(Ticket.assignee).load_only(User.username, User.display_name)
                        .lazyload(User.roles)])


def _base(args: Any) -> Any:
    # The customer's name is searched (``q``): only then is the customer joined to filter.
    stmt = select(Ticket).join(Ticket.customer) if args.get("q", "").strip() \
        else select(Ticket)
    if args.get("mine"):
        stmt = stmt.where(mine_clause(web_ctx().actor_id))
    if args.get("assignee_id", "").isdigit():
        stmt = stmt.where(Ticket.assignee_id == int(args["assignee_id"]))
    if args.get("customer_id", "").isdigit():
        stmt = stmt.where(Ticket.customer_id == int(args["customer_id"]))
    if args.get("equipment_id", "").isdigit():
        stmt = stmt.where(Ticket.equipment_id == int(args["equipment_id"]))
    if args.get("open"):
        stmt = stmt.where(Ticket.status.in_(OPEN_STATUSES))
    return stmt


@bp.route("/tickets")
@requires("service.ticket.read")
def index() -> Any:
    ctx = web_ctx()
    actions = [(gettext("看板"), url_for(".board"))]
    if ctx.can("service.ticket.create"):
        actions.insert(0, (gettext("新建工单"), url_for(".create")))
    return TICKETS.respond(ctx, _base(request.args), title=gettext("售后工单"), actions=actions)


@bp.route("/board")
@requires("service.ticket.read")
def board() -> str:
    return BOARD.render(web_ctx(), _base(request.args), title=gettext("工单看板"))


@bp.route("/board/move", methods=["POST"])
@requires("service.ticket.read")
def board_move() -> Any:
    """A card dropped on another column: the matching service (认领 / 已解决 / 关闭)."""
    data = request.get_json(silent=True) or {}
    ctx = web_ctx()
    target = str(data.get("status", ""))
    try:
        with unit_of_work(ctx):
            ticket = svc.get_ticket(ctx, data.get("id", ""))
            if target == "doing" and ticket.assignee_id is None:
                svc.claim_ticket(ctx, ticket.id)
            elif target == "doing" and ticket.status in ("accepted", "reopened"):
                svc.start_service(ctx, ticket.id)
            elif target == "resolved":
                svc.resolve_ticket(ctx, ticket.id)
            elif target == "closed":
                svc.close_ticket(ctx, ticket.id)
            else:
                raise TandemError(gettext("不能这样移动工单：请在工单详情中操作"))
    except TandemError as exc:
        return jsonify({"error": {"code": exc.code, "message": exc.message,
                                  "fields": exc.fields}}), exc.http_status
    return jsonify({"ok": True})


def _ticket_or_404(ctx: Any, ticket_id: int) -> Ticket:
    try:
        return svc.get_ticket(ctx, ticket_id)
    except NotFoundError:
        abort(404)


def _servers() -> list[User]:
    """Who may take a ticket, for the pickers: one query, not every user of the company
    loaded and checked one by one."""
    return list(db.session.scalars(granted_users("service.ticket.write")))


@bp.route("/tickets/<int:id>")
@requires("service.ticket.read")
def detail(id: int) -> Any:  # noqa: A002 - the list and kanban components link by ``id``
    from core.hooks import call

    ctx = web_ctx()
    ticket = _ticket_or_404(ctx, id)
    extra = call("ticket_sections", ticket=ticket, ctx=ctx) or []
    may_manage = ctx.can("service.ticket.assign")
    is_assignee = ticket.assignee_id == ctx.actor_id
    is_worker = is_assignee or ctx.actor_id in ticket.collaborator_ids or may_manage
    return render_template(
        "service/ticket_detail.html", t=ticket, log=svc.action_log(ticket.id),
        # Rendered by the modules' own templates (escaped there): markup here.
        extra=[Markup(html) for block in extra for html in (block or [])],
        order_label=links.order_label(ticket.order_id), order_url=links.order_url(ticket.order_id),
        equipment_label=links.equipment_label(ticket.equipment_id),
        transitions=TRANSITIONS[ticket.status], may_manage=may_manage,
        is_assignee=is_assignee or may_manage, is_worker=is_worker and ticket.is_open,
        can_claim=ctx.can("service.ticket.claim") and ticket.assignee_id is None
        and ticket.status in ("pending", "reopened"),
        offered_to_me=is_assignee and ticket.offered_at is not None,
        servers=_servers() if is_worker else [], priorities=PRIORITIES,
        local=to_local, statuses=STATUSES, action_labels=ACTION_LABELS,
        channels=CHANNELS, visits=onsite.visits(ticket.id),
        report=onsite.latest_report(ticket.id), photos=photos.photos(ticket.id),
        phases=PHOTO_PHASES)


ACTIONS = {
    "claim": (lambda ctx, t, f: svc.claim_ticket(ctx, t), _l("已认领")),
    "accept": (lambda ctx, t, f: svc.accept_ticket(ctx, t), _l("已接单")),
    "decline": (lambda ctx, t, f: svc.decline_ticket(ctx, t, f.get("reason", "")), _l("已拒单")),
    "start": (lambda ctx, t, f: svc.start_service(ctx, t), _l("已开始服务")),
    "progress": (lambda ctx, t, f: svc.update_progress(ctx, t, f.get("percent", ""),
                                                       f.get("note", "")), _l("进度已更新")),
    "transfer": (lambda ctx, t, f: svc.transfer_ticket(ctx, t, f.get("user_id"),
                                                       f.get("reason", "")), _l("已转派")),
    "assign": (lambda ctx, t, f: svc.assign_ticket(ctx, t, f.get("user_id"),
                                                   f.get("reason", "")), _l("已派单")),
    "collaborator": (lambda ctx, t, f: svc.add_collaborator(ctx, t, f.get("user_id")),
                     _l("已添加协作人")),
    "resolve": (lambda ctx, t, f: svc.resolve_ticket(ctx, t, dict(f)),
                _l("已解决，已发送满意度调查")),
    "revisit": (lambda ctx, t, f: svc.mark_revisit(ctx, t, f.get("note", "")),
                _l("已标记需要回访")),
    "revisit_done": (lambda ctx, t, f: svc.complete_revisit(ctx, t, f.get("note", "")),
                     _l("已完成回访")),
    "escalate": (lambda ctx, t, f: svc.escalate(ctx, t, f.get("note", "")), _l("已催办")),
    "close": (lambda ctx, t, f: svc.close_ticket(ctx, t, f.get("note", "")), _l("工单已关闭")),
    "reopen": (lambda ctx, t, f: svc.reopen_ticket(ctx, t, f.get("reason", "")), _l("工单已重开")),
    "reject": (lambda ctx, t, f: svc.reject_ticket(ctx, t, f.get("reason", "")), _l("工单已驳回")),
    "cancel": (lambda ctx, t, f: svc.cancel_ticket(ctx, t, f.get("reason", "")), _l("工单已取消")),
    "priority": (lambda ctx, t, f: svc.set_priority(ctx, t, f.get("priority", ""),
                                                    f.get("reason", "")), _l("优先级已调整")),
    "pause": (lambda ctx, t, f: sla_service.pause(ctx, t, f.get("reason", "")), _l("SLA 已暂停")),
    "resume": (lambda ctx, t, f: sla_service.resume(ctx, t), _l("SLA 已恢复")),
    "details": (lambda ctx, t, f: svc.update_ticket(ctx, t, dict(f)), _l("已保存")),
    "check_in": (lambda ctx, t, f: onsite.check_in(ctx, t, f.get("lat"), f.get("lng")),
                 _l("已签到")),
    "check_out": (lambda ctx, t, f: onsite.check_out(ctx, t, f.get("lat"), f.get("lng")),
                  _l("已签退")),
}


@bp.route("/tickets/<int:ticket_id>/act/<action>", methods=["POST"])
@requires("service.ticket.read")
def act(ticket_id: int, action: str) -> Any:
    """Every button of the detail and phone pages: one service call each."""
    if action not in ACTIONS:
        abort(404)
    fn, done = ACTIONS[action]
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    target = request.form.get("next") or url_for(".detail", id=ticket_id)
    if not target.startswith("/") or target.startswith("//"):
        target = url_for(".detail", id=ticket_id)
    form.pop("next", None)
    return run_action(lambda ctx: fn(ctx, ticket_id, form), str(done), target)


@bp.route("/tickets/<int:ticket_id>/sign", methods=["GET", "POST"])
@requires("service.ticket.write")
def sign(ticket_id: int) -> Any:
    """The service report the customer signs on the engineer's phone."""
    ctx = web_ctx()
    ticket = _ticket_or_404(ctx, ticket_id)
    error = None
    if request.method == "POST":
        try:
            with unit_of_work(ctx):
                report = onsite.sign_report(ctx, ticket_id, request.form.get("signer_name", ""),
                                            request.form.get("signature", ""))
            flash(gettext("客户已签字，服务报告第 %(v)s 版已生成", v=report.version), "success")
            return redirect(url_for(".detail", id=ticket_id))
        except NotFoundError:
            abort(404)
        except TandemError as exc:
            error = exc.message
        ticket = _ticket_or_404(ctx, ticket_id)
    return render_template("service/sign.html", t=ticket, data=onsite.snapshot(ticket),
                           error=error, report=onsite.latest_report(ticket.id)), \
        (422 if error else 200)


@bp.route("/tickets/<int:ticket_id>/report.pdf")
@requires("service.ticket.read")
def report_pdf(ticket_id: int) -> Any:
    from flask import Response

    ctx = web_ctx()
    ticket = _ticket_or_404(ctx, ticket_id)
    report = onsite.latest_report(ticket.id)
    if report is None:
        abort(404)
    name = f"{ticket.ticket_no}-v{report.version}.pdf"
    return Response(report.pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


# ------------------------------------------------------------------------------ photos
MAX_FILES_PER_POST = 9


def uploads(field: str = "photos") -> list[bytes]:
    """The files of a multipart form (at most MAX_FILES_PER_POST)."""
    files = [f for f in request.files.getlist(field) if f and f.filename]
    if len(files) > MAX_FILES_PER_POST:
        raise TandemError(gettext("一次最多上传 %(n)s 张照片", n=MAX_FILES_PER_POST))
    return [f.read() for f in files]


def _back(ticket_id: int) -> str:
    target = request.form.get("next") or url_for(".detail", id=ticket_id)
    if not target.startswith("/") or target.startswith("//"):
        target = url_for(".detail", id=ticket_id)
    return target


@bp.route("/tickets/<int:ticket_id>/photos", methods=["POST"])
@requires("service.ticket.read")
def photo_upload(ticket_id: int) -> Any:
    """Photos taken on the phone or chosen on the desktop, one service call each."""
    phase, caption = request.form.get("phase", "other"), request.form.get("caption", "")

    def action(ctx: Any) -> int:
        files = uploads()
        if not files:
            raise ValidationError(gettext("请选择照片"), fields={"photos": gettext("请选择照片")})
        for data in files:
            photos.add_photo(ctx, ticket_id, data, phase, caption)
        return len(files)

    return run_action(action, lambda n: gettext("已上传 %(n)s 张照片", n=n), _back(ticket_id))


@bp.route("/photos/<int:photo_id>")
@requires("service.ticket.read")
def photo(photo_id: int) -> Any:
    """A ticket's photo for those who may see the ticket: from the app (local folder) or
    as a short-lived signed URL of the object store."""
    from flask import Response

    from core.storage import get_storage
    from core.storage import url_seconds

    try:
        row = photos.photo_for(web_ctx(), photo_id)
    except NotFoundError:
        abort(404)
    store = get_storage()
    signed = store.url(row.storage_key, url_seconds())
    if signed:
        response = redirect(signed)
    else:
        response = Response(store.get(row.storage_key), mimetype=row.content_type)
        response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.route("/photos/<int:photo_id>/delete", methods=["POST"])
@requires("service.ticket.read")
def photo_delete(photo_id: int) -> Any:
    ticket_id = db.session.scalar(select(TicketPhoto.ticket_id).where(
        TicketPhoto.id == photo_id))
    if ticket_id is None:
        abort(404)
    return run_action(lambda ctx: photos.delete_photo(ctx, photo_id), gettext("照片已删除"),
                      _back(ticket_id))


@bp.route("/sync/batch", methods=["POST"])
@requires("service.ticket.write")
def sync_batch() -> Any:
    """The phone page's offline queue, sent back on reconnect (session + CSRF header);
    the same service as ``POST /api/v1/sync/batch``."""
    from modules.service.api import out
    from modules.service.services.sync import apply_batch

    data = request.get_json(silent=True) or {}
    actions = data.get("actions")
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        return jsonify({"error": {"code": "invalid", "message": gettext("请求格式无效")}}), 400
    ctx = web_ctx()
    try:
        with unit_of_work(ctx):
            results = apply_batch(ctx, actions, out)
    except TandemError as exc:
        return jsonify({"error": {"code": exc.code, "message": exc.message}}), exc.http_status
    from core.api.schemas import jsonable

    return jsonify({"results": jsonable(results)})


@public_bp.route("/sw.js")
@public
def service_worker() -> Any:
    """The offline service worker (scope /service/: the phone pages keep working)."""
    return script("sw.js")


@public_bp.route("/static/<name>")
@public
def script(name: str) -> Any:
    """The module's scripts (the CSP allows only same-origin script files)."""
    from flask import send_from_directory

    if name not in SCRIPTS:
        abort(404)
    response = send_from_directory(STATIC, name, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


# ------------------------------------------------------------------------------ new ticket
class TicketForm(FlaskForm):
    customer_id = SelectField(_l("客户"), coerce=int, validators=[DataRequired()])
    ticket_type = SelectField(_l("服务类型"), choices=[(k, _l(v)) for k, v in TICKET_TYPES.items()])
    complaint_level = SelectField(_l("投诉级别"), choices=[("", "—")] + [
        (k, _l(v)) for k, v in COMPLAINT_LEVELS.items()], validators=[Optional()])
    subject = StringField(_l("问题主题"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("问题描述"), validators=[Optional(), Length(max=5000)])
    equipment_serial = StringField(_l("设备序列号"), validators=[Optional(), Length(max=100)])
    address = StringField(_l("服务地址"), validators=[Optional(), Length(max=300)])
    contact_phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=20)])
    assignee_id = SelectField(_l("指派工程师"), coerce=int, validators=[Optional()])

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.data.items() if k != "csrf_token" and v not in ("", None)}
        data["channel"] = "web"
        if not data.get("assignee_id"):
            data.pop("assignee_id", None)
        return data


@bp.route("/tickets/new", methods=["GET", "POST"])
@requires("service.ticket.create")
def create() -> Any:
    ctx = web_ctx()
    form = TicketForm()
    form.customer_id.choices = customer_choices(
        ctx, request.form.get("customer_id") or request.args.get("customer_id"))
    if request.args.get("customer_id", "").isdigit() and request.method == "GET":
        form.customer_id.data = int(request.args["customer_id"])
    form.assignee_id.choices = [(0, gettext("按派单规则"))]
    if ctx.can("service.ticket.assign"):
        form.assignee_id.choices += [(u.id, u.name) for u in _servers()]
    done, ticket = submit(form, lambda c: svc.create_ticket(c, form.service_data()))
    if done:
        flash(gettext("工单已创建：%(no)s", no=ticket.ticket_no), "success")
        return redirect(url_for(".detail", id=ticket.id))
    return render_template("service/ticket_form.html", form=form)


# ------------------------------------------------------------------------------ engineer
@bp.route("/today")
@requires("service.ticket.write")
def today() -> Any:
    """The engineer's phone page: his open tickets (appointments today first), with the
    customer's phone, the map link to the address and the day's actions."""
    ctx = web_ctx()
    stmt = (ctx.scoped(select(Ticket), Ticket)
            .where(mine_clause(ctx.actor_id), Ticket.status.in_(OPEN_STATUSES))
            .options(joinedload(Ticket.customer))
            .order_by(Ticket.appointment_at.is_(None), Ticket.appointment_at,
                      Ticket.resolution_due_at.is_(None), Ticket.resolution_due_at, Ticket.id))
    rows = list(db.session.scalars(stmt).unique())
    day = to_local(ctx.now).date()
    claimable = list(db.session.scalars(
        ctx.scoped(select(Ticket), Ticket).where(
            Ticket.assignee_id.is_(None), Ticket.status.in_(("pending", "reopened")))
        .options(joinedload(Ticket.customer)).order_by(Ticket.id.desc()).limit(10)).unique()) \
        if ctx.can("service.ticket.claim") else []
    from modules.service.models import Visit

    open_visits = set(db.session.scalars(select(Visit.ticket_id).where(
        Visit.user_id == ctx.actor_id, Visit.check_out_at.is_(None))))
    from core.hooks import call

    extras = {t.id: [Markup(html)  # rendered by the modules' own templates (escaped there)
                     for block in (call("ticket_phone_actions", ticket=t, ctx=ctx) or [])
                     for html in (block or [])] for t in rows}
    return render_template("service/today.html", rows=rows, claimable=claimable, day=day,
                           extras=extras,
                           local=to_local, map_url=_map_url, open_visits=open_visits,
                           phases=PHOTO_PHASES)


def _map_url(address: str | None) -> str | None:
    from urllib.parse import quote

    return f"https://uri.amap.com/search?keyword={quote(address)}" if address else None


# ------------------------------------------------------------------------------ SLA policies
class PolicyForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=100)])
    ticket_type = SelectField(_l("服务类型"), choices=[("", _l("全部"))] + [
        (k, _l(v)) for k, v in TICKET_TYPES.items()], validators=[Optional()])
    priority = SelectField(_l("优先级"), choices=[("", _l("全部"))] + [
        (k, _l(v)) for k, v in PRIORITIES.items()], validators=[Optional()])
    complaint_level = SelectField(_l("投诉级别"), choices=[("", _l("全部"))] + [
        (k, _l(v)) for k, v in COMPLAINT_LEVELS.items()], validators=[Optional()])
    response_minutes = IntegerField(_l("响应时限（工作分钟）"), validators=[DataRequired()])
    resolution_minutes = IntegerField(_l("解决时限（工作分钟）"), validators=[DataRequired()])
    sequence = IntegerField(_l("顺序"), default=100, validators=[Optional()])


@bp.route("/policies", methods=["GET", "POST"])
@requires("service.policy.manage")
def policies() -> Any:
    form = PolicyForm()
    done, _policy = submit(form, lambda c: sla_service.save_policy(
        c, {k: v for k, v in form.data.items() if k != "csrf_token"}))
    if done:
        flash(gettext("SLA 策略已保存，未结工单已重算"), "success")
        return redirect(url_for(".policies"))
    rows = list(db.session.scalars(select(SlaPolicy).order_by(SlaPolicy.sequence,
                                                                SlaPolicy.id)))
    engineers = list(db.session.scalars(select(Engineer).order_by(Engineer.user_id)))
    return render_template("service/policies.html", form=form, rows=rows, engineers=engineers,
                           types=TICKET_TYPES, priorities=PRIORITIES, levels=COMPLAINT_LEVELS)


@bp.route("/policies/<int:policy_id>/toggle", methods=["POST"])
@requires("service.policy.manage")
def policy_toggle(policy_id: int) -> Any:
    def action(ctx: Any) -> Any:
        policy = db.session.get(SlaPolicy, policy_id)
        if policy is None:
            raise NotFoundError(gettext("SLA 策略不存在"))
        data = {k: getattr(policy, k) for k in ("name", "ticket_type", "priority",
                                                "complaint_level", "customer_level",
                                                "response_minutes", "resolution_minutes",
                                                "sequence")}
        data["active"] = not policy.active
        return sla_service.save_policy(ctx, data, policy_id)

    return run_action(action, gettext("已保存"), url_for(".policies"))


@bp.route("/engineers/<int:user_id>", methods=["POST"])
@requires("service.policy.manage")
def engineer_save(user_id: int) -> Any:
    form = request.form
    data = {"skills": form.getlist("skills"),
            "areas": form.get("areas", "").replace("，", ",").split(","),
            "on_shift": bool(form.get("on_shift")), "on_leave": bool(form.get("on_leave"))}
    return run_action(lambda ctx: dispatch.save_engineer(ctx, user_id, data),
                      gettext("已保存"), url_for(".policies"))


# ------------------------------------------------------------------------------ survey
@public_bp.route("/survey/<token>", methods=["GET", "POST"])
@public
def survey(token: str) -> Any:
    """The customer's satisfaction page (signed, single-use link; no login)."""
    try:
        row = surveys.find_survey(token)
    except NotFoundError:
        abort(404)
    error = None
    if request.method == "POST":
        ctx = ServiceContext.system("web")
        try:
            with unit_of_work(ctx):
                ratings.answer_survey(ctx, token, request.form.get("score"),
                                      request.form.get("comment", ""))
            return render_template("service/survey_done.html")
        except TandemError as exc:
            error = exc.message
        row = surveys.find_survey(token)
    expired = row.answered_at is None and \
        to_local(row.expires_at) < to_local(ServiceContext.system().now)
    return render_template("service/survey.html", s=row, t=row.ticket, error=error,
                           expired=expired, token=token,
                           status=400 if error else 200), (422 if error else 200)

