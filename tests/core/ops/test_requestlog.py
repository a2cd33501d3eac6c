"""Request ids and the one access line per request (core.requestlog)."""

from __future__ import annotations

import logging

from werkzeug.test import Client
from werkzeug.wrappers import Response

from core.requestlog import RequestLog
from core.requestlog import current_request_id

SEEN: list[str | None] = []


def _app(environ, start_response):
    SEEN.append(current_request_id())
    logging.getLogger("tandem.test").info("inside")
    return Response("hello", status=201)(environ, start_response)


def test_an_id_per_request_logged_and_sent_back(caplog):
    SEEN.clear()
    client = Client(RequestLog(_app, trust_header=False))
    with caplog.at_level(logging.DEBUG):
        response = client.get("/x?q=1", headers={"X-Request-ID": "from-anyone"})
        response.close()  # as the server does once the body is sent: the line is logged
    request_id = response.headers["X-Request-ID"]
    assert request_id != "from-anyone" and len(request_id) == 32  # not trusted: a new one
    assert [request_id] == SEEN and current_request_id() is None
    [line] = [r for r in caplog.records if r.name == "tandem.request"]
    assert (line.levelno, line.request_id, line.method, line.path, line.query, line.status,
            line.bytes) == (logging.INFO, request_id, "GET", "/x", "q=1", 201, 5)
    assert line.duration_ms >= 0


def test_a_trusted_proxy_id_is_kept_when_well_formed():
    client = Client(RequestLog(_app, trust_header=True))
    assert client.get("/", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == \
        "abc-123"
    for odd in ("bad id", "x" * 200, "<script>"):
        replaced = client.get("/", headers={"X-Request-ID": odd}).headers["X-Request-ID"]
        assert replaced != odd and len(replaced) == 32


def test_probes_log_at_debug(caplog):
    client = Client(RequestLog(lambda e, s: Response("ok")(e, s), trust_header=False))
    with caplog.at_level(logging.DEBUG):
        client.get("/healthz").close()
    [line] = [r for r in caplog.records if r.name == "tandem.request"]
    assert line.levelno == logging.DEBUG


def test_tokens_in_urls_are_not_logged(caplog):
    """A signed link's token in the path and OAuth codes or signatures in the query string
    stay out of the access log; ordinary paths and filters are kept."""
    token = "eyJvcmRlciI6MTJ9.Zq3xK9vLm2Np8QrStUvWx"
    client = Client(RequestLog(_app, trust_header=False))
    with caplog.at_level(logging.INFO):
        for url in (f"/sales/feed/{token}.ics", f"/survey/{token}",
                    "/wecom/oauth/callback?code=CODE123&state=abc&next=/x",
                    "/crm/customers?customer_level=important&page=2"):
            client.get(url).close()
    lines = [(r.path, r.query) for r in caplog.records if r.name == "tandem.request"]
    assert lines == [("/sales/feed/…", None), ("/survey/…", None),
                     ("/wecom/oauth/callback", "code=…&state=…&next=/x"),
                     ("/crm/customers", "customer_level=important&page=2")]
    assert token not in caplog.text and "CODE123" not in caplog.text
