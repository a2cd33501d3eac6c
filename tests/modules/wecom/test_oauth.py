"""Staff sign-in inside the WeCom client through WeCom's web OAuth2 (the fake WeCom plays the
authorize page and ``auth/getuserinfo``): the link opens the order page with the member's
own rights; a forged state, a refused authorization or an unbound member sign no one in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import cleaned_context
from tests.conftest import installed_app
from tests.modules.wecom.conftest import wecom_config

WXWORK = "Mozilla/5.0 (iPhone) AppleWebKit wxwork/4.1.20 MicroMessenger/7.0.1"


@pytest.fixture(scope="module")
def oauth_app(databases: Any, instance_dir: Any, fake_wecom: Any) -> Iterator[Any]:
    with installed_app(databases, instance_dir, ["sales", "wecom"],
                       **wecom_config(fake_wecom)) as app:
        yield app


@pytest.fixture
def ctx_app(oauth_app: Any, fake_wecom: Any) -> Iterator[Any]:
    fake_wecom.state.oauth_user = None
    with cleaned_context(oauth_app) as app:
        yield app
    fake_wecom.state.oauth_user = None


def _user(username: str, *roles: str) -> Any:
    from core.security.services import create_user

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        return create_user(ctx, username, roles=roles, wecom_userid=username)


def _through_wecom(client: Any, location: str) -> str:
    """Follow the authorize redirect at the fake WeCom; returns our callback's path."""
    answer = requests.get(location.split("#")[0], allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def test_a_link_opened_in_wecom_signs_the_member_in_with_his_own_rights(ctx_app, fake_wecom):
    from tests.modules.crm.factories import make_customer
    from tests.modules.sales.factories import make_order

    li = _user("li.sales", "sales")
    zhao = _user("zhao.sales", "sales")
    order = make_order(li, customer=make_customer(li))
    client = ctx_app.test_client()
    page = client.get(f"/sales/orders/{order.id}", headers={"User-Agent": WXWORK})
    assert page.status_code == 302 and "/wecom/oauth/start" in page.headers["Location"]
    start = client.get(page.headers["Location"])
    authorize = start.headers["Location"]
    assert authorize.startswith(fake_wecom.base_url + "/connect/oauth2/authorize")
    assert "secret" not in authorize.lower() and "password" not in authorize.lower()
    fake_wecom.state.oauth_user = "li.sales"
    back = client.get(_through_wecom(client, authorize))
    assert back.status_code == 302 and back.headers["Location"].endswith(
        f"/sales/orders/{order.id}")
    assert client.get(f"/sales/orders/{order.id}").status_code == 200
    # Another member sees what his rights allow: not li's order.
    other = ctx_app.test_client()
    fake_wecom.state.oauth_user = "zhao.sales"
    start = other.get(f"/wecom/oauth/start?next=/sales/orders/{order.id}")
    other.get(_through_wecom(other, start.headers["Location"]))
    assert other.get(f"/sales/orders/{order.id}").status_code == 404
    assert zhao is not None


def test_forged_state_refused_authorization_and_unbound_members(ctx_app, fake_wecom):
    _user("li.sales", "sales")
    client = ctx_app.test_client()
    assert client.get("/wecom/oauth/callback?code=x&state=forged").status_code == 403
    start = client.get("/wecom/oauth/start?next=https://evil.example/")
    fake_wecom.state.oauth_user = None  # the member declined
    refused = client.get(_through_wecom(client, start.headers["Location"]))
    assert refused.status_code == 403
    start = client.get("/wecom/oauth/start?next=//evil.example/")
    fake_wecom.state.oauth_user = "stranger"
    assert client.get(_through_wecom(client, start.headers["Location"])).status_code == 403
    start = client.get("/wecom/oauth/start?next=//evil.example/")
    fake_wecom.state.oauth_user = "li.sales"
    done = client.get(_through_wecom(client, start.headers["Location"]))
    assert done.status_code == 302 and urlsplit(done.headers["Location"]).netloc in ("", "localhost")
    assert urlsplit(done.headers["Location"]).path == "/"
