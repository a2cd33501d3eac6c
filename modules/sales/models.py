"""Orders (销售订单) with their lines, the changes made to confirmed orders, and the per-day
counter that numbers them (seed 000 ``orders``, seed 001 ``order_modifications``)."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from core.db import AuditedMixin
from core.db import TimestampMixin
from core.db import utcnow
from core.extensions import db
from core.security.models import User
from modules.crm.models.customer import Customer
from modules.crm.models.opportunity import Opportunity

STATUSES = {
    "pending": "待确认",
    "confirmed": "已确认",
    "paid": "已付款",
    "delivered": "已配送",
    "installed": "已安装",
    "completed": "已完成",
    "cancelled": "已取消",
}
# The one way forward (pending → confirmed → paid → delivered → installed → completed);
# "cancelled" is allowed from every state before "completed".
TRANSITIONS = {
    "pending": {"confirmed", "cancelled"},
    "confirmed": {"paid", "cancelled"},
    "paid": {"delivered", "cancelled"},
    "delivered": {"installed", "cancelled"},
    "installed": {"completed", "cancelled"},
    "completed": set(),
    "cancelled": set(),
}
OPEN_STATUSES = ("pending", "confirmed", "paid", "delivered", "installed")
NUMBER_PREFIX = "SO"


class Order(AuditedMixin, TimestampMixin, db.Model):
    """A sales order: ``order_no`` is ``SO`` + YYYYMMDD + a 4-digit sequence of that day."""

    __tablename__ = "sales_order"
    __table_args__ = (
        Index("ix_sales_order_status_id", "status", "id"),
        Index("ix_sales_order_owner_status", "sales_user_id", "status"),
        CheckConstraint("total_amount >= 0", name="total_not_negative"),
    )
    # How the order reads in history (core.history).
    __label__ = "销售订单"
    __record_title__ = "order_no"
    __labels__ = {
        "order_no": "订单编号", "opportunity_id": "来源商机", "customer_id": "客户",
        "customer_phone": "客户电话", "total_amount": "订单金额", "status": "状态",
        "sales_user_id": "负责人", "project_manager_id": "项目负责人",
        "engineer_id": "安装工程师", "delivery_address": "配送地址",
        "delivery_date": "计划配送日期", "install_date": "计划安装日期",
        "delivered_on": "实际配送日期", "installed_on": "实际安装日期",
        "confirmed_at": "确认时间", "paid_at": "付款时间", "completed_at": "完成时间",
        "cancelled_at": "取消时间", "cancel_reason": "取消原因", "notes": "备注",
        "lines": "订单明细",  # the "modify" action's change of the lines (not a column)
    }
    __choices__ = {"status": STATUSES}
    # Bumped to revoke every share link: the "share_revoke" action says it in words.
    __hidden_in_history__ = ("share_version",)
    __history_actions__ = {"share": "生成只读链接", "share_revoke": "撤销全部只读链接",
                           "modify": "订单变更", "handover": "客户交接",
                           "equipment": "安装设备"}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(20), unique=True)
    # One order per won opportunity (NULLs, i.e. direct orders, do not collide).
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_opportunity.id", ondelete="SET NULL"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("crm_customer.id", ondelete="RESTRICT"),
                                             index=True)
    customer_phone: Mapped[str | None] = mapped_column(String(20))
    total_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    sales_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"))
    # The project owner (项目负责人) told of changes besides the sales owner; often the same.
    project_manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"))
    engineer_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"), index=True)  # installing engineer
    delivery_address: Mapped[str | None] = mapped_column(Text)
    delivery_date: Mapped[date | None] = mapped_column(Date, index=True)  # planned
    install_date: Mapped[date | None] = mapped_column(Date, index=True)  # planned
    delivered_on: Mapped[date | None] = mapped_column(Date)  # actual
    installed_on: Mapped[date | None] = mapped_column(Date)  # actual
    confirmed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    # Read-only share links carry this number: revoking them all increments it.
    share_version: Mapped[int] = mapped_column(Integer, default=0)

    customer: Mapped[Customer] = relationship()
    opportunity: Mapped[Opportunity | None] = relationship()
    sales_user: Mapped[User | None] = relationship(foreign_keys=[sales_user_id])
    project_manager: Mapped[User | None] = relationship(foreign_keys=[project_manager_id])
    engineer: Mapped[User | None] = relationship(foreign_keys=[engineer_id])
    lines: Mapped[list[OrderLine]] = relationship(back_populates="order",
                                                  order_by="OrderLine.id",
                                                  cascade="all, delete-orphan")
    modifications: Mapped[list[OrderModification]] = relationship(
        back_populates="order", order_by="OrderModification.id.desc()",
        cascade="all, delete-orphan")

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def number(self) -> str:
        return self.order_no


class OrderLine(AuditedMixin, db.Model):
    """One product of an order. ``amount`` = ``quantity`` × ``unit_price`` except for a line
    taken from a won quote, which keeps the quote's total exactly."""

    __tablename__ = "sales_order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="price_not_negative"),
        CheckConstraint("delivered_quantity >= 0 AND delivered_quantity <= quantity",
                        name="delivered_within_quantity"),
    )
    # How a line reads in history (core.history).
    __label__ = "订单明细"
    __record_title__ = "product_name"
    __labels__ = {
        "order_id": "销售订单", "product_name": "产品", "model": "型号", "brand": "品牌",
        "equipment_type": "设备类型", "quantity": "数量", "unit_price": "单价",
        "amount": "金额", "delivered_quantity": "已配送数量", "warranty_months": "保修月数",
        "maintenance_cycle_days": "维护周期（天）",
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"),
                                          index=True)
    product_name: Mapped[str] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(100))
    brand: Mapped[str | None] = mapped_column(String(50))
    equipment_type: Mapped[str | None] = mapped_column(String(50))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    delivered_quantity: Mapped[int] = mapped_column(Integer, default=0)
    warranty_months: Mapped[int] = mapped_column(Integer, default=36)
    maintenance_cycle_days: Mapped[int] = mapped_column(Integer, default=90)

    order: Mapped[Order] = relationship(back_populates="lines")


class OrderModification(db.Model):
    """A change to a confirmed order (seed 001 ``order_modifications``): who, what, the value
    before and after, and why."""

    __tablename__ = "sales_order_modification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"),
                                          index=True)
    modified_by: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"))
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="web")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="modifications")
    user: Mapped[User | None] = relationship(viewonly=True)


class OrderSequence(db.Model):
    """The last order number given per day: incremented by a conditional UPDATE in the
    order's transaction, so numbers are unique and, since a rolled-back order rolls its
    increment back too, without gaps."""

    __tablename__ = "sales_order_sequence"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD (Beijing)
    last: Mapped[int] = mapped_column(Integer, default=0)
