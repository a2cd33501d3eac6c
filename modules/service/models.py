"""After-sales tickets (seed 001 ``after_sales_tickets``), their action log (seed 001
``ticket_action_logs``), collaborators, engineers' dispatch profiles, SLA policies and
satisfaction surveys."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import Date
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from core.db import AuditedMixin
from core.db import TimestampMixin
from core.db import utcnow
from core.extensions import db
from core.security.models import User
from modules.crm.models.customer import CUSTOMER_LEVELS
from modules.crm.models.customer import Customer
from modules.equipment.models import Equipment
from modules.sales.models import Order

TICKET_TYPES = {
    "repair": "维修",
    "maintenance": "保养",
    "complaint": "投诉",
    "return": "退货",
    "installation": "安装",
    "inquiry": "咨询",
}
PRIORITIES = {"low": "低", "normal": "普通", "high": "高", "urgent": "紧急"}
COMPLAINT_LEVELS = {"general": "一般投诉", "serious": "严重投诉", "major": "重大投诉"}
STATUSES = {
    "pending": "待接单",
    "accepted": "待服务",
    "in_service": "服务中",
    "resolved": "待评价",
    "closed": "已完成",
    "rejected": "已驳回",
    "cancelled": "已取消",
    "reopened": "已重开",
}
# The only allowed moves; every other pair is refused by the services.
TRANSITIONS: dict[str, set[str]] = {
    "pending": {"accepted", "in_service", "rejected", "cancelled"},
    "accepted": {"in_service", "pending", "resolved", "cancelled"},
    "in_service": {"resolved", "pending", "cancelled"},
    "resolved": {"closed", "reopened"},
    "closed": {"reopened"},
    "reopened": {"accepted", "in_service", "pending", "resolved", "cancelled"},
    "rejected": set(),
    "cancelled": set(),
}
OPEN_STATUSES = ("pending", "accepted", "in_service", "reopened")
OPEN_WHERE = "status IN ('pending', 'accepted', 'in_service', 'reopened')"
# Kanban columns (seed 000 §5.4): 待处理 / 处理中 / 已解决 / 已关闭.
STAGES = {"todo": "待处理", "doing": "处理中", "resolved": "已解决", "closed": "已关闭"}
STAGE_OF = {
    "pending": "todo",
    "reopened": "todo",
    "accepted": "doing",
    "in_service": "doing",
    "resolved": "resolved",
    "closed": "closed",
    "rejected": "closed",
    "cancelled": "closed",
}
WARRANTY = {"in_warranty": "保内", "out_of_warranty": "保外", "unknown": "未知"}
SLA_STATES = {
    "none": "无 SLA",
    "response_due": "待响应",
    "resolution_due": "待解决",
    "paused": "已暂停",
    "breached": "已超时",
    "met": "已达成",
}
CHANNELS = {"web": "网页", "api": "API", "bot": "群聊", "customer": "客户自助",
            "equipment": "设备保养", "job": "系统", "cli": "系统", "system": "系统"}
SURVEY_STATES = {"none": "未发送", "sent": "待评价", "rated": "已评价", "no_rating": "未评价"}


class Ticket(AuditedMixin, TimestampMixin, db.Model):
    __tablename__ = "service_ticket"
    __table_args__ = (
        Index("ix_service_ticket_assignee_status", "assignee_id", "status"),
        Index("ix_service_ticket_stage", "stage", "id"),
        # An engineer's kanban column (his tickets or the claimable ones, ``AND stage = …``):
        # the record rule's BitmapOr reads that column's rows only, not all he can see.
        Index("ix_service_ticket_assignee_stage", "assignee_id", "stage", "status"),
        Index("ix_service_ticket_created_at", "created_at"),
        # The overview's and the analytics' aggregates over a period (index-only scans).
        Index("ix_service_ticket_resolved_sla", "resolved_at", "sla_state"),
        Index("ix_service_ticket_rated", "rated_at", "rating"),
        Index("ix_service_ticket_status_created", "status", "created_at"),
        # A salesperson's figures (his customers' tickets, ``customer_id = ANY(…)``): the
        # period narrows the bitmap before the heap is read (1/3 of his tickets in a year).
        Index("ix_service_ticket_customer_resolved", "customer_id", "resolved_at", "sla_state"),
        Index("ix_service_ticket_customer_rated", "customer_id", "rated_at", "rating"),
        # Open tickets by deadline (#我的工单, "breaching soon"): at a million tickets the
        # plain deadline index walked the closed ones first (195 ms → 1 ms for 10 rows).
        Index("ix_service_ticket_open_due", "resolution_due_at",
              postgresql_where=text(OPEN_WHERE), sqlite_where=text(OPEN_WHERE)),
    )
    # How the ticket reads in history (core.history); its actions' labels are set below
    # (``ACTION_LABELS``).
    __label__ = "工单"
    __record_title__ = "ticket_no"
    __labels__ = {
        "ticket_no": "工单号", "ticket_type": "服务类型", "subject": "问题主题",
        "description": "问题描述", "priority": "优先级", "priority_reason": "优先级调整原因",
        "complaint_level": "投诉级别", "channel": "来源渠道", "customer_id": "客户",
        "order_id": "项目（订单）", "equipment_id": "设备", "contact_name": "联系人姓名",
        "contact_phone": "联系电话", "address": "服务地址", "site_lat": "服务地址纬度",
        "site_lng": "服务地址经度", "appointment_at": "预约时间", "service_date": "服务日期",
        "warranty_status": "保修", "root_cause": "故障原因", "solution": "解决方案",
        "parts_used": "使用配件", "service_hours": "服务时长（小时）", "fee_visit": "上门费",
        "fee_labour": "人工费", "fee_parts": "配件费", "status": "状态", "progress": "进度",
        "assignee_id": "负责人", "offered_at": "派单时间", "grab_until": "抢单截止时间",
        "created_by_id": "创建人", "needs_revisit": "需要回访", "escalations": "催办次数",
        "sla_policy_id": "SLA 策略", "sla_state": "SLA 状态", "response_due_at": "响应时限",
        "resolution_due_at": "解决时限", "first_response_at": "首次响应时间",
        "sla_paused_at": "SLA 暂停时间", "sla_breached_at": "SLA 超时时间",
        "resolved_at": "解决时间", "closed_at": "关闭时间", "survey_state": "满意度调查",
        "survey_sent_at": "调查发送时间", "rating": "客户评分", "rating_comment": "评价内容",
        "rated_at": "评价时间",
    }
    __choices__ = {"ticket_type": TICKET_TYPES, "priority": PRIORITIES,
                   "complaint_level": COMPLAINT_LEVELS, "channel": CHANNELS,
                   "warranty_status": WARRANTY, "status": STATUSES, "sla_state": SLA_STATES,
                   "survey_state": SURVEY_STATES}
    # Kept by the system: the kanban stage follows the status, the pauses and the stamped
    # working minutes are the SLA's arithmetic, the flag stops a second escalation.
    __hidden_in_history__ = ("stage", "sla_pauses", "sla_escalated", "response_minutes",
                             "resolution_minutes")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(32), unique=True)
    ticket_type: Mapped[str] = mapped_column(String(16), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(16), default="normal", index=True)
    priority_reason: Mapped[str | None] = mapped_column(String(500))
    complaint_level: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16), default="web")
    # No index of its own: ix_service_ticket_customer_resolved / _rated start with it.
    customer_id: Mapped[int] = mapped_column(ForeignKey("crm_customer.id", ondelete="RESTRICT"))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_order.id", ondelete="SET NULL"), index=True
    )
    equipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("equipment_equipment.id", ondelete="SET NULL"), index=True
    )
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    # The service address's coordinates (check-in distances are measured from them).
    site_lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    site_lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    appointment_at: Mapped[datetime | None]
    service_date: Mapped[date | None] = mapped_column(Date)
    warranty_status: Mapped[str] = mapped_column(String(16), default="unknown")
    root_cause: Mapped[str | None] = mapped_column(Text)
    solution: Mapped[str | None] = mapped_column(Text)
    parts_used: Mapped[str | None] = mapped_column(Text)
    service_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2), info={"not_money": True})
    fee_visit: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    fee_labour: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    fee_parts: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    stage: Mapped[str] = mapped_column(String(16), default="todo")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL")
    )
    # An offer waiting for the engineer's accept/reject (dispatch), and the grab window.
    offered_at: Mapped[datetime | None]
    grab_until: Mapped[datetime | None]
    # Indexed for the sales record rule (reported by me OR my customers': a BitmapOr).
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL"), index=True
    )
    needs_revisit: Mapped[bool] = mapped_column(Boolean, default=False)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    # SLA (working time over the calendar; see modules.service.sla).
    sla_policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_sla_policy.id", ondelete="SET NULL")
    )
    sla_state: Mapped[str] = mapped_column(String(16), default="none", index=True)
    response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None] = mapped_column(index=True)
    first_response_at: Mapped[datetime | None]
    sla_paused_at: Mapped[datetime | None]
    sla_pauses: Mapped[list] = mapped_column(JSON, default=list)
    sla_breached_at: Mapped[datetime | None]
    sla_escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None]
    # Working minutes (the SLA calendar) from creation to the first response and to the
    # resolution less the SLA pauses, stamped when they happen (the analytics' medians).
    response_minutes: Mapped[float | None] = mapped_column(Float)
    resolution_minutes: Mapped[float | None] = mapped_column(Float)
    closed_at: Mapped[datetime | None]
    # Satisfaction (seed 000 §5.4 客户满意度调查).
    survey_state: Mapped[str] = mapped_column(String(16), default="none")
    survey_sent_at: Mapped[datetime | None]
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship(foreign_keys=[customer_id])
    order: Mapped[Order | None] = relationship(foreign_keys=[order_id])
    equipment: Mapped[Equipment | None] = relationship(foreign_keys=[equipment_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    collaborators: Mapped[list[TicketCollaborator]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def number(self) -> str:
        return self.ticket_no

    @property
    def type_label(self) -> str:
        return TICKET_TYPES.get(self.ticket_type, self.ticket_type)

    @property
    def priority_label(self) -> str:
        return PRIORITIES.get(self.priority, self.priority)

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def sla_label(self) -> str:
        return SLA_STATES.get(self.sla_state, self.sla_state)

    @property
    def warranty_label(self) -> str:
        return WARRANTY.get(self.warranty_status, self.warranty_status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def total_fee(self) -> Decimal:
        return (self.fee_visit or 0) + (self.fee_labour or 0) + (self.fee_parts or 0)

    @property
    def collaborator_ids(self) -> set[int]:
        return {c.user_id for c in self.collaborators}


class TicketCollaborator(db.Model):
    __tablename__ = "service_ticket_collaborator"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("service_ticket.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="collaborators")
    user: Mapped[User] = relationship(lazy="joined")


class TicketActionLog(db.Model):
    """The ticket's timeline: every action with who, through which channel, and the move."""

    __tablename__ = "service_ticket_action_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("service_ticket.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16), default="system")
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="joined")


class Engineer(AuditedMixin, db.Model):
    """An engineer's dispatch profile: skills (ticket types), areas, shift and leave."""

    __tablename__ = "service_engineer"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True
    )
    skills: Mapped[list] = mapped_column(JSON, default=list)  # ticket types; [] = all
    areas: Mapped[list] = mapped_column(JSON, default=list)  # [] = everywhere
    on_shift: Mapped[bool] = mapped_column(Boolean, default=True)
    on_leave: Mapped[bool] = mapped_column(Boolean, default=False)
    last_assigned_at: Mapped[datetime | None]

    # How the profile reads in history (core.history).
    __label__ = "工程师派单档案"
    __labels__ = {"user_id": "工程师", "skills": "技能（服务类型）", "areas": "服务区域",
                  "on_shift": "在岗", "on_leave": "请假"}
    __choices__ = {"skills": TICKET_TYPES}  # a list of ticket types
    __hidden_in_history__ = ("last_assigned_at",)  # moves with every dispatch: bookkeeping

    user: Mapped[User] = relationship(lazy="joined")


class SlaPolicy(AuditedMixin, db.Model):
    """Response and resolution targets in working minutes, matched by type/priority/level."""

    __tablename__ = "service_sla_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    ticket_type: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[str | None] = mapped_column(String(16))
    complaint_level: Mapped[str | None] = mapped_column(String(16))
    customer_level: Mapped[str | None] = mapped_column(String(16))
    response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sequence: Mapped[int] = mapped_column(Integer, default=100)

    # How the policy reads in history (core.history).
    __label__ = "SLA 策略"
    __record_title__ = "name"
    __labels__ = {"name": "名称", "ticket_type": "服务类型", "priority": "优先级",
                  "complaint_level": "投诉级别", "customer_level": "客户分级",
                  "response_minutes": "响应时限（工作分钟）",
                  "resolution_minutes": "解决时限（工作分钟）", "active": "启用",
                  "sequence": "顺序"}
    __choices__ = {"ticket_type": TICKET_TYPES, "priority": PRIORITIES,
                   "complaint_level": COMPLAINT_LEVELS, "customer_level": CUSTOMER_LEVELS}
    __history_actions__ = {"sla_recompute": "重算 SLA"}


class Visit(db.Model):
    """An engineer's check-in and check-out on site, with where he was and how far that is
    from the service address (flagged beyond the radius)."""

    __tablename__ = "service_visit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("service_ticket.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))
    check_in_at: Mapped[datetime]
    check_in_lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    check_in_lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    check_in_distance_m: Mapped[int | None] = mapped_column(Integer)
    check_out_at: Mapped[datetime | None]
    check_out_lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    check_out_lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    check_out_distance_m: Mapped[int | None] = mapped_column(Integer)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User | None] = relationship(lazy="joined")

    @property
    def minutes(self) -> int | None:
        if self.check_out_at is None:
            return None
        return int((self.check_out_at - self.check_in_at).total_seconds() // 60)


class ServiceReport(db.Model):
    """The signed service report: parts, hours and fees frozen with the customer's
    signature and a PDF; signing again after edits makes a new version."""

    __tablename__ = "service_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("service_ticket.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    signer_name: Mapped[str] = mapped_column(String(100))
    signature_png: Mapped[bytes] = mapped_column(LargeBinary)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Survey(db.Model):
    """A satisfaction survey sent on resolution: a single-use link (token stored hashed)."""

    __tablename__ = "service_survey"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("service_ticket.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship()

PHOTO_PHASES = {"intake": "报修", "start": "开工前", "finish": "完工后", "other": "其他"}


class TicketPhoto(db.Model):
    """A photo of a ticket (at intake, at the start, at the finish …). The image itself is
    in the storage (:mod:`core.storage`) under ``storage_key``; served only to those who may
    see the ticket."""

    __tablename__ = "service_ticket_photo"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("service_ticket.id", ondelete="CASCADE"), index=True
    )
    phase: Mapped[str] = mapped_column(String(16), default="other")
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    caption: Mapped[str] = mapped_column(String(200), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_user.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(16), default="web")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def phase_label(self) -> str:
        return PHOTO_PHASES.get(self.phase, self.phase)


ACTION_LABELS = {
    "create": "创建", "claim": "认领", "offer": "派单", "accept": "接单", "decline": "拒单",
    "offer_timeout": "接单超时", "dispatch_failed": "无人可派", "grab_open": "开放抢单",
    "grab_expired": "抢单超时", "transfer": "转派", "collaborator": "添加协作",
    "start": "开始服务", "progress": "进度", "resolve": "已解决", "revisit": "需要回访",
    "revisit_done": "已回访", "escalate": "催办", "reject": "驳回", "cancel": "取消",
    "close": "关闭", "reopen": "重开", "priority": "调整优先级", "update": "更新信息",
    "sla_pause": "暂停 SLA", "sla_resume": "恢复 SLA", "survey_sent": "发送满意度调查",
    "rated": "客户评价", "no_rating": "未评价", "parts": "配件", "check_in": "签到",
    "check_out": "签退", "report": "客户签字确认", "photo": "照片",
    "photo_delete": "删除照片", "photo_failed": "照片未能接收",
}
# A ticket's actions in history: ``log_action`` records ``ticket_<action>``.
Ticket.__history_actions__ = {f"ticket_{action}": label
                              for action, label in ACTION_LABELS.items()}
