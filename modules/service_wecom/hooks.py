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

    return [JobSpec("service_wecom.attach_picture", "modules.service_wecom.services:attach_picture",
                    description="客户公众号照片：下载并附到工单")]


@hookimpl
def wecom_official_account_message(message: dict, ctx: Any) -> str | None:
    if message.get("type") == "image":
        return services.customer_picture(ctx, message.get("openid", ""),
                                         message.get("pic_url", ""), message.get("msgid", ""))
    if message.get("type") != "text":
        return None
    return services.customer_message(ctx, message.get("openid", ""), message.get("content", ""))
