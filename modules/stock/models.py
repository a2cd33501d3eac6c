"""Spare parts, warehouses, the stock ledger, part requests and purchasing.

On-hand quantities come from the insert-only ledger (``stock_move``): every receipt, issue,
return, transfer leg and count adjustment is one signed row, and ``stock_on_hand`` holds
the running sum per (part, warehouse), maintained in the same transaction by one
conditional ``UPDATE`` (``… WHERE on_hand + :delta >= 0``) and guarded by
``CHECK (on_hand >= 0)``. A cancellation is a reversing row, never an edit.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import event
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from core.db import AuditedMixin
from core.db import TimestampMixin
from core.db import utcnow
from core.extensions import db
from core.security.models import User

PART_CATEGORIES = {
    "filter": "滤网",
    "compressor": "压缩机",
    "electrical": "电气",
    "refrigerant": "冷媒",
    "motor": "电机",
    "sensor": "传感器",
    "other": "其他",
}
WAREHOUSE_KINDS = {"main": "主仓库", "van": "车载库", "other": "其他仓库"}
MOVE_KINDS = {
    "receipt": "入库",
    "issue": "领用出库",
    "return": "退料",
    "transfer": "调拨",
    "adjustment": "盘点调整",
    "reversal": "冲销",
}
REQUEST_STATUSES = {
    "draft": "草稿",
    "pending": "待审批",
    "info_requested": "待补充信息",
    "waiting": "等待到货",
    "issued": "已出库",
    "rejected": "已驳回",
    "cancelled": "已取消",
}
OPEN_REQUEST_STATUSES = ("draft", "pending", "info_requested", "waiting")
PURPOSES = {"repair": "维修", "maintenance": "保养", "replacement": "更换"}
URGENCIES = {"normal": "普通", "urgent": "紧急"}
PURCHASE_REQUEST_STATUSES = {
    "pending": "待审批",
    "approved": "已批准",
    "ordered": "已下单",
    "rejected": "已驳回",
    "cancelled": "已取消",
}
OPEN_PURCHASE_REQUEST_STATUSES = ("pending", "approved")
PURCHASE_REASONS = {"low_stock": "低库存预警", "urgent": "紧急采购", "manual": "手工申请"}
PURCHASE_ORDER_STATUSES = {
    "ordered": "已下单",
    "partial": "部分到货",
    "received": "已到货",
    "cancelled": "已取消",
}
OPEN_PURCHASE_ORDER_STATUSES = ("ordered", "partial")


def request_number(request_id: int) -> str:
    return f"PR-{request_id}"


def purchase_order_number(order_id: int) -> str:
    return f"PO-{order_id}"


class Supplier(AuditedMixin, TimestampMixin, db.Model):
    __tablename__ = "stock_supplier"
    # How the supplier reads in history (core.history).
    __label__ = "供应商"
    __record_title__ = "name"
    __labels__ = {"name": "名称", "contact_name": "联系人", "phone": "电话", "notes": "备注",
                  "active": "启用"}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Part(AuditedMixin, TimestampMixin, db.Model):
    """A catalogue entry (seed 000 ``parts_inventory``; quantities live in the ledger)."""

    __tablename__ = "stock_part"
    __table_args__ = (
        CheckConstraint("min_stock_alert >= 0", name="min_stock_alert_not_negative"),
        CheckConstraint("reorder_quantity >= 0", name="reorder_quantity_not_negative"),
        CheckConstraint("on_hand_total >= 0", name="on_hand_total_not_negative"),
    )
    # How the part reads in history (core.history).
    __label__ = "配件"
    __record_title__ = "part_name"
    __labels__ = {
        "part_code": "配件编码", "part_name": "配件名称", "category": "类别",
        "specification": "规格型号", "applicable_models": "适用设备型号", "unit": "单位",
        "unit_price": "单价", "supplier_id": "供应商", "min_stock_alert": "最低库存",
        "reorder_quantity": "补货数量", "active": "启用",
    }
    __choices__ = {"category": PART_CATEGORIES}
    # Kept by the ledger (``ledger.post_move``): the moves are the history of both.
    __hidden_in_history__ = ("average_cost", "on_hand_total")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part_code: Mapped[str] = mapped_column(String(50), unique=True)
    part_name: Mapped[str] = mapped_column(String(200), index=True)
    category: Mapped[str] = mapped_column(String(50), default="other", index=True)
    specification: Mapped[str | None] = mapped_column(String(200))
    # Free text: the equipment models a part fits (one per line or comma separated).
    applicable_models: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(16), default="个")
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    average_cost: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=Decimal("0"))
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_supplier.id", ondelete="SET NULL"), index=True
    )
    min_stock_alert: Mapped[int] = mapped_column(Integer, default=0)
    reorder_quantity: Mapped[int] = mapped_column(Integer, default=0)
    # The sum of the part's on-hand rows, kept by the same statement sequence that changes
    # them (``ledger.post_move``): lists filter and sort on it without aggregating.
    on_hand_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    supplier: Mapped[Supplier | None] = relationship(viewonly=True)
    substitutes: Mapped[list[Part]] = relationship(
        secondary="stock_part_substitute",
        primaryjoin="Part.id == PartSubstitute.part_id",
        secondaryjoin="Part.id == PartSubstitute.substitute_id",
        viewonly=True,
        order_by="Part.part_code",
    )

    @property
    def category_label(self) -> str:
        return PART_CATEGORIES.get(self.category, self.category)

    @property
    def model_list(self) -> list[str]:
        text = (self.applicable_models or "").replace("，", ",").replace("\n", ",")
        return [m.strip() for m in text.split(",") if m.strip()]


class PartSubstitute(db.Model):
    """``substitute_id`` may replace ``part_id`` when it is short."""

    __tablename__ = "stock_part_substitute"

    part_id: Mapped[int] = mapped_column(
        ForeignKey("stock_part.id", ondelete="CASCADE"), primary_key=True
    )
    substitute_id: Mapped[int] = mapped_column(
        ForeignKey("stock_part.id", ondelete="CASCADE"), primary_key=True
    )


class PartSupplier(db.Model):
    """The suppliers of a part, with their price and lead time."""

    __tablename__ = "stock_part_supplier"

    part_id: Mapped[int] = mapped_column(
        ForeignKey("stock_part.id", ondelete="CASCADE"), primary_key=True
    )
    supplier_id: Mapped[int] = mapped_column(
        ForeignKey("stock_supplier.id", ondelete="CASCADE"), primary_key=True
    )
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    lead_days: Mapped[int | None] = mapped_column(Integer)

    supplier: Mapped[Supplier] = relationship(viewonly=True)


class Warehouse(AuditedMixin, TimestampMixin, db.Model):
    """A place that holds stock; an engineer's van is a warehouse of kind ``van``."""

    __tablename__ = "stock_warehouse"
    # How the warehouse reads in history (core.history).
    __label__ = "仓库"
    __record_title__ = "name"
    __labels__ = {"code": "编码", "name": "名称", "kind": "类型", "engineer_id": "工程师（车载库）",
                  "active": "启用"}
    __choices__ = {"kind": WAREHOUSE_KINDS}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="main")
    engineer_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    engineer: Mapped[User | None] = relationship(viewonly=True)

    @property
    def kind_label(self) -> str:
        return WAREHOUSE_KINDS.get(self.kind, self.kind)


class OnHand(db.Model):
    """The ledger's running sum per (part, warehouse); never below zero."""

    __tablename__ = "stock_on_hand"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        UniqueConstraint("part_id", "warehouse_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("stock_part.id", ondelete="CASCADE"))
    warehouse_id: Mapped[int] = mapped_column(
        ForeignKey("stock_warehouse.id", ondelete="CASCADE"), index=True
    )
    on_hand: Mapped[int] = mapped_column(Integer, default=0)

    part: Mapped[Part] = relationship(viewonly=True)
    warehouse: Mapped[Warehouse] = relationship(viewonly=True)


class StockMove(db.Model):
    """One signed line of the insert-only stock ledger (库存流水)."""

    __tablename__ = "stock_move"
    __table_args__ = (
        Index("ix_stock_move_part_warehouse", "part_id", "warehouse_id", "id"),
        Index("ix_stock_move_created", "created_at"),
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("stock_part.id", ondelete="CASCADE"))
    warehouse_id: Mapped[int] = mapped_column(
        ForeignKey("stock_warehouse.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)  # + in, − out
    unit_cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_part_request.id", ondelete="SET NULL"), index=True
    )
    purchase_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_purchase_order.id", ondelete="SET NULL"), index=True
    )
    ticket_id: Mapped[int | None] = mapped_column(Integer, index=True)  # service's, no FK
    equipment_id: Mapped[int | None] = mapped_column(Integer)
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_move.id", ondelete="SET NULL"), unique=True
    )
    transfer_key: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    part: Mapped[Part] = relationship(viewonly=True)
    warehouse: Mapped[Warehouse] = relationship(viewonly=True)
    actor: Mapped[User | None] = relationship(viewonly=True)

    @property
    def kind_label(self) -> str:
        return MOVE_KINDS.get(self.kind, self.kind)


@event.listens_for(StockMove, "before_update")
@event.listens_for(StockMove, "before_delete")
def _ledger_is_insert_only(mapper: Any, connection: Any, target: StockMove) -> None:
    raise RuntimeError("stock_move is insert-only: post a reversing entry instead")


class PartRequest(AuditedMixin, TimestampMixin, db.Model):
    """An engineer's request for parts (配件申请), optionally for a ticket and equipment."""

    __tablename__ = "stock_part_request"
    __table_args__ = (Index("ix_stock_part_request_status", "status", "id"),)
    # How the request reads in history (core.history).
    __label__ = "配件申请"
    __labels__ = {
        "requester_id": "申请人", "ticket_id": "工单", "equipment_id": "设备",
        "warehouse_id": "出库仓库", "status": "状态", "purpose": "用途", "urgency": "紧急程度",
        "notes": "说明", "decision_note": "审批意见", "decided_by_id": "审批人",
        "decided_at": "审批时间", "queued_at": "排队时间", "issued_at": "出库时间",
    }
    __choices__ = {"status": REQUEST_STATUSES, "purpose": PURPOSES, "urgency": URGENCIES}
    # service's ticket and equipment's unit, without a FK (stock stands alone).
    __references__ = {"ticket_id": "service_ticket", "equipment_id": "equipment_equipment"}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"), index=True
    )
    ticket_id: Mapped[int | None] = mapped_column(Integer, index=True)  # service's, no FK
    equipment_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK either
    warehouse_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_warehouse.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    purpose: Mapped[str] = mapped_column(String(20), default="repair")
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    notes: Mapped[str | None] = mapped_column(Text)
    decision_note: Mapped[str | None] = mapped_column(Text)  # reason / question asked
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column()
    queued_at: Mapped[datetime | None] = mapped_column()
    issued_at: Mapped[datetime | None] = mapped_column()

    requester: Mapped[User | None] = relationship(foreign_keys=[requester_id], viewonly=True)
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], viewonly=True)
    warehouse: Mapped[Warehouse | None] = relationship(viewonly=True)
    lines: Mapped[list[PartRequestLine]] = relationship(
        back_populates="request", order_by="PartRequestLine.id", cascade="all, delete-orphan"
    )

    @property
    def number(self) -> str:
        return request_number(self.id)

    @property
    def status_label(self) -> str:
        return REQUEST_STATUSES.get(self.status, self.status)

    @property
    def purpose_label(self) -> str:
        return PURPOSES.get(self.purpose, self.purpose)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REQUEST_STATUSES


class PartRequestLine(db.Model):
    __tablename__ = "stock_part_request_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("stock_part_request.id", ondelete="CASCADE"), index=True
    )
    part_id: Mapped[int] = mapped_column(ForeignKey("stock_part.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    issued_quantity: Mapped[int] = mapped_column(Integer, default=0)
    returned_quantity: Mapped[int] = mapped_column(Integer, default=0)
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    # When an approver gave a substitute, the part originally asked for.
    original_part_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_part.id", ondelete="SET NULL")
    )

    request: Mapped[PartRequest] = relationship(back_populates="lines")
    part: Mapped[Part] = relationship(foreign_keys=[part_id], viewonly=True)

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.issued_quantity


class PartsUsage(db.Model):
    """A part used on a ticket / equipment (seed 000 ``parts_usage``; its field names)."""

    __tablename__ = "stock_parts_usage"
    __table_args__ = (
        CheckConstraint(
            "purpose IN ('repair', 'maintenance', 'replacement')", name="purpose_known"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(Integer, index=True)
    equipment_id: Mapped[int | None] = mapped_column(Integer, index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("stock_part.id"), index=True)
    part_code: Mapped[str] = mapped_column(String(50))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))  # at issue
    engineer_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"), index=True
    )
    engineer_userid: Mapped[str | None] = mapped_column(String(100))
    engineer_name: Mapped[str | None] = mapped_column(String(100))
    usage_date: Mapped[date] = mapped_column(Date, index=True)
    purpose: Mapped[str] = mapped_column(String(20), default="repair")
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_part_request.id", ondelete="SET NULL"), index=True
    )
    move_id: Mapped[int | None] = mapped_column(ForeignKey("stock_move.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    part: Mapped[Part] = relationship(viewonly=True)


class PurchaseRequest(AuditedMixin, TimestampMixin, db.Model):
    """A need to buy (采购申请): from the low-stock rule, an urgent part request or by hand."""

    __tablename__ = "stock_purchase_request"
    __table_args__ = (Index("ix_stock_purchase_request_part_status", "part_id", "status"),)
    # How the request reads in history (core.history).
    __label__ = "采购申请"
    __labels__ = {
        "part_id": "配件", "quantity": "数量", "status": "状态", "reason": "来源",
        "part_request_id": "配件申请", "purchase_order_id": "采购单", "requested_by_id": "申请人",
        "decided_by_id": "审批人", "note": "说明",
    }
    __choices__ = {"status": PURCHASE_REQUEST_STATUSES, "reason": PURCHASE_REASONS}
    __hidden_in_history__ = ("snapshot",)  # the stock figures that triggered it: bookkeeping

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("stock_part.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(String(16), default="manual")
    snapshot: Mapped[dict | None] = mapped_column(JSON)  # what triggered it
    part_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_part_request.id", ondelete="SET NULL")
    )
    purchase_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_purchase_order.id", ondelete="SET NULL")
    )
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL")
    )
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(Text)

    part: Mapped[Part] = relationship(viewonly=True)

    @property
    def status_label(self) -> str:
        return PURCHASE_REQUEST_STATUSES.get(self.status, self.status)

    @property
    def reason_label(self) -> str:
        return PURCHASE_REASONS.get(self.reason, self.reason)


class PurchaseOrder(AuditedMixin, TimestampMixin, db.Model):
    """An order to a supplier (采购单), received in one or more receipts."""

    __tablename__ = "stock_purchase_order"
    # How the order reads in history (core.history).
    __label__ = "采购单"
    __labels__ = {"supplier_id": "供应商", "warehouse_id": "收货仓库", "status": "状态",
                  "expected_date": "预计到货", "notes": "备注", "created_by_id": "创建人"}
    __choices__ = {"status": PURCHASE_ORDER_STATUSES}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("stock_supplier.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("stock_warehouse.id"))
    status: Mapped[str] = mapped_column(String(16), default="ordered")
    expected_date: Mapped[date | None] = mapped_column(Date, index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL")
    )

    supplier: Mapped[Supplier] = relationship(viewonly=True)
    warehouse: Mapped[Warehouse] = relationship(viewonly=True)
    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="order", order_by="PurchaseOrderLine.id", cascade="all, delete-orphan"
    )

    @property
    def number(self) -> str:
        return purchase_order_number(self.id)

    @property
    def status_label(self) -> str:
        return PURCHASE_ORDER_STATUSES.get(self.status, self.status)


class PurchaseOrderLine(db.Model):
    __tablename__ = "stock_purchase_order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("received_quantity <= quantity", name="received_within_ordered"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("stock_purchase_order.id", ondelete="CASCADE"), index=True
    )
    part_id: Mapped[int] = mapped_column(ForeignKey("stock_part.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    received_quantity: Mapped[int] = mapped_column(Integer, default=0)
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    part: Mapped[Part] = relationship(viewonly=True)

    @property
    def open_quantity(self) -> int:
        return self.quantity - self.received_quantity


class StockCount(AuditedMixin, db.Model):
    """A stock count (盘点) of one warehouse; its differences became adjustment moves."""

    __tablename__ = "stock_count"
    # How the count reads in history (core.history).
    __label__ = "盘点"
    __labels__ = {"warehouse_id": "仓库", "counted_by_id": "盘点人", "counted_at": "盘点时间",
                  "note": "备注"}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("stock_warehouse.id"))
    counted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL")
    )
    counted_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    lines: Mapped[list[StockCountLine]] = relationship(
        order_by="StockCountLine.id", cascade="all, delete-orphan"
    )
    warehouse: Mapped[Warehouse] = relationship(viewonly=True)


class StockCountLine(db.Model):
    __tablename__ = "stock_count_line"
    __table_args__ = (UniqueConstraint("count_id", "part_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    count_id: Mapped[int] = mapped_column(ForeignKey("stock_count.id", ondelete="CASCADE"))
    part_id: Mapped[int] = mapped_column(ForeignKey("stock_part.id"))
    expected: Mapped[int] = mapped_column(Integer)
    counted: Mapped[int] = mapped_column(Integer)
    part: Mapped[Part] = relationship(viewonly=True)


MODELS = [
    Supplier,
    Part,
    PartSubstitute,
    PartSupplier,
    Warehouse,
    OnHand,
    PartRequest,
    PartRequestLine,
    PurchaseOrder,
    PurchaseOrderLine,
    StockMove,
    PartsUsage,
    PurchaseRequest,
    StockCount,
    StockCountLine,
]
