"""Registrations of the service × WeCom-customer bridge (installed with both)."""

from __future__ import annotations

from typing import Any

from core import hookimpl
from modules.service_wecom import services
from modules.service_wecom.models import CustomerReport
from modules.service_wecom.models import Intake
from modules.service_wecom.models import Picture


@hookimpl
def register_models() -> list:
    return [Intake, Picture, CustomerReport]


@hookimpl
def register_jobs() -> list:
    from core.registration import JobSpec

    return [
        JobSpec("service_wecom.attach_picture", "modules.service_wecom.services:attach_picture",
                description="客户公众号照片：下载并附到工单"),
        JobSpec("service_wecom.tell_picture_failed",
                "modules.service_wecom.services:tell_picture_failed",
                description="客户公众号照片未能接收：请客户重新发送"),
        JobSpec("service_wecom.purge_waiting_pictures",
                "modules.service_wecom.services:purge_waiting_pictures", schedule="40 19 * * *",
                description="删除报修未完成、未附到工单的客户照片（北京时间 03:40）"),
    ]


@hookimpl
def register_settings() -> list:
    from core.registration import Setting

    return [Setting("service_wecom.waiting_picture_days", "未附到工单的客户照片保留天数",
                    type="int", default=services.DEFAULT_WAITING_DAYS,
                    help="客户报修时发送、但报修未完成的照片，超过天数由每日任务删除")]


@hookimpl
def wecom_official_account_message(message: dict, ctx: Any) -> str | None:
    if message.get("type") == "image":
        return services.customer_picture(ctx, message.get("openid", ""),
                                         message.get("pic_url", ""), message.get("msgid", ""))
    if message.get("type") != "text":
        return None
    return services.customer_message(ctx, message.get("openid", ""), message.get("content", ""))
