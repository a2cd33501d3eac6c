"""WeCom settings: environment first, editable on the settings page (secrets masked)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.registration import Setting
from core.settings import get_setting
from core.settings import get_settings

OFFICIAL_API_BASE = "https://qyapi.weixin.qq.com"
OFFICIAL_OA_API_BASE = "https://api.weixin.qq.com"  # the official account's (服务号) API

SETTINGS = [
    Setting("wecom.corp_id", "企业ID (CorpID)", env="WECOM_CORP_ID"),
    Setting("wecom.agent_id", "自建应用 AgentId", env="WECOM_AGENT_ID"),
    Setting("wecom.app_secret", "自建应用 Secret", secret=True, env="WECOM_APP_SECRET"),
    Setting("wecom.app_token", "应用回调 Token", secret=True, env="WECOM_APP_TOKEN"),
    Setting("wecom.app_aes_key", "应用回调 EncodingAESKey", secret=True, env="WECOM_APP_AES_KEY"),
    Setting("wecom.bot_token", "智能机器人回调 Token", secret=True, env="WECOM_BOT_TOKEN"),
    Setting(
        "wecom.bot_aes_key", "智能机器人回调 EncodingAESKey", secret=True, env="WECOM_BOT_AES_KEY"
    ),
    Setting("wecom.oa_token", "公众号 Token", secret=True, env="WECOM_OA_TOKEN"),
    Setting("wecom.oa_aes_key", "公众号 EncodingAESKey", secret=True, env="WECOM_OA_AES_KEY"),
    Setting("wecom.oa_app_id", "公众号 AppID", env="WECOM_OA_APP_ID"),
    Setting("wecom.oa_app_secret", "公众号 AppSecret", secret=True, env="WECOM_OA_APP_SECRET",
            help="用于给客户发送客服消息（如照片未能接收时请客户重新发送）"),
    Setting("wecom.oa_api_base", "公众号 API 地址", default=OFFICIAL_OA_API_BASE,
            env="WECOM_OA_API_BASE"),
    Setting("wecom.oa_picture_hosts", "公众号图片下载地址（主机名）", type="json",
            default=["mmbiz.qpic.cn"], env="WECOM_OA_PICTURE_HOSTS",
            help="客户在公众号发来的图片只从这些主机下载（微信图片服务器）"),
    Setting(
        "wecom.webhook_keys",
        "群机器人 Webhook Key（JSON：名称 → key）",
        type="json",
        secret=True,
        env="WECOM_WEBHOOK_KEYS",
        help='例如 {"sales": "…", "service": "…"}',
    ),
    Setting("wecom.api_base", "企业微信 API 地址", default=OFFICIAL_API_BASE, env="WECOM_API_BASE"),
    Setting(
        "wecom.verify_add_ways",
        "视为已核验的添加方式（add_way）",
        type="json",
        default=[2],
        help="默认仅“搜索手机号添加”(2) 视为已核验",
    ),
]


@dataclass(frozen=True)
class WeComConfig:
    corp_id: str
    agent_id: str
    app_secret: str
    app_token: str
    app_aes_key: str
    bot_token: str
    bot_aes_key: str
    oa_token: str
    oa_aes_key: str
    oa_app_id: str
    oa_app_secret: str
    oa_api_base: str
    webhook_keys: dict[str, str]
    api_base: str
    verify_add_ways: tuple[int, ...]

    @property
    def app_configured(self) -> bool:
        return bool(self.corp_id and self.app_token and self.app_aes_key)

    @property
    def bot_configured(self) -> bool:
        return bool(self.bot_token and self.bot_aes_key)

    @property
    def api_configured(self) -> bool:
        return bool(self.corp_id and self.app_secret)

    @property
    def oa_api_configured(self) -> bool:
        """Whether messages can be sent to the official account's followers."""
        return bool(self.oa_app_id and self.oa_app_secret)


def load_config() -> WeComConfig:
    """The effective WeCom configuration (database values over environment), read with
    one query."""
    values = get_settings("wecom.")

    def get(key: str) -> Any:
        return values[key] if key in values else get_setting(key)

    def _text(key: str) -> str:
        value = get(key)
        return "" if value is None else str(value)

    hooks = get("wecom.webhook_keys") or {}
    if isinstance(hooks, str):
        try:
            hooks = json.loads(hooks)
        except ValueError:
            hooks = {}
    ways = get("wecom.verify_add_ways") or [2]
    if isinstance(ways, str):
        ways = json.loads(ways)
    return WeComConfig(
        corp_id=_text("wecom.corp_id"),
        agent_id=_text("wecom.agent_id"),
        app_secret=_text("wecom.app_secret"),
        app_token=_text("wecom.app_token"),
        app_aes_key=_text("wecom.app_aes_key"),
        bot_token=_text("wecom.bot_token"),
        bot_aes_key=_text("wecom.bot_aes_key"),
        oa_token=_text("wecom.oa_token"),
        oa_aes_key=_text("wecom.oa_aes_key"),
        oa_app_id=_text("wecom.oa_app_id"),
        oa_app_secret=_text("wecom.oa_app_secret"),
        oa_api_base=(_text("wecom.oa_api_base") or OFFICIAL_OA_API_BASE).rstrip("/"),
        webhook_keys=dict(hooks),
        api_base=(_text("wecom.api_base") or OFFICIAL_API_BASE).rstrip("/"),
        verify_add_ways=tuple(int(w) for w in ways),
    )
