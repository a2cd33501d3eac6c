"""Equipment at customers' sites (设备档案), its maintenance records, and the reminders the
daily preventive scan sent (seed 000 ``equipment`` and ``maintenance_records``)."""

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
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from core.db import AuditedMixin
from core.db import TimestampMixin
from core.db import utcnow
from core.extensions import db
from core.security.models import User
from modules.crm.models.customer import Customer
from modules.sales.models import Order

STATUSES = {"in_use": "使用中", "under_repair": "维修中", "retired": "已报废"}
WARRANTY_STATUSES = {"in": "在保", "expiring": "即将过保", "out": "已过保"}
MAINTENANCE_TYPES = {"routine": "例行保养", "repair": "维修", "upgrade": "升级改造"}
# A maintenance record is done, or planned by the preventive scan and still to be filled in.
RECORD_STATUSES = {"done": "已完成", "planned": "待填写"}
NUMBER_PREFIX = "EQ"


class Equipment(AuditedMixin, TimestampMixin, db.Model):
    """One unit installed at a customer's site. ``warranty_end_date`` is stored (it follows
    from ``install_date`` + ``warranty_months``); the warranty *status* is computed when
    read, never stored."""

    __tablename__ = "equipment_equipment"
    __table_args__ = (
        UniqueConstraint("brand", "serial_number", name="uq_equipment_brand_serial"),
        Index("ix_equipment_equipment_customer", "customer_id", "id"),
        Index("ix_equipment_equipment_next", "status", "next_maintenance_date"),
        CheckConstraint("warranty_months >= 0", name="warranty_not_negative"),
        CheckConstraint("maintenance_cycle_days >= 0", name="cycle_not_negative"),
    )
    # How the unit reads in history (core.history).
    __label__ = "设备"
    __record_title__ = "equipment_no"
    __labels__ = {
        "equipment_no": "设备编号", "order_id": "销售订单", "order_line_id": "订单明细",
        "customer_id": "客户", "customer_phone": "客户电话", "equipment_type": "设备类型",
        "brand": "品牌", "model": "型号", "serial_number": "序列号", "install_date": "安装日期",
        "install_location": "安装位置", "warranty_months": "保修月数",
        "warranty_end_date": "保修截止", "status": "状态", "status_reason": "状态原因",
        "status_date": "状态日期", "maintenance_cycle_days": "维护周期（天）",
        "maintenance_cycle_months": "维护周期（月）", "last_maintenance_date": "上次维护日期",
        "next_maintenance_date": "下次维护日期", "engineer_id": "工程师",
        "due_date": "计划维护日期",  # the "maintenance_order" action's change (not a column)
    }
    __choices__ = {"status": STATUSES}
    __formats__ = {"due_date": "date"}
    __history_actions__ = {"maintenance": "完成维护", "maintenance_order": "生成维护工单",
                           "fault_reported": "故障报修"}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_no: Mapped[str] = mapped_column(String(50), unique=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_order.id", ondelete="SET NULL"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_order_line.id", ondelete="SET NULL"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("crm_customer.id", ondelete="RESTRICT"))
    customer_phone: Mapped[str | None] = mapped_column(String(20))
    equipment_type: Mapped[str | None] = mapped_column(String(50), index=True)
    brand: Mapped[str | None] = mapped_column(String(50), index=True)
    model: Mapped[str | None] = mapped_column(String(100))
    serial_number: Mapped[str | None] = mapped_column(String(100), index=True)
    install_date: Mapped[date | None] = mapped_column(Date)
    install_location: Mapped[str | None] = mapped_column(String(200))
    warranty_months: Mapped[int] = mapped_column(Integer, default=36)
    warranty_end_date: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="in_use")
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_date: Mapped[date | None] = mapped_column(Date)
    maintenance_cycle_days: Mapped[int] = mapped_column(Integer, default=90)
    # A plan by calendar months instead of days (0 = by days): 31 Jan + 1 month = 28/29 Feb.
    maintenance_cycle_months: Mapped[int] = mapped_column(Integer, default=0)
    last_maintenance_date: Mapped[date | None] = mapped_column(Date)
    next_maintenance_date: Mapped[date | None] = mapped_column(Date)
    engineer_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"), index=True)

    customer: Mapped[Customer] = relationship()
    order: Mapped[Order | None] = relationship()
    engineer: Mapped[User | None] = relationship(foreign_keys=[engineer_id])

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def display_name(self) -> str:
        """``ABC公司-3楼中央空调`` as in the reminders."""
        where = self.install_location or ""
        kind = self.equipment_type or self.model or self.equipment_no
        return f"{self.customer.customer_name}-{where}{kind}"


class MaintenanceRecord(AuditedMixin, db.Model):
    """A maintenance done (``done``) or to be filled in (``planned``: made by the preventive
    scan's ``#生成维护工单`` when no service module answers). Saving a done record moves the
    equipment's last and next maintenance dates."""

    __tablename__ = "equipment_maintenance_record"
    __table_args__ = (
        Index("ix_equipment_maintenance_record_eq", "equipment_id", "maintenance_date"),
        CheckConstraint("cost >= 0", name="cost_not_negative"),
    )
    # How the record reads in history (core.history).
    __label__ = "维护记录"
    __labels__ = {
        "equipment_id": "设备", "maintenance_type": "维护类型", "status": "状态",
        "maintenance_date": "维护日期", "due_date": "计划维护日期", "engineer_id": "工程师",
        "work_description": "工作内容", "parts_replaced": "更换配件", "cost": "费用",
        "next_maintenance_date": "建议下次维护日期", "ticket_id": "工单",
        "created_by": "记录人",
    }
    __choices__ = {"maintenance_type": MAINTENANCE_TYPES, "status": RECORD_STATUSES}
    __references__ = {"ticket_id": "service_ticket"}  # service's ticket, no FK

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(
        ForeignKey("equipment_equipment.id", ondelete="CASCADE"))
    maintenance_type: Mapped[str] = mapped_column(String(16), default="routine")
    status: Mapped[str] = mapped_column(String(16), default="done")
    maintenance_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)  # the plan's date it answers
    engineer_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"))
    work_description: Mapped[str | None] = mapped_column(Text)
    parts_replaced: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    next_maintenance_date: Mapped[date | None] = mapped_column(Date)
    ticket_id: Mapped[int | None] = mapped_column(Integer)  # a service ticket (no FK)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    equipment: Mapped[Equipment] = relationship()
    engineer: Mapped[User | None] = relationship(foreign_keys=[engineer_id])

    @property
    def type_label(self) -> str:
        return MAINTENANCE_TYPES.get(self.maintenance_type, self.maintenance_type)


class MaintenanceReminder(db.Model):
    """A reminder the daily scan sent: one row per (equipment, due date, kind), so a rerun —
    or a second worker — sends nothing twice. ``order_ref`` keeps what ``#生成维护工单``
    made for it (a ticket number or a maintenance record id)."""

    __tablename__ = "equipment_maintenance_reminder"
    __table_args__ = (
        UniqueConstraint("equipment_id", "due_date", "kind", name="uq_equipment_reminder"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(
        ForeignKey("equipment_equipment.id", ondelete="CASCADE"))
    due_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16), default="due")
    order_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    equipment: Mapped[Equipment] = relationship()


class EquipmentSequence(db.Model):
    """The last equipment number given per year (``EQ2026000123``), like orders'."""

    __tablename__ = "equipment_sequence"

    year: Mapped[str] = mapped_column(String(4), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
