"""Outbound WeCom API: access tokens (cached per corp and app), app messages, card updates,
group webhooks, robot ``response_url`` replies and the 客户联系 endpoints.

HTTP goes through ``requests`` to ``WECOM_API_BASE`` (the official host by default; tests
and ``manage.py wecom simulate`` point it at the fake server).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from flask import current_app

from modules.wecom.config import WeComConfig
from modules.wecom.config import load_config

TOKEN_ERRORS = {40001, 40014, 42001}
TIMEOUT = 10


class WeComAPIError(Exception):
    def __init__(self, errcode: int, errmsg: str, payload: dict | None = None) -> None:
        super().__init__(f"WeCom error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.payload = payload or {}


BUSY = -1  # WeCom's "system busy"; also what an HTTP error or a body that is not JSON becomes


def with_token(client: Any, send: Any) -> dict:
    """``send(access_token)``'s answer, for a client with ``access_token(refresh=)``, its
    ``cache`` and ``_token_key`` (the WeCom app's, the official account's): an expired or
    invalid token is fetched again once; another error raises :class:`WeComAPIError`."""
    for attempt in (1, 2):
        data = _answer(send(client.access_token(refresh=attempt == 2)))
        errcode = data.get("errcode", 0)
        if errcode in TOKEN_ERRORS and attempt == 1:
            client.cache.delete(client._token_key)
            continue
        if errcode != 0:
            raise WeComAPIError(errcode, data.get("errmsg", ""), data)
        return data
    raise AssertionError("unreachable")


def _answer(response: requests.Response) -> dict:
    """WeCom's JSON answer. An HTTP error or a page that is not JSON (a gateway's 502) is a
    :class:`WeComAPIError` with errcode -1 ("system busy"): the outbox retries it later."""
    if response.status_code >= 400:
        raise WeComAPIError(BUSY, f"HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError as exc:
        raise WeComAPIError(BUSY, "answer is not JSON") from exc
    if not isinstance(data, dict):
        raise WeComAPIError(BUSY, "answer is not a JSON object")
    return data


class _MemoryTokenCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._values.get(key)
            if value and value[1] > time.time():
                return value[0]
            return None

    def set(self, key: str, token: str, ttl: int) -> None:
        with self._lock:
            self._values[key] = (token, time.time() + ttl)

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)


_redis_clients: dict[str, Any] = {}
_http = threading.local()


def redis_client(url: str) -> Any:
    """One client (and connection pool) per Redis URL and process, not one per message."""
    client = _redis_clients.get(url)
    if client is None:
        import redis

        client = _redis_clients.setdefault(url, redis.Redis.from_url(url))
    return client


def _session() -> requests.Session:
    """One HTTP session per thread: its connections to WeCom are kept alive."""
    session = getattr(_http, "session", None)
    if session is None:
        session = _http.session = requests.Session()
    return session


class _RedisTokenCache:
    def __init__(self, url: str) -> None:
        self._redis = redis_client(url)

    def get(self, key: str) -> str | None:
        value = self._redis.get(key)
        return value.decode() if value else None

    def set(self, key: str, token: str, ttl: int) -> None:
        self._redis.set(key, token, ex=max(ttl, 1))

    def delete(self, key: str) -> None:
        self._redis.delete(key)


_memory_cache = _MemoryTokenCache()


def token_cache() -> Any:
    url = current_app.config.get("REDIS_URL")
    return _RedisTokenCache(url) if url else _memory_cache


class WeComClient:
    """A client for one corp and self-built app."""

    def __init__(
        self,
        config: WeComConfig | None = None,
        cache: Any = None,
        session: requests.Session | None = None,
    ) -> None:
        self.config = config or load_config()
        self.cache = cache or token_cache()
        self.http = session or _session()

    @property
    def _token_key(self) -> str:
        return (f"tandem:wecom:token:{self.config.api_base}:{self.config.corp_id}:"
                f"{self.config.agent_id or 'app'}")

    def _url(self, path: str) -> str:
        return f"{self.config.api_base}/cgi-bin/{path.lstrip('/')}"

    def access_token(self, refresh: bool = False) -> str:
        if not refresh:
            cached = self.cache.get(self._token_key)
            if cached:
                return cached
        response = self.http.get(
            self._url("gettoken"),
            params={"corpid": self.config.corp_id, "corpsecret": self.config.app_secret},
            timeout=TIMEOUT,
        )
        data = _answer(response)
        if data.get("errcode", 0) != 0:
            raise WeComAPIError(data.get("errcode"), data.get("errmsg", ""), data)
        token = data["access_token"]
        # Expire a little early so a token never dies in flight.
        self.cache.set(self._token_key, token, int(data.get("expires_in", 7200)) - 300)
        return token

    def call(
        self, method: str, path: str, *, json: dict | None = None, params: dict | None = None
    ) -> dict:
        """Call an authenticated endpoint; on an expired/invalid token refetch once."""
        return with_token(self, lambda token: self.http.request(
            method, self._url(path), params={**(params or {}), "access_token": token},
            json=json, timeout=TIMEOUT))

    # ---------------------------------------------------------------- messages
    def send_app_message(self, touser: list[str] | str, message: dict) -> dict:
        """``message`` is ``{"msgtype": …, <msgtype>: {…}}``; returns WeCom's answer
        (``invaliduser`` non-empty means a partial failure)."""
        body = {
            "touser": touser if isinstance(touser, str) else "|".join(touser),
            "agentid": int(self.config.agent_id or 0),
            **message,
        }
        return self.call("POST", "message/send", json=body)

    def update_template_card(
        self,
        userids: list[str],
        response_code: str,
        template_card: dict | None = None,
        replace_name: str | None = None,
    ) -> dict:
        body: dict[str, Any] = {
            "userids": userids,
            "agentid": int(self.config.agent_id or 0),
            "response_code": response_code,
        }
        if template_card is not None:
            body["template_card"] = template_card
        else:
            body["button"] = {"replace_name": replace_name or "已处理"}
        return self.call("POST", "message/update_template_card", json=body)

    def webhook_send(self, key: str, message: dict) -> dict:
        """Group robot push (no token; the key is the secret)."""
        response = self.http.post(
            self._url("webhook/send"), params={"key": key}, json=message, timeout=TIMEOUT
        )
        data = _answer(response)
        if data.get("errcode", 0) != 0:
            raise WeComAPIError(data.get("errcode"), data.get("errmsg", ""), data)
        return data

    def aibot_response(self, response_url: str, message: dict) -> dict:
        """Active reply of the intelligent robot through a one-time ``response_url``."""
        response = self.http.post(response_url, json=message, timeout=TIMEOUT)
        data = _answer(response)
        if data.get("errcode", 0) != 0:
            raise WeComAPIError(data.get("errcode"), data.get("errmsg", ""), data)
        return data

    # ------------------------------------------------------------ web OAuth2
    def oauth_userinfo(self, code: str) -> dict:
        """``auth/getuserinfo``: the member (``userid``) behind a web OAuth2 code."""
        return self.call("GET", "auth/getuserinfo", params={"code": code})

    # ------------------------------------------------------------ 客户联系
    def external_contact(self, external_userid: str) -> dict:
        return self.call("GET", "externalcontact/get", params={"external_userid": external_userid})

    def remark(self, userid: str, external_userid: str, **fields: Any) -> dict:
        return self.call(
            "POST",
            "externalcontact/remark",
            json={"userid": userid, "external_userid": external_userid, **fields},
        )

    def transfer_customers(
        self,
        handover_userid: str,
        takeover_userid: str,
        external_userids: list[str],
        message: str | None = None,
    ) -> dict:
        """Transfer at most 100 customers in one call (WeCom's limit)."""
        if len(external_userids) > 100:
            raise ValueError("transfer_customer takes at most 100 external contacts per call")
        body: dict[str, Any] = {
            "handover_userid": handover_userid,
            "takeover_userid": takeover_userid,
            "external_userid": external_userids,
        }
        if message:
            body["transfer_success_msg"] = message
        return self.call("POST", "externalcontact/transfer_customer", json=body)

    def transfer_result(self, handover_userid: str, takeover_userid: str, cursor: str = "") -> dict:
        return self.call(
            "POST",
            "externalcontact/transfer_result",
            json={
                "handover_userid": handover_userid,
                "takeover_userid": takeover_userid,
                "cursor": cursor,
            },
        )
