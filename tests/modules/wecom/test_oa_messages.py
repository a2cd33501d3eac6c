"""Customer-service messages to the official account's followers (modules.wecom.oa_messages):
the account's own token (AppID + AppSecret), fetched once and refetched when WeChat says it
expired; UTF-8 text; WeChat's refusals raised with their errcode."""

from __future__ import annotations

from typing import Any

import pytest

from core.services import ServiceContext
from core.services import unit_of_work
from core.settings import set_setting
from modules.wecom.client import WeComAPIError
from modules.wecom.oa_messages import NOT_CONFIGURED
from modules.wecom.oa_messages import PERMANENT
from modules.wecom.oa_messages import OfficialAccountClient
from tests.modules.wecom.conftest import official_account_api

SEND = "/cgi-bin/message/custom/send"


@pytest.fixture
def oa(wecom_ctx: Any, fake_wecom: Any) -> Any:
    with official_account_api(fake_wecom) as fake:
        yield fake


def test_a_text_reaches_the_follower_and_the_token_is_kept(oa):
    OfficialAccountClient().send_text("openid-1", "您好，照片未能接收")
    fetched = len(oa.state.received("/cgi-bin/token"))
    OfficialAccountClient().send_text("openid-1", "第二条")
    assert [m["text"]["content"] for m in oa.state.delivered_to(SEND)] == [
        "您好，照片未能接收", "第二条"]
    assert fetched <= 1 and len(oa.state.received("/cgi-bin/token")) == fetched


def test_an_expired_token_is_fetched_again_once(oa):
    OfficialAccountClient().send_text("openid-1", "一")
    fetched = len(oa.state.received("/cgi-bin/token"))  # 0 when an earlier test's is kept
    with oa.state.lock:
        oa.state.tokens.clear()  # WeChat forgot it: 40014 on the next send
    OfficialAccountClient().send_text("openid-1", "二")
    assert len(oa.state.received("/cgi-bin/token")) == fetched + 1
    assert len(oa.state.delivered_to(SEND)) == 2


def test_refusals_carry_their_errcode(oa):
    oa.state.oa_out_of_window.add("openid-late")
    with pytest.raises(WeComAPIError) as late:
        OfficialAccountClient().send_text("openid-late", "晚了")
    assert late.value.errcode == 45015 and late.value.errcode in PERMANENT
    with unit_of_work(ServiceContext.system("cli")):
        set_setting("wecom.oa_app_secret", "")
    with pytest.raises(WeComAPIError) as unset:
        OfficialAccountClient().send_text("openid-1", "无密钥")
    assert unset.value.errcode == NOT_CONFIGURED
    assert oa.state.delivered_to(SEND) == []
