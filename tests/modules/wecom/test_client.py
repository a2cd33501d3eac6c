"""The outbound client against the fake WeCom's real request/response shapes."""

from __future__ import annotations

import pytest

from modules.wecom.client import WeComAPIError
from modules.wecom.client import WeComClient


def test_token_is_cached_and_refetched_once_when_expired(wecom_ctx, fake_wecom):
    client = WeComClient()
    client.cache.delete(client._token_key)
    fake_wecom.state.expire_next_token = True  # the first token is already dead
    answer = client.send_app_message(["li.sales"], {"msgtype": "text", "text": {"content": "hi"}})
    assert answer["errcode"] == 0
    paths = [r["path"] for r in fake_wecom.state.requests]
    assert paths == ["/cgi-bin/gettoken", "/cgi-bin/message/send", "/cgi-bin/gettoken",
                     "/cgi-bin/message/send"]
    client.send_app_message(["li.sales"], {"msgtype": "text", "text": {"content": "again"}})
    assert [r["path"] for r in fake_wecom.state.requests].count("/cgi-bin/gettoken") == 2


def test_partial_failure_reports_invalid_users(wecom_ctx, fake_wecom):
    fake_wecom.state.users = {"li.sales"}
    try:
        answer = WeComClient().send_app_message(
            ["li.sales", "ghost"], {"msgtype": "markdown", "markdown": {"content": "**x**"}})
    finally:
        fake_wecom.state.users = set()
    assert answer["errcode"] == 0 and answer["invaliduser"] == "ghost"


def test_webhook_limit_answers_45009_past_twenty_a_minute(wecom_ctx):
    client = WeComClient()
    message = {"msgtype": "markdown", "markdown": {"content": "新商机"}}
    for _ in range(20):
        client.webhook_send("sales-key", message)
    with pytest.raises(WeComAPIError) as err:
        client.webhook_send("sales-key", message)
    assert err.value.errcode == 45009


def test_wrong_secret_is_a_clear_error(wecom_ctx, fake_wecom):
    from dataclasses import replace

    client = WeComClient()
    client.config = replace(client.config, app_secret="wrong")
    client.cache.delete(client._token_key)
    with pytest.raises(WeComAPIError) as err:
        client.access_token(refresh=True)
    assert err.value.errcode == 40001
