"""Stock pages: parts (list, detail, form), part requests (list, form, approval), receipts,
transfers, stock counts (盘点), purchase requests and orders, warehouses."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint
from flask import abort
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.errors import NotFoundError
from core.errors import TandemError
from core.errors import ValidationError
from core.extensions import db
from core.security.access import requires
from core.security.models import User
from core.services import unit_of_work
from core.web.context import web_ctx
from core.web.escaping import html_text
from core.web.forms import run_action
from core.web.links import record_url
from core.web.listview import Column
from core.web.listview import Filter
from core.web.listview import ListView
from core.web.templating import money
from core.web.templating import translated
from modules.stock import queries
from modules.stock.models import PART_CATEGORIES
from modules.stock.models import PURPOSES
from modules.stock.models import REQUEST_STATUSES
from modules.stock.models import WAREHOUSE_KINDS
from modules.stock.models import OnHand
from modules.stock.models import Part
from modules.stock.models import PartRequest
from modules.stock.models import PartRequestLine
from modules.stock.models import PurchaseOrder
from modules.stock.models import PurchaseOrderLine
from modules.stock.models import PurchaseRequest
from modules.stock.models import Supplier
from modules.stock.models import Warehouse
from modules.stock.services import catalogue
from modules.stock.services import ledger
from modules.stock.services import purchasing
from modules.stock.services import requests as svc

bp = Blueprint("stock", __name__, url_prefix="/stock", template_folder="templates")

ON_HAND = queries.total_on_hand_expr()


def _part_rows(stmt: Any, ctx: Any) -> Any:
    return stmt.with_only_columns(
        Part.id, Part.part_code, Part.part_name, Part.category, Part.specification, Part.unit,
        Part.min_stock_alert, Part.unit_price, ON_HAND.label("on_hand"),
        maintain_column_froms=True)


PARTS = ListView(
    Part,
    "stock.parts",
    columns=[
        Column("part_code", "配件编码", sort=Part.part_code, link=True),
        Column("part_name", "配件名称", sort=Part.part_name),
        Column("category", "类别", sort=Part.category,
               value=lambda r: PART_CATEGORIES.get(r.category, r.category), fmt="label"),
        Column("specification", "规格型号"),
        Column("on_hand", "库存", value=lambda r: f"{r.on_hand} {r.unit}"),
        Column("min_stock_alert", "最低库存", sort=Part.min_stock_alert,
               value=lambda r: (f"⚠ {r.min_stock_alert}" if r.min_stock_alert
                                and r.on_hand < r.min_stock_alert else r.min_stock_alert)),
        Column("unit_price", "单价", sort=Part.unit_price, fmt="money"),
    ],
    search=[Part.part_code, Part.part_name, Part.specification, Part.applicable_models],
    filters=[Filter("category", "类别", Part.category, PART_CATEGORIES),
             Filter("low_stock", "库存预警", {"1": queries.low_stock_clause()},
                    {"1": "低于最低库存"}, kind="condition")],
    default_sort="part_code",
    detail_endpoint="stock.part_detail",
    live_models="stock_on_hand",
    row_select=_part_rows,
    keep_statements=True,  # PARTS_BASE on every request; _part_rows reads no context
)
# ``WHERE stock_part.active`` as the benchmark's hand-written SQL has it (``IS true`` is
# another expression: a partial index on ``active`` would not serve it).
PARTS_BASE = select(Part).where(Part.active)


PHONE_HIDDEN = frozenset({"category", "specification", "unit_price"})
HIDDEN_TD = '<td class="d-none d-md-table-cell"'


def _part_cells() -> Any:
    """A part row's ``<td>`` cells (a row of :func:`_part_rows`), written in Python in one
    piece: category labels translated once a page; the cells of ``PHONE_HIDDEN`` are hidden
    below 768 px."""
    detail = record_url("stock.part_detail")
    categories = {k: str(escape(v)) for k, v in translated(PART_CATEGORIES).items()}

    text = html_text  # a local name: looked up hundreds of times a page

    def cells(row: Any) -> str:
        id_, code, name, category, spec, unit, minimum, price, on_hand = row[:9]
        low = f"⚠ {minimum}" if minimum and on_hand < minimum else text(minimum)
        return (f'<td><a href="{detail(id_)}">{text(code)}</a></td><td>{text(name)}</td>'
                f"{HIDDEN_TD}>{categories.get(category) or text(category)}</td>"
                f"{HIDDEN_TD}>{text(spec)}</td><td>{on_hand} {text(unit)}</td>"
                f"<td>{low}</td>{HIDDEN_TD}>{money(price)}</td>")

    return cells


@bp.route("/parts/suggest")
@requires("stock.part.read")
def part_suggest() -> Any:
    """The pickers' suggestions: active parts whose code starts with, or whose name holds,
    what was typed (20 at most)."""
    term = request.args.get("q", "").strip()[:50]
    if not term:
        return jsonify(items=[])
    rows = db.session.execute(
        select(Part.part_code, Part.part_name).where(
            Part.active.is_(True), queries.part_matches(term))
        .order_by(Part.part_code).limit(20))
    return jsonify(items=[{"value": code, "label": f"{code} {name}"} for code, name in rows])


@bp.route("/parts")
@requires("stock.part.read")
def parts() -> Any:
    ctx = web_ctx()
    actions = [("新建配件", url_for(".part_new"))] if ctx.can("stock.part.write") else []
    return PARTS.respond(ctx, PARTS_BASE, title="配件",
                         actions=actions, template="stock/part_list.html",
                         cells=_part_cells(), phone_hidden=PHONE_HIDDEN)


@bp.route("/parts/<int:id>")
@requires("stock.part.read")
def part_detail(id: int) -> Any:  # noqa: A002 - the list view links with ``id``
    part = db.session.get(Part, id)
    if part is None:
        abort(404)
    figures = dict(queries.projected_stock(part_ids=[part.id])).get(part) or {}
    moves = queries.ledger(part.id)
    return render_template(
        "stock/part_detail.html", part=part, stock=queries.stock_by_warehouse(part.id),
        moves=moves, orders=queries.open_order_lines(part.id), figures=figures,
        tickets=queries.reference_labels(web_ctx(), "ticket_id", [m.ticket_id for m in moves]),
        warehouses=_warehouses())


def _part_form_data() -> dict[str, Any]:
    form = request.form
    data = {k: form.get(k, "") for k in ("part_code", "part_name", "category",
                                         "specification", "applicable_models", "unit",
                                         "unit_price", "min_stock_alert", "reorder_quantity",
                                         "supplier_id")}
    data["substitute_codes"] = form.get("substitute_codes", "")
    return data


def _substitute_ids(codes: str) -> list[int]:
    """The parts named by the substitutes field: codes separated by commas, 、 or spaces
    (any case); codes of no part are refused on the field, all of them at once."""
    wanted = [c.upper() for c in re.split(r"[\s,，、;；]+", codes or "") if c]
    found = dict(db.session.execute(select(Part.part_code, Part.id)
                                    .where(Part.part_code.in_(wanted))).all()) if wanted else {}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise ValidationError.of_fields({"substitute_ids": _(
            "没有这些编码的配件：%(codes)s", codes=_("、").join(unknown))})
    return list(dict.fromkeys(found[c] for c in wanted))


@bp.route("/parts/new", methods=["GET", "POST"])
@requires("stock.part.write")
def part_new() -> Any:
    return _part_form(None)


@bp.route("/parts/<int:part_id>/edit", methods=["GET", "POST"])
@requires("stock.part.write")
def part_edit(part_id: int) -> Any:
    part = db.session.get(Part, part_id)
    if part is None:
        abort(404)
    return _part_form(part)


def _part_form(part: Part | None) -> Any:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = _part_form_data()
        ctx = web_ctx()
        try:
            with unit_of_work(ctx):
                data = {k: v for k, v in values.items() if k != "substitute_codes"}
                data["substitute_ids"] = _substitute_ids(values["substitute_codes"])
                saved = (catalogue.create_part(ctx, data) if part is None
                         else catalogue.update_part(ctx, part.id, data))
                saved_id = saved.id
            flash(_("配件已保存"), "success")
            return redirect(url_for(".part_detail", id=saved_id))
        except TandemError as exc:
            flash(exc.message, "danger")
            errors = exc.fields
    elif part is not None:
        values = {k: getattr(part, k) or "" for k in (
            "part_code", "part_name", "category", "specification", "applicable_models",
            "unit", "unit_price", "min_stock_alert", "reorder_quantity", "supplier_id")}
        values["substitute_codes"] = ", ".join(p.part_code for p in part.substitutes)
    suppliers = db.session.scalars(select(Supplier).order_by(Supplier.name)).all()
    return render_template("stock/part_form.html", part=part, values=values, errors=errors,
                           categories=PART_CATEGORIES, suppliers=suppliers), \
        (422 if errors else 200)


# ------------------------------------------------------------------ part requests
def _request_items(r: PartRequest) -> str:
    return _("、").join(f"{ln.part.part_code}×{ln.quantity}" for ln in r.lines)


def _ticket_labels(rows: list[PartRequest]) -> dict[int, str]:
    """The page's tickets by number (one query a page), else the bare id."""
    labels = queries.reference_labels(web_ctx(), "ticket_id", [r.ticket_id for r in rows])
    return {r.id: labels[r.ticket_id][0] if r.ticket_id in labels else
            (f"#{r.ticket_id}" if r.ticket_id else "") for r in rows}


REQUESTS = ListView(
    PartRequest,
    "stock.requests",
    columns=[
        Column("number", "编号", sort=PartRequest.id, link=True),
        Column("items", "配件", value=_request_items),
        Column("requester", "申请人", value=lambda r: r.requester.name if r.requester else ""),
        Column("ticket_id", "工单", sort=PartRequest.ticket_id, page_values=_ticket_labels),
        Column("status", "状态", sort=PartRequest.status, value=lambda r: r.status_label,
               fmt="label"),
        Column("urgency", "紧急", value=lambda r: "紧急" if r.urgency == "urgent" else "",
               fmt="label"),
        Column("created_at", "申请时间", sort=PartRequest.created_at, fmt="datetime"),
    ],
    filters=[Filter("status", "状态", PartRequest.status, REQUEST_STATUSES)],
    default_sort="-id",
    detail_endpoint="stock.request_detail",
    live_models="stock_part_request",
    search=[PartRequest.notes],
    options=[selectinload(PartRequest.lines).selectinload(PartRequestLine.part),
             selectinload(PartRequest.requester)],
)


@bp.route("/requests")
@requires("stock.request.read")
def requests() -> Any:
    ctx = web_ctx()
    actions = [("申请配件", url_for(".request_new"))] if ctx.can("stock.request.create") else []
    return REQUESTS.respond(ctx, select(PartRequest), title="配件申请", actions=actions)


@bp.route("/requests/new", methods=["GET", "POST"])
@requires("stock.request.create")
def request_new() -> Any:
    errors: dict[str, str] = {}
    values: dict[str, Any] = dict(request.args)
    if request.method == "POST":
        values = request.form.to_dict()
        ctx = web_ctx()
        try:
            with unit_of_work(ctx):
                ticket_id, equipment_id = _request_target(ctx, values)
                req = svc.create_request(
                    ctx, [{"part_id": _picked_part(values),
                           "quantity": values.get("quantity", ""),
                           "urgency": values.get("urgency") or "normal"}],
                    ticket_id, equipment_id,
                    values.get("notes", ""), purpose=values.get("purpose", "repair"),
                    submit="draft" not in request.form)
                req_id = req.id
            flash(_("配件申请已提交"), "success")
            return redirect(url_for(".request_detail", id=req_id))
        except TandemError as exc:
            flash(exc.message, "danger")
            errors = exc.fields
    return render_template("stock/request_form.html", values=_with_part_code(values),
                           errors=errors, purposes=PURPOSES), (422 if errors else 200)


def _request_target(ctx: Any, values: dict) -> tuple[Any, Any]:
    """The ticket (and unit) a request form names: the ticket's number as people write it
    (``AS…``, found by the module that knows tickets: ``part_request_target``) or its id."""
    from core import hooks

    ticket = str(values.get("ticket_id") or "").strip()
    equipment = _id(values, "equipment_id")
    if not ticket or ticket.isdigit():
        return (int(ticket) if ticket else None), equipment
    try:
        found = hooks.call("part_request_target", text=ticket, chat_id=None, ctx=ctx)
    except NotFoundError:
        found = None
    if not found:
        raise ValidationError.of_fields({"ticket_id": _("没有找到工单 %(no)s", no=ticket)})
    return found["ticket_id"], found.get("equipment_id") or equipment


@bp.route("/requests/<int:id>")
@requires("stock.request.read")
def request_detail(id: int) -> Any:  # noqa: A002 - the list view links with ``id``
    ctx = web_ctx()
    try:
        req = svc.get_request(ctx, id)
    except NotFoundError:
        abort(404)
    stock = {ln.part_id: sum(q for _w, q in queries.stock_by_warehouse(ln.part_id))
             for ln in req.lines}
    for ln in req.lines:
        for sub in ln.part.substitutes:
            stock.setdefault(sub.id, sum(q for _w, q in queries.stock_by_warehouse(sub.id)))
    tickets = queries.reference_labels(ctx, "ticket_id", [req.ticket_id])
    units = queries.reference_labels(ctx, "equipment_id", [req.equipment_id])
    return render_template("stock/request_detail.html", req=req, stock=stock,
                           warehouses=_warehouses(), ticket=tickets.get(req.ticket_id),
                           unit=units.get(req.equipment_id))


def _req_action(request_id: int, action: Any, done: str) -> Any:
    return run_action(action, done, url_for(".request_detail", id=request_id))


@bp.route("/requests/<int:request_id>/approve", methods=["POST"])
@requires("stock.request.approve")
def request_approve(request_id: int) -> Any:
    when = request.form.get("when_short", "queue")
    wh = request.form.get("warehouse_id", type=int)
    return _req_action(request_id, lambda c: svc.approve_request(
        c, request_id, when_short=when, warehouse_id=wh), _("已批准"))


@bp.route("/requests/<int:request_id>/reject", methods=["POST"])
@requires("stock.request.approve")
def request_reject(request_id: int) -> Any:
    reason = request.form.get("reason", "")
    return _req_action(request_id, lambda c: svc.reject_request(c, request_id, reason),
                       _("已驳回"))


@bp.route("/requests/<int:request_id>/ask-info", methods=["POST"])
@requires("stock.request.approve")
def request_ask_info(request_id: int) -> Any:
    question = request.form.get("question", "")
    return _req_action(request_id, lambda c: svc.ask_for_information(c, request_id, question),
                       _("已退回申请人补充信息"))


@bp.route("/requests/<int:request_id>/submit", methods=["POST"])
@requires("stock.request.create")
def request_submit(request_id: int) -> Any:
    notes = request.form.get("notes")
    return _req_action(request_id, lambda c: svc.submit_request(c, request_id, notes),
                       _("已提交审批"))


@bp.route("/requests/<int:request_id>/cancel", methods=["POST"])
@requires("stock.request.create")
def request_cancel(request_id: int) -> Any:
    return _req_action(request_id, lambda c: svc.cancel_request(c, request_id), _("已取消"))


@bp.route("/requests/<int:request_id>/substitute", methods=["POST"])
@requires("stock.request.approve")
def request_substitute(request_id: int) -> Any:
    line = request.form.get("line_id", type=int) or 0
    sub = request.form.get("substitute_id", type=int) or 0
    return _req_action(request_id, lambda c: svc.use_substitute(c, request_id, line, sub),
                       _("已改用替代件"))


@bp.route("/requests/<int:request_id>/return", methods=["POST"])
@requires("stock.request.read")
def request_return(request_id: int) -> Any:
    line = request.form.get("line_id", type=int) or 0
    qty = request.form.get("quantity", "")
    return _req_action(request_id, lambda c: svc.return_unused(c, request_id, line, qty),
                       _("已退料入库"))


# ------------------------------------------------------------------ stock movements
def _warehouses() -> list[Warehouse]:
    return list(db.session.scalars(select(Warehouse).where(Warehouse.active.is_(True))
                                   .order_by(Warehouse.kind != "main", Warehouse.id)))


def _picked_part(values: dict, key: str = "part_id") -> int | None:
    """The part a picker names: its id, else the code typed or scanned (``<key>_code``, as
    ``part_picker`` submits it); a code of no part is refused on the field."""
    if (part_id := _id(values, key)) is not None:
        return part_id
    code = str(values.get(f"{key}_code") or "").strip().split(" ")[0].upper()
    if not code:
        return None
    part_id = db.session.scalar(select(Part.id).where(Part.part_code == code))
    if part_id is None:
        raise ValidationError.of_fields({key: _("没有编码为 %(code)s 的配件", code=code)})
    return part_id


def _with_part_code(values: dict, key: str = "part_id") -> dict:
    """A form opened for a part (``?part_id=``) shows its code in the picker."""
    if not values.get(f"{key}_code") and (part_id := _id(values, key)) is not None:
        code = db.session.scalar(select(Part.part_code).where(Part.id == part_id))
        values = {**values, f"{key}_code": code or ""}
    return values


def _form_page(template: str, action: Any, done: str, **context: Any) -> Any:
    errors: dict[str, str] = {}
    values = request.form.to_dict() if request.method == "POST" else dict(request.args)
    if request.method == "POST":
        ctx = web_ctx()
        try:
            with unit_of_work(ctx):
                action(ctx, values)
            flash(done, "success")
            return redirect(request.url)
        except TandemError as exc:
            flash(exc.message, "danger")
            errors = exc.fields
    return render_template(template, values=_with_part_code(values), errors=errors,
                           warehouses=_warehouses(), **context), (422 if errors else 200)


def _id(values: dict, key: str) -> int | None:
    value = str(values.get(key) or "").strip()
    return int(value) if value.isdigit() else None


@bp.route("/receipt", methods=["GET", "POST"])
@requires("stock.move.write")
def receipt() -> Any:
    def action(ctx: Any, v: dict) -> None:
        ledger.receive(ctx, _picked_part(v), _id(v, "warehouse_id"), v.get("quantity"),
                       v.get("unit_cost"), v.get("note", ""))

    return _form_page("stock/receipt.html", action, _("已入库"))


@bp.route("/transfer", methods=["GET", "POST"])
@requires("stock.move.write")
def transfer() -> Any:
    def action(ctx: Any, v: dict) -> None:
        ledger.transfer(ctx, _picked_part(v), _id(v, "from_warehouse_id"),
                        _id(v, "to_warehouse_id"), v.get("quantity"), v.get("note", ""))

    return _form_page("stock/transfer.html", action, _("已调拨"))


@bp.route("/count", methods=["GET", "POST"])
@requires("stock.count.write")
def count() -> Any:
    warehouse_id = request.values.get("warehouse_id", type=int)
    warehouses = _warehouses()
    wh = next((w for w in warehouses if w.id == warehouse_id), warehouses[0] if warehouses
              else None)
    rows, more = _count_rows(wh, request.values.get("category", ""),
                             request.values.get("q", "").strip()) if wh else ([], False)

    def action(ctx: Any, v: dict) -> None:
        counted = {int(k[len("counted_"):]): val for k, val in v.items()
                   if k.startswith("counted_") and k[len("counted_"):].isdigit()
                   and str(val).strip() != ""}
        ledger.count(ctx, wh.id if wh else 0, counted, v.get("note", ""))

    return _form_page("stock/count.html", action, _("盘点已保存，差异已调整"), warehouse=wh,
                      rows=rows, more=more, count_rows=COUNT_ROWS, categories=PART_CATEGORIES)


COUNT_ROWS = 300  # parts on one count sheet; more are narrowed by category or code


def _count_rows(wh: Warehouse, category: str, term: str) -> tuple[list[tuple[Part, int]], bool]:
    """A count sheet: the warehouse's parts (those it has held) with their book quantity,
    or, with a category or a code / name, every active part that matches (a part found on
    the shelf that the books do not know); at most ``COUNT_ROWS``, and whether there are
    more. One statement."""
    stmt = (select(Part, func.coalesce(OnHand.on_hand, 0))
            .outerjoin(OnHand, (OnHand.part_id == Part.id) & (OnHand.warehouse_id == wh.id))
            .where(Part.active.is_(True)).order_by(Part.part_code).limit(COUNT_ROWS + 1))
    if category:
        stmt = stmt.where(Part.category == category)
    if term:
        stmt = stmt.where(queries.part_matches(term))
    if not (category or term):
        stmt = stmt.where(OnHand.part_id.is_not(None))
    rows = [(part, int(qty)) for part, qty in db.session.execute(stmt)]
    return rows[:COUNT_ROWS], len(rows) > COUNT_ROWS


# ------------------------------------------------------------------ purchasing
@bp.route("/purchase-requests")
@requires("stock.purchase.read")
def purchase_requests() -> Any:
    status = request.args.get("status", "open")
    stmt = select(PurchaseRequest).order_by(PurchaseRequest.id.desc()).limit(200)
    if status == "open":
        stmt = stmt.where(PurchaseRequest.status.in_(("pending", "approved")))
    rows = db.session.scalars(stmt.options(selectinload(PurchaseRequest.part))).all()
    suppliers = db.session.scalars(select(Supplier).where(Supplier.active.is_(True))
                                   .order_by(Supplier.name)).all()
    return render_template("stock/purchase_requests.html", rows=rows, status=status,
                           suppliers=suppliers, warehouses=_warehouses())


@bp.route("/purchase-requests/new", methods=["POST"])
@requires("stock.purchase.write")
def purchase_request_new() -> Any:
    qty = request.form.get("quantity", "")
    return run_action(lambda c: purchasing.create_purchase_request(
        c, _picked_part(request.form), qty, request.form.get("note", "")), _("已提交采购申请"),
        url_for(".purchase_requests"))


@bp.route("/purchase-requests/<int:pr_id>/approve", methods=["POST"])
@requires("stock.purchase.approve")
def purchase_request_approve(pr_id: int) -> Any:
    return run_action(lambda c: purchasing.decide_purchase_request(
        c, pr_id, True, request.form.get("note", "")), _("已批准"),
        url_for(".purchase_requests"))


@bp.route("/purchase-requests/<int:pr_id>/reject", methods=["POST"])
@requires("stock.purchase.approve")
def purchase_request_reject(pr_id: int) -> Any:
    return run_action(lambda c: purchasing.decide_purchase_request(
        c, pr_id, False, request.form.get("note", "")), _("已驳回"),
        url_for(".purchase_requests"))


@bp.route("/purchase-orders")
@requires("stock.purchase.read")
def purchase_orders() -> Any:
    stmt = select(PurchaseOrder).order_by(PurchaseOrder.id.desc()).limit(200)
    if request.args.get("open"):
        stmt = stmt.where(PurchaseOrder.status.in_(("ordered", "partial")))
    rows = db.session.scalars(stmt.options(
        selectinload(PurchaseOrder.lines).selectinload(PurchaseOrderLine.part),
        selectinload(PurchaseOrder.supplier))).all()
    return render_template("stock/purchase_orders.html", rows=rows)


@bp.route("/purchase-orders/new", methods=["POST"])
@requires("stock.purchase.write")
def purchase_order_new() -> Any:
    ids = [int(i) for i in request.form.getlist("purchase_request_ids") if i.isdigit()]
    supplier = request.form.get("supplier_id", type=int)
    warehouse = request.form.get("warehouse_id", type=int)
    expected = request.form.get("expected_date") or None
    from datetime import date

    def action(ctx: Any) -> None:
        try:
            day = date.fromisoformat(expected) if expected else None
        except ValueError:
            day = None
        purchasing.create_purchase_order(ctx, supplier, warehouse, [], expected_date=day,
                                         purchase_request_ids=ids)

    return run_action(action, _("采购单已生成"), url_for(".purchase_orders"))


@bp.route("/purchase-orders/<int:order_id>")
@requires("stock.purchase.read")
def purchase_order_detail(order_id: int) -> Any:
    order = db.session.get(PurchaseOrder, order_id)
    if order is None:
        abort(404)
    return render_template("stock/purchase_order_detail.html", order=order)


@bp.route("/purchase-orders/<int:order_id>/receive", methods=["POST"])
@requires("stock.move.write")
def purchase_order_receive(order_id: int) -> Any:
    received = {k[len("line_"):]: v for k, v in request.form.items()
                if k.startswith("line_") and str(v).strip() not in ("", "0")}
    return run_action(lambda c: purchasing.receive_order(c, order_id, received,
                                                         request.form.get("note", "")),
                      _("已登记到货"), url_for(".purchase_order_detail", order_id=order_id))


# ------------------------------------------------------------------ warehouses
@bp.route("/warehouses", methods=["GET", "POST"])
@requires("stock.part.read")
def warehouses() -> Any:
    ctx = web_ctx()
    if request.method == "POST":
        if not ctx.can("stock.part.write"):
            abort(403)
        f = request.form
        return run_action(lambda c: catalogue.create_warehouse(
            c, f.get("code", ""), f.get("name", ""), f.get("kind", "main"),
            f.get("engineer_id", type=int)), _("仓库已保存"), url_for(".warehouses"))
    rows = db.session.scalars(select(Warehouse).order_by(Warehouse.kind != "main",
                                                         Warehouse.id)).all()
    engineers = db.session.scalars(select(User).where(User.active.is_(True))
                                   .order_by(User.username).limit(500)).all()
    return render_template("stock/warehouses.html", rows=rows, kinds=WAREHOUSE_KINDS,
                           engineers=engineers)


# ------------------------------------------------------------------ usage statistics
@bp.route("/usage")
@requires("stock.purchase.read")
def usage() -> Any:
    from datetime import date

    group = request.args.get("group", "part")
    if group not in queries.USAGE_GROUPS:
        abort(400)

    def day(name: str) -> Any:
        raw = request.args.get(name, "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            abort(400)

    from core.web.charts import bar_option
    from core.web.charts import chart_export
    from core.web.templating import money

    rows = queries.usage_stats(web_ctx(), group, day("date_from"), day("date_to"))
    for r in rows:
        if group == "category":
            r["key"] = _(PART_CATEGORIES.get(r["key"], r["key"]))
        elif r["key"] in ("未知", "-"):
            r["key"] = _(r["key"])
    # The chart shows the 20 most used; its table and the export carry every row.
    shown = rows[:20]
    option = bar_option([str(r["key"]) for r in shown],
                        [(_("数量"), [r["quantity"] for r in shown])])
    table = [[_(queries.USAGE_GROUPS[group]), _("数量"), _("金额"),
              _("工单数")]]
    table += [[str(r["key"]), r["quantity"], money(r["value"]), r["tickets"]] for r in rows]
    export = request.args.get("export")
    if export in ("csv", "xlsx"):
        figures = [table[0]] + [[str(r["key"]), r["quantity"], r["value"], r["tickets"]]
                                for r in rows]
        return chart_export(figures, export, f"parts_usage_{group}")
    args = {k: v for k, v in request.args.items() if k != "export"}
    return render_template("stock/usage.html", rows=rows, group=group, option=option,
                           table=table, groups=queries.USAGE_GROUPS, args=request.args,
                           csv_url=url_for(".usage", **args, export="csv"),
                           xlsx_url=url_for(".usage", **args, export="xlsx"))


@bp.route("/suppliers", methods=["GET", "POST"])
@requires("stock.purchase.read")
def suppliers() -> Any:
    ctx = web_ctx()
    if request.method == "POST":
        if not ctx.can("stock.part.write"):
            abort(403)
        f = request.form
        return run_action(lambda c: catalogue.create_supplier(
            c, f.get("name", ""), f.get("contact_name", ""), f.get("phone", "")),
            _("供应商已保存"), url_for(".suppliers"))
    rows = db.session.scalars(select(Supplier).order_by(Supplier.name)).all()
    return render_template("stock/suppliers.html", rows=rows)
