"""Registrations of the WeCom × CRM bridge (installed automatically with wecom and crm)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from core import hookimpl
from core import jobs
from core.registration import CustomerSection
from core.registration import JobSpec
from core.registration import Setting
from modules.wecom_crm import services
from modules.wecom_crm.models import Binding
from modules.wecom_crm.models import ExternalLink


@hookimpl
def register_models() -> list:
    return [Binding, ExternalLink]


@hookimpl
def register_settings() -> list:
    return [
        Setting("wecom_crm.sales_webhook", "新商机推送的群机器人名称", default="sales",
                help="WECOM_WEBHOOK_KEYS 中的名称"),
    ]


@hookimpl
def opportunity_announced(announcement: Any, ctx: Any) -> None:
    """crm announced a new opportunity: push its card to WeCom too."""
    services.push_announcement(ctx, announcement)


@hookimpl
def register_jobs() -> list:
    return [
        JobSpec("wecom_crm.poll_transfers", "modules.wecom_crm.jobs:poll_transfers",
                schedule="*/30 * * * *", description="刷新企业微信客户转移结果"),
        JobSpec("wecom_crm.transfer_on_handover", "modules.wecom_crm.jobs:transfer_on_handover",
                description="交接后转移企业微信客户"),
    ]


def _render_section(customer: Any, ctx: Any) -> str:
    bindings, links = services.identity(customer.id)
    return render_template("wecom_crm/section.html", bindings=bindings, links=links,
                           mask_phone=services.mask_phone)


@hookimpl
def register_customer_sections() -> list:
    return [CustomerSection("wecom", "企业微信", _render_section, sequence=80)]


@hookimpl
def wecom_external_contact_changed(event: dict, ctx: Any) -> None:
    services.external_contact_changed(ctx, event)


@hookimpl
def wecom_official_account_message(message: dict, ctx: Any) -> str | None:
    if message.get("type") != "text":
        return None
    openid, content = message.get("openid", ""), message.get("content", "")
    return (services.bind_phone_from_official_account(ctx, openid, content)
            or services.lead_from_official_account(ctx, openid, content))


@hookimpl(optionalhook=True)
def customers_handed_over(customer_ids: list[int], from_user_id: int | None, to_user_id: int,
                          handover_id: int, ctx: Any) -> None:
    """crm's handover confirmed: move the WeCom relationship too (a job, once committed)."""
    jobs.enqueue("wecom_crm.transfer_on_handover", list(customer_ids), from_user_id,
                 to_user_id)
