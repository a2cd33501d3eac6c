"""Registrations of the service × WeCom-customer bridge (installed with both)."""

from __future__ import annotations

from typing import Any

from core import hookimpl
from modules.service_wecom import services
from modules.service_wecom.models import Intake


@hookimpl
def register_models() -> list:
    return [Intake]


@hookimpl
def wecom_official_account_message(message: dict, ctx: Any) -> str | None:
    if message.get("type") == "image":
        return services.customer_picture(ctx, message.get("openid", ""),
                                         message.get("pic_url", ""))
    if message.get("type") != "text":
        return None
    return services.customer_message(ctx, message.get("openid", ""), message.get("content", ""))
