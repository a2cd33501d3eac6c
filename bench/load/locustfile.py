"""Locust users of two Tandem nodes: list pages, detail pages, API calls and WeCom robot
callbacks (signed and encrypted as WeCom sends them), spread over the nodes at random.

Set by ``bench/load/run.py`` through the environment: ``LOAD_NODES`` (base URLs, comma
separated), ``LOAD_USERS`` (``username:password`` pairs), ``LOAD_TOKEN`` (an API token),
``LOAD_CUSTOMERS`` / ``LOAD_OPPORTUNITIES`` (``first:last`` ids), ``LOAD_BOT_TOKEN`` /
``LOAD_BOT_AES_KEY`` (the robot's callback secrets) and ``LOAD_FIGURES`` (where the
per-request figures of the nodes' headers are written as JSON at the end)."""

from __future__ import annotations

import json
import os
import random
import re
import uuid
from collections import defaultdict
from typing import Any

from locust import HttpUser
from locust import between
from locust import events
from locust import task

from bench.common import signed_robot_request
from modules.wecom.crypto import WeComCrypto

NODES = os.environ.get("LOAD_NODES", "http://127.0.0.1:5000").split(",")
ACCOUNTS = [pair.split(":", 1) for pair in os.environ.get("LOAD_USERS", "root:x").split(",")]
TOKEN = os.environ.get("LOAD_TOKEN", "")
CUSTOMERS = [int(x) for x in os.environ.get("LOAD_CUSTOMERS", "1:1").split(":")]
OPPORTUNITIES = [int(x) for x in os.environ.get("LOAD_OPPORTUNITIES", "1:1").split(":")]
BOT = WeComCrypto(os.environ.get("LOAD_BOT_TOKEN", "t"),
                  os.environ.get("LOAD_BOT_AES_KEY", "a" * 43), "")
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')

# Per route: requests, summed X-DB-Ms, X-App-Ms, X-DB-Queries; per worker process: requests.
FIGURES: dict[str, Any] = {"routes": defaultdict(lambda: [0, 0.0, 0.0, 0]),
                           "processes": defaultdict(int)}


@events.request.add_listener
def _figures(name: str, response: Any = None, exception: Any = None, **_kw: Any) -> None:
    if response is None or exception is not None:
        return
    headers = response.headers
    route = FIGURES["routes"][name]
    route[0] += 1
    route[1] += float(headers.get("X-DB-Ms", 0) or 0)
    route[2] += float(headers.get("X-App-Ms", 0) or 0)
    route[3] += int(headers.get("X-DB-Queries", 0) or 0)
    if headers.get("X-Pid"):
        FIGURES["processes"][headers["X-Pid"]] += 1


@events.quitting.add_listener
def _write(**_kw: Any) -> None:
    path = os.environ.get("LOAD_FIGURES")
    if path:
        with open(path, "w") as out:
            json.dump({"routes": dict(FIGURES["routes"]),
                       "processes": dict(FIGURES["processes"])}, out)


class Staff(HttpUser):
    """A member of staff in the back office, his integrations, and the robot's group."""

    wait_time = between(0.2, 1.0)
    host = NODES[0]

    def on_start(self) -> None:
        self.node = random.choice(NODES)  # a session stays on its node, as behind nginx
        username, password = random.choice(ACCOUNTS)
        page = self.client.get(f"{self.node}/login", name="GET /login")
        match = CSRF.search(page.text)
        data = {"username": username, "password": password}
        if match:
            data["csrf_token"] = match.group(1)
        self.client.post(f"{self.node}/login", data=data, name="POST /login",
                         allow_redirects=False)

    def _any_node(self) -> str:
        return random.choice(NODES)

    @task(4)
    def customer_list(self) -> None:
        self.client.get(f"{self.node}/crm/customers/?sort=-last_follow_up",
                        name="list: /crm/customers/")

    @task(2)
    def opportunity_list(self) -> None:
        self.client.get(f"{self.node}/crm/opportunities/?status=quoted",
                        name="list: /crm/opportunities/?status=quoted")

    @task(4)
    def customer_detail(self) -> None:
        self.client.get(f"{self.node}/crm/customers/{random.randint(*CUSTOMERS)}",
                        name="detail: /crm/customers/<id>")

    @task(2)
    def opportunity_detail(self) -> None:
        self.client.get(f"{self.node}/crm/opportunities/{random.randint(*OPPORTUNITIES)}",
                        name="detail: /crm/opportunities/<id>")

    @task(3)
    def api_list(self) -> None:
        self.client.get(f"{self._any_node()}/api/v1/opportunities?status=negotiating",
                        headers={"Authorization": f"Bearer {TOKEN}"},
                        name="api: GET /api/v1/opportunities")

    @task(2)
    def api_detail(self) -> None:
        self.client.get(f"{self._any_node()}/api/v1/opportunities/"
                        f"{random.randint(*OPPORTUNITIES)}",
                        headers={"Authorization": f"Bearer {TOKEN}"},
                        name="api: GET /api/v1/opportunities/<id>")

    @task(2)
    def robot_callback(self) -> None:
        """A group message to the robot, encrypted and signed as WeCom posts it."""
        query, body = signed_robot_request(BOT, BOT.token, "load.user", "@Tandem 帮助",
                                           uuid.uuid4().hex, chatid="chat-sales")
        self.client.post(
            f"{self._any_node()}/wecom/bot/callback", params=query, data=body,
            headers={"Content-Type": "application/json"}, name="robot: POST /wecom/bot/callback")
