"""Stock pages: parts (list, detail, form), part requests (list, form, approval), receipts,
transfers, stock counts (盘点), purchase requests and orders, warehouses."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.errors import NotFoundError
from core.errors import TandemError
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
    return render_template(
        "stock/part_detail.html", part=part, stock=queries.stock_by_warehouse(part.id),
        moves=queries.ledger(part.id), orders=queries.open_order_lines(part.id),
        figures=figures, warehouses=_warehouses())


def _part_form_data() -> dict[str, Any]:
    form = request.form
    data = {k: form.get(k, "") for k in ("part_code", "part_name", "category",
                                         "specification", "applicable_models", "unit",
                                         "unit_price", "min_stock_alert", "reorder_quantity",
                                         "supplier_id")}
    data["substitute_ids"] = [int(v) for v in form.getlist("substitute_ids") if v.isdigit()]
    return data


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
                saved = (catalogue.create_part(ctx, values) if part is None
                         else catalogue.update_part(ctx, part.id, values))
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
        values["substitute_ids"] = [p.id for p in part.substitutes]
    others = db.session.scalars(select(Part).where(Part.active.is_(True))
                                .order_by(Part.part_code).limit(500)).all()
    suppliers = db.session.scalars(select(Supplier).order_by(Supplier.name)).all()
    return render_template("stock/part_form.html", part=part, values=values, errors=errors,
                           categories=PART_CATEGORIES, others=others, suppliers=suppliers), \
        (422 if errors else 200)


# ------------------------------------------------------------------ part requests
def _request_items(r: PartRequest) -> str:
    return _("、").join(f"{ln.part.part_code}×{ln.quantity}" for ln in r.lines)


REQUESTS = ListView(
    PartRequest,
    "stock.requests",
    columns=[
        Column("number", "编号", sort=PartRequest.id, link=True),
        Column("items", "配件", value=_request_items),
        Column("requester", "申请人", value=lambda r: r.requester.name if r.requester else ""),
        Column("ticket_id", "工单", sort=PartRequest.ticket_id),
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
            ticket = values.get("ticket_id", "").strip()
            equipment = values.get("equipment_id", "").strip()
            with unit_of_work(ctx):
                req = svc.create_request(
                    ctx, [{"part_id": int(values.get("part_id") or 0) or None,
                           "part_code": values.get("part_code") or None,
                           "quantity": values.get("quantity", ""),
                           "urgency": values.get("urgency") or "normal"}],
                    int(ticket) if ticket.isdigit() else (ticket or None),
                    int(equipment) if equipment.isdigit() else (equipment or None),
                    values.get("notes", ""), purpose=values.get("purpose", "repair"),
                    submit="draft" not in request.form)
                req_id = req.id
            flash(_("配件申请已提交"), "success")
            return redirect(url_for(".request_detail", id=req_id))
        except TandemError as exc:
            flash(exc.message, "danger")
            errors = exc.fields
    parts_ = db.session.scalars(select(Part).where(Part.active.is_(True))
                                .order_by(Part.part_code).limit(1000)).all()
    return render_template("stock/request_form.html", values=values, errors=errors,
                           parts=parts_, purposes=PURPOSES), (422 if errors else 200)


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
    return render_template("stock/request_detail.html", req=req, stock=stock,
                           warehouses=_warehouses())


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


def _parts() -> list[Part]:
    return list(db.session.scalars(select(Part).where(Part.active.is_(True))
                                   .order_by(Part.part_code).limit(2000)))


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
    return render_template(template, values=values, errors=errors, parts=_parts(),
                           warehouses=_warehouses(), **context), (422 if errors else 200)


def _id(values: dict, key: str) -> int | None:
    value = str(values.get(key) or "").strip()
    return int(value) if value.isdigit() else None


@bp.route("/receipt", methods=["GET", "POST"])
@requires("stock.move.write")
def receipt() -> Any:
    def action(ctx: Any, v: dict) -> None:
        ledger.receive(ctx, _id(v, "part_id"), _id(v, "warehouse_id"), v.get("quantity"),
                       v.get("unit_cost"), v.get("note", ""))

    return _form_page("stock/receipt.html", action, _("已入库"))


@bp.route("/transfer", methods=["GET", "POST"])
@requires("stock.move.write")
def transfer() -> Any:
    def action(ctx: Any, v: dict) -> None:
        ledger.transfer(ctx, _id(v, "part_id"), _id(v, "from_warehouse_id"),
                        _id(v, "to_warehouse_id"), v.get("quantity"), v.get("note", ""))

    return _form_page("stock/transfer.html", action, _("已调拨"))


@bp.route("/count", methods=["GET", "POST"])
@requires("stock.count.write")
def count() -> Any:
    warehouse_id = request.values.get("warehouse_id", type=int)
    warehouses = _warehouses()
    wh = next((w for w in warehouses if w.id == warehouse_id), warehouses[0] if warehouses
              else None)
    rows = []
    if wh is not None:
        rows = [(p, ledger.on_hand(p.id, wh.id)) for p in _parts()]

    def action(ctx: Any, v: dict) -> None:
        counted = {int(k[len("counted_"):]): val for k, val in v.items()
                   if k.startswith("counted_") and k[len("counted_"):].isdigit()
                   and str(val).strip() != ""}
        ledger.count(ctx, wh.id if wh else 0, counted, v.get("note", ""))

    return _form_page("stock/count.html", action, _("盘点已保存，差异已调整"), warehouse=wh,
                      rows=rows)


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
                           suppliers=suppliers, warehouses=_warehouses(), parts=_parts())


@bp.route("/purchase-requests/new", methods=["POST"])
@requires("stock.purchase.write")
def purchase_request_new() -> Any:
    part = request.form.get("part_id", type=int)
    qty = request.form.get("quantity", "")
    return run_action(lambda c: purchasing.create_purchase_request(
        c, part, qty, request.form.get("note", "")), _("已提交采购申请"),
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
