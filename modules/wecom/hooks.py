"""Registrations of the wecom module."""

from __future__ import annotations

from typing import Any

from core import hookimpl
from core.registration import Permission
from modules.wecom.callbacks import bp
from modules.wecom.config import SETTINGS
from modules.wecom.models import CallbackLog
from modules.wecom.models import ExternalContactEvent
from modules.wecom.models import ProcessedCallback
from modules.wecom.models import SentMessage
from modules.wecom.models import WebhookDelivery


@hookimpl
def register_models() -> list:
    return [ProcessedCallback, CallbackLog, ExternalContactEvent, SentMessage, WebhookDelivery]


@hookimpl
def register_blueprints() -> list:
    from modules.wecom.oauth import bp as oauth_bp

    return [bp, oauth_bp]


@hookimpl
def register_settings() -> list:
    return SETTINGS


@hookimpl
def register_permissions() -> list:
    return [Permission("wecom.log.read", "查看企业微信回调日志", ("manager",))]


@hookimpl
def register_jobs() -> list:
    from core.registration import JobSpec

    return [JobSpec("wecom.answer_later", "modules.wecom.inbound:answer_later",
                    description="慢命令：处理后通过 response_url 回复")]


@hookimpl
def register_notification_channels() -> list:
    from modules.wecom.channels import CHANNELS

    return CHANNELS


@hookimpl
def register_cli_commands(cli: Any) -> None:
    from modules.wecom.simulate import register

    register(cli)


@hookimpl
def app_ready(app: Any) -> None:
    """Callbacks are authenticated by their WeCom signature, not by a CSRF token."""
    from core.extensions import csrf
    from modules.wecom.oauth import redirect_inside_wecom

    csrf.exempt(bp)
    app.before_request(redirect_inside_wecom)
