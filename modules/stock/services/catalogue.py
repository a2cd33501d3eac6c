"""The parts catalogue, warehouses and suppliers."""

from __future__ import annotations

import re
from decimal import Decimal
from decimal import InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy import select

from core.errors import ConflictError
from core.errors import FieldErrors
from core.errors import ValidationError
from core.extensions import db
from core.security.models import User
from core.services import ServiceContext
from modules.stock.models import PART_CATEGORIES
from modules.stock.models import WAREHOUSE_KINDS
from modules.stock.models import Part
from modules.stock.models import PartSubstitute
from modules.stock.models import Supplier
from modules.stock.models import Warehouse
from modules.stock.services.ledger import get_part

CODE = re.compile(r"^[A-Z0-9][A-Z0-9._\-]{1,49}$")
TEXT_FIELDS = {"part_name": 200, "specification": 200, "applicable_models": 2000, "unit": 16}


def _money(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError.of_fields({field: _("金额格式不正确")}) from None
    if not number.is_finite() or number < 0 or number >= Decimal("1e12"):
        raise ValidationError.of_fields({field: _("金额格式不正确")})
    return number.quantize(Decimal("0.01"))


def _int(value: Any, field: str) -> int:
    try:
        number = int(str(value).strip() or 0)
    except (TypeError, ValueError):
        raise ValidationError.of_fields({field: _("请输入 0 或正整数")}) from None
    if number < 0 or number > 1_000_000:
        raise ValidationError.of_fields({field: _("请输入 0 或正整数")})
    return number


def _apply(ctx: ServiceContext, part: Part, data: dict[str, Any]) -> None:
    errors = FieldErrors()
    for key, limit in TEXT_FIELDS.items():
        if key in data:
            value = (data[key] or "").strip() if isinstance(data[key], str | type(None)) else ""
            if key in ("part_name", "unit") and not value:
                errors.add(key, _("必填"))
            elif len(value) > limit:
                errors.add(key, _("内容过长"))
            else:
                setattr(part, key, value or None if key not in ("part_name", "unit") else value)
    if "category" in data:
        if data["category"] not in PART_CATEGORIES:
            errors.add("category", _("配件类别不正确"))
        else:
            part.category = data["category"]
    errors.raise_if_any()
    if "unit_price" in data:
        part.unit_price = _money(data["unit_price"], "unit_price")
    for key in ("min_stock_alert", "reorder_quantity"):
        if key in data:
            setattr(part, key, _int(data[key], key))
    if "supplier_id" in data:
        sid = data["supplier_id"] or None
        if sid is not None and db.session.get(Supplier, int(sid)) is None:
            raise ValidationError.of_fields({"supplier_id": _("供应商不存在")})
        part.supplier_id = int(sid) if sid else None
    if "active" in data and data["active"] is not None:
        part.active = bool(data["active"])
    db.session.flush()
    if "substitute_ids" in data and data["substitute_ids"] is not None:
        ids = {int(i) for i in data["substitute_ids"]}
        if part.id in ids:
            raise ValidationError.of_fields({"substitute_ids": _("配件不能替代自己")})
        for i in ids:
            get_part(i)
        db.session.execute(delete(PartSubstitute).where(PartSubstitute.part_id == part.id))
        for i in sorted(ids):
            db.session.add(PartSubstitute(part_id=part.id, substitute_id=i))
        db.session.flush()
        db.session.expire(part, ["substitutes"])


def create_part(ctx: ServiceContext, data: dict[str, Any]) -> Part:
    ctx.require("stock.part.write")
    code = str(data.get("part_code") or "").strip().upper()
    if not CODE.match(code):
        raise ValidationError.of_fields({"part_code": _(
            "配件编码只能包含大写字母、数字、点、横线和下划线，例如 AC-FILTER-001")})
    if db.session.scalar(select(Part.id).where(Part.part_code == code)):
        raise ConflictError(_("配件编码 %(code)s 已存在", code=code),
                            fields={"part_code": _("编码已存在")})
    part = Part(part_code=code, part_name="", unit="个", category="other")
    db.session.add(part)
    _apply(ctx, part, {"unit": "个", **{k: v for k, v in data.items() if k != "part_code"}})
    return part


def update_part(ctx: ServiceContext, part_id: int, data: dict[str, Any]) -> Part:
    ctx.require("stock.part.write")
    part = get_part(part_id)
    _apply(ctx, part, {k: v for k, v in data.items() if k != "part_code"})
    return part


def create_warehouse(ctx: ServiceContext, code: str, name: str, kind: str = "main",
                     engineer_id: int | None = None) -> Warehouse:
    ctx.require("stock.part.write")
    code = (code or "").strip().upper()
    name = (name or "").strip()
    errors = FieldErrors()
    if not CODE.match(code):
        errors.add("code", _("仓库编码只能包含大写字母、数字和横线"))
    if not name or len(name) > 100:
        errors.add("name", _("请填写仓库名称"))
    if kind not in WAREHOUSE_KINDS:
        errors.add("kind", _("仓库类型不正确"))
    if kind == "van" and not engineer_id:
        errors.add("engineer_id", _("车载库需要指定工程师"))
    if engineer_id and db.session.get(User, engineer_id) is None:
        errors.add("engineer_id", _("工程师不存在"))
    errors.raise_if_any()
    if db.session.scalar(select(Warehouse.id).where(Warehouse.code == code)):
        raise ConflictError(_("仓库编码 %(code)s 已存在", code=code))
    wh = Warehouse(code=code, name=name, kind=kind, engineer_id=engineer_id or None)
    db.session.add(wh)
    db.session.flush()
    return wh


def create_supplier(ctx: ServiceContext, name: str, contact_name: str = "",
                    phone: str = "") -> Supplier:
    ctx.require("stock.part.write")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError.of_fields({"name": _("请填写供应商名称")})
    if db.session.scalar(select(Supplier.id).where(Supplier.name == name)):
        raise ConflictError(_("供应商 %(name)s 已存在", name=name))
    sup = Supplier(name=name, contact_name=contact_name or None, phone=phone or None)
    db.session.add(sup)
    db.session.flush()
    return sup
