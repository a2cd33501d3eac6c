"""A customer's WeCom identity: the temporary phone binding and the external contacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from core.db import AuditedMixin
from core.db import TimestampMixin
from core.extensions import db

TRANSFER_STATUSES = {
    "pending": "待发起",
    "waiting": "等待客户接替",
    "success": "接替完毕",
    "refused": "客户拒绝",
    "limit": "接替成员客户已达上限",
    "none": "无接替记录",
    "failed": "发起失败",
}
BINDING_STATUSES = {"temp": "临时绑定", "linked": "已关联企业微信"}
# externalcontact/transfer_result status codes
RESULT_STATUS = {1: "success", 2: "waiting", 3: "refused", 4: "limit", 5: "none"}


class Binding(AuditedMixin, TimestampMixin, db.Model):
    """Identity level of one person of a customer (a company has one per contact who bound
    himself): ``temp`` (phone sent to the official account), ``linked`` (a WeCom external
    contact), verified when added by phone search."""

    __tablename__ = "wecom_crm_binding"
    # How the binding reads in history (core.history).
    __label__ = "企业微信绑定"
    __labels__ = {"customer_id": "客户", "phone": "手机号", "oa_openid": "公众号 OpenID",
                  "binding_status": "绑定状态", "is_verified": "已认证", "verified_at": "认证时间"}
    __choices__ = {"binding_status": BINDING_STATUSES}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_customer.id", ondelete="CASCADE"), index=True
    )
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    oa_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    binding_status: Mapped[str] = mapped_column(String(16), default="temp")
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime | None]


class ExternalLink(AuditedMixin, TimestampMixin, db.Model):
    """One WeCom external contact of one member (follow user), linked to a customer."""

    __tablename__ = "wecom_crm_external_link"
    __table_args__ = (UniqueConstraint("external_userid", "follow_userid"),)
    # How the link reads in history (core.history).
    __label__ = "企业微信外部联系人"
    __labels__ = {
        "customer_id": "客户", "external_userid": "外部联系人", "follow_userid": "跟进成员",
        "name": "名称", "add_way": "添加方式", "state": "渠道参数",
        "remark_mobiles": "备注手机号", "removed_at": "删除时间", "transfer_status": "转移状态",
        "transfer_to_userid": "接替成员",
    }
    __choices__ = {"transfer_status": TRANSFER_STATUSES}
    # Stamped with every change of the transfer status (the entry's own time says when).
    __hidden_in_history__ = ("transfer_updated_at",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_customer.id", ondelete="SET NULL"), index=True
    )
    external_userid: Mapped[str] = mapped_column(String(64))
    follow_userid: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(100))
    add_way: Mapped[int | None]
    state: Mapped[str | None] = mapped_column(String(64))
    remark_mobiles: Mapped[list] = mapped_column(JSON, default=list)
    removed_at: Mapped[datetime | None]
    transfer_status: Mapped[str | None] = mapped_column(String(16))
    transfer_to_userid: Mapped[str | None] = mapped_column(String(64))
    transfer_updated_at: Mapped[datetime | None]

    @property
    def transfer_label(self) -> str:
        return TRANSFER_STATUSES.get(self.transfer_status or "", self.transfer_status or "")
