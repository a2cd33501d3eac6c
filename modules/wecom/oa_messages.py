"""Messages to the official account's followers outside a callback's answer: WeChat's
customer-service message (客服消息, ``message/custom/send``), allowed within 48 hours of
the follower's last message. It takes the account's own access token (AppID + AppSecret,
``cgi-bin/token``), cached like the WeCom app's; HTTP goes to ``wecom.oa_api_base`` (tests
point it at the fake)."""

from __future__ import annotations

import json
from typing import Any

from modules.wecom.client import TIMEOUT
from modules.wecom.client import WeComAPIError
from modules.wecom.client import _answer
from modules.wecom.client import _session
from modules.wecom.client import token_cache
from modules.wecom.client import with_token
from modules.wecom.config import WeComConfig
from modules.wecom.config import load_config

NOT_CONFIGURED = -2  # errcode of the error raised without an AppID and AppSecret
# Errors a later attempt cannot mend: the follower wrote more than 48 hours ago (45015),
# unfollowed or is unknown (43004, 40003), the account may not send these (48001).
PERMANENT = {NOT_CONFIGURED, 40003, 43004, 45015, 48001}


class OfficialAccountClient:
    """The official account's API (its AppID and AppSecret)."""

    def __init__(self, config: WeComConfig | None = None, cache: Any = None) -> None:
        self.config = config or load_config()
        self.cache = cache or token_cache()
        self.http = _session()

    @property
    def _token_key(self) -> str:
        return f"tandem:wecom:oa_token:{self.config.oa_api_base}:{self.config.oa_app_id}"

    def _url(self, path: str) -> str:
        return f"{self.config.oa_api_base}/cgi-bin/{path.lstrip('/')}"

    def access_token(self, refresh: bool = False) -> str:
        if not self.config.oa_api_configured:
            raise WeComAPIError(NOT_CONFIGURED, "official account AppID/AppSecret not set")
        if not refresh:
            cached = self.cache.get(self._token_key)
            if cached:
                return cached
        data = _answer(self.http.get(self._url("token"), params={
            "grant_type": "client_credential", "appid": self.config.oa_app_id,
            "secret": self.config.oa_app_secret}, timeout=TIMEOUT))
        if data.get("errcode", 0) != 0 or not data.get("access_token"):
            raise WeComAPIError(data.get("errcode", -1), data.get("errmsg", ""), data)
        token = data["access_token"]
        self.cache.set(self._token_key, token, int(data.get("expires_in", 7200)) - 300)
        return token

    def send_text(self, openid: str, content: str) -> dict:
        """A text message to the follower ``openid``; raises :class:`WeComAPIError` (its
        ``errcode`` in :data:`PERMANENT` when retrying cannot help)."""
        body = json.dumps({"touser": openid, "msgtype": "text", "text": {"content": content}},
                          ensure_ascii=False).encode()  # UTF-8, as WeChat's samples send it
        return with_token(self, lambda token: self.http.post(
            self._url("message/custom/send"), params={"access_token": token}, data=body,
            headers={"Content-Type": "application/json; charset=utf-8"}, timeout=TIMEOUT))
