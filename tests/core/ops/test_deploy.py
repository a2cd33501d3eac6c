"""docs/deploy.md followed on this machine: its environment file and the ``ExecStart`` lines
of its systemd units start two gunicorn nodes (two loopback ports), an RQ worker and two
schedulers against a fresh PostgreSQL database and a private Redis; a smoke goes through
both nodes; a killed scheduler is replaced by the standby; SIGTERM stops everything cleanly.

PostgreSQL suite only (the deployment's database); bounded: about 30 s here."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy import text

from tests.conftest import backend
from tests.core.jobs.conftest import RedisServer
from tests.core.ops.deploy_doc import ROOT
from tests.core.ops.deploy_doc import doc_commands
from tests.core.ops.deploy_doc import doc_file
from tests.core.ops.deploy_doc import environment_file
from tests.core.ops.deploy_doc import local_paths
from tests.core.ops.deploy_doc import unit

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.redis,
    pytest.mark.timeout(150),
    pytest.mark.skipif(backend() != "postgresql",
                       reason="the deployment runs on PostgreSQL: in the PostgreSQL suite"),
]

ADMIN_PASSWORD = "a-long-passphrase"  # docs/deploy.md's first installation


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """One process started from a unit's ExecStart, its output kept in a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log_path = logs / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def json_lines(self) -> list[dict]:
        out = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, as systemd stops a unit; the exit status."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def kill_group(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self._log.close()


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except (requests.RequestException, OSError):
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def nginx_config(tmp: Path, ports: dict[str, int], front: int, plain: int) -> Path | None:
    """docs/deploy.md's nginx site, as this machine runs it: its two upstream servers are the
    two nodes' loopback ports, ``listen 443 ssl`` a plain loopback port (no certificate
    here), ``listen 80`` another, ``/opt/tandem`` this checkout; wrapped in a main
    configuration whose files all live in ``tmp``. None when nginx is not installed."""
    import shutil

    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                       else None)
    if binary is None:
        return None
    site = []
    nodes = iter(ports.values())
    for line in doc_file("/etc/nginx/sites-available/tandem.conf"):
        stripped = line.strip()
        if stripped.startswith("server ") and ":8001" in stripped:
            line = re.sub(r"server \S+:8001", f"server 127.0.0.1:{next(nodes)}", line)
        elif stripped.startswith("listen 443"):
            line = f"    listen 127.0.0.1:{front};"
        elif stripped.startswith("listen 80"):
            line = f"    listen 127.0.0.1:{plain};"
        elif stripped.startswith("ssl_certificate"):
            continue
        site.append(local_paths(line))
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / folder).mkdir(exist_ok=True)
    main = [
        "user root;" if os.geteuid() == 0 else "",
        "worker_processes 1;",
        f"pid {tmp}/nginx.pid;",
        f"error_log {tmp}/nginx-error.log warn;",
        "events { worker_connections 256; }",
        "http {",
        "    include /etc/nginx/mime.types;",
        f"    access_log {tmp}/nginx-access.log;",
        *(f"    {kind}_temp_path {tmp}/{folder};" for kind, folder in (
            ("client_body", "body"), ("proxy", "proxy"), ("fastcgi", "fastcgi"),
            ("uwsgi", "uwsgi"), ("scgi", "scgi"))),
        *site,
        "}",
    ]
    path = tmp / "nginx.conf"
    path.write_text("\n".join(main) + "\n", encoding="utf-8")
    checked = subprocess.run([binary, "-t", "-p", str(tmp), "-c", str(path)],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    return path


@pytest.fixture(scope="module")
def deployment(databases: Any, tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    redis_server = RedisServer()
    redis_server.start()
    tmp = tmp_path_factory.mktemp("deploy")
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "LC_ALL") if key in os.environ}
    env.update(environment_file())
    database_url = databases.new_url()
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_server.url,
        TANDEM_INSTANCE_PATH=str(tmp / "instance"),
        TANDEM_BASE_URL="http://127.0.0.1",
        TANDEM_HOST="127.0.0.1",
        SECRET_KEY=uuid.uuid4().hex,  # one key for every node, as the doc asks
        TANDEM_DEFAULT_MODULES='["crm"]',  # the smoke needs crm; every module takes longer
        TANDEM_SCHEDULER_LEASE="2",
        TANDEM_SCHEDULER_INTERVAL="0.5",
    )
    for command in doc_commands("install"):
        done = subprocess.run(shlex.split(command), cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, (command, done.stdout[-1500:], done.stderr[-1500:])
    token = subprocess.run([*shlex.split(doc_commands("install")[0])[:2], "users", "token",
                            "admin"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=60, check=True).stdout.strip().splitlines()[-1]

    services: dict[str, Service] = {}
    ports = {"a": _free_port(), "b": _free_port()}
    try:
        for node, port in ports.items():
            argv, unit_env = unit("tandem-web@.service", str(port), env)
            services[f"web-{node}"] = Service(f"web-{node}", argv, {**env, **unit_env}, tmp)
        argv, unit_env = unit("tandem-worker@.service", "1")
        services["worker"] = Service("worker", argv, {**env, **unit_env}, tmp)
        for name in ("scheduler-1", "scheduler-2"):
            argv, unit_env = unit("tandem-scheduler.service")
            services[name] = Service(name, argv, {**env, **unit_env}, tmp)
        front, plain = _free_port(), _free_port()
        config = nginx_config(tmp, ports, front, plain)
        if config is not None:
            import shutil

            binary = shutil.which("nginx") or "/usr/sbin/nginx"
            services["nginx"] = Service("nginx", [binary, "-p", str(tmp), "-c", str(config),
                                                  "-g", "daemon off;"], env, tmp)
        yield {"env": env, "ports": ports, "services": services, "token": token,
               "database_url": database_url, "redis": redis_server,
               "nginx": {"front": front, "plain": plain} if config else None}
    finally:
        for service in services.values():
            service.kill_group()
        redis_server.stop()


def _url(deployment: dict, node: str, path: str) -> str:
    return f"http://127.0.0.1:{deployment['ports'][node]}{path}"


def _login(http: requests.Session, url: str, username: str, password: str) -> requests.Response:
    page = http.get(url, timeout=10)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert token, page.text[:500]
    return http.post(url, data={"csrf_token": token.group(1), "username": username,
                                "password": password}, allow_redirects=False, timeout=10)


def test_nginx_from_the_deploy_doc_in_front_of_both_nodes(deployment):
    """The doc's nginx site (ports and paths of this machine): requests reach both nodes,
    nginx's request id is the one the node logs, static files come from nginx, a session
    made through it holds, and plain HTTP is sent to HTTPS. (Failover: the next test, after
    node A stops.)"""
    if deployment["nginx"] is None:
        pytest.skip("nginx is not installed (scripts/services.sh installs it as root)")
    front = f"http://127.0.0.1:{deployment['nginx']['front']}"
    for node in ("a", "b"):
        wait_for(lambda n=node: requests.get(_url(deployment, n, "/readyz"), timeout=5)
                 .status_code == 200, 60, f"node {node} ready")
    ready = wait_for(lambda: requests.get(front + "/readyz", timeout=5), 20, "nginx")
    assert ready.status_code == 200 and ready.headers["Server"].startswith("nginx")

    ids = set()
    for _ in range(6):  # round robin: both nodes answer (probes are not logged: a page)
        answer = requests.get(front + "/login", timeout=5)
        assert answer.status_code == 200
        ids.add(answer.headers["X-Request-ID"])
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)  # nginx's $request_id

    def logged(node: str) -> set[str]:
        return {line.get("request_id") for line in deployment["services"][node].json_lines()}

    # the access line is written once the answer is sent: wait for it
    wait_for(lambda: ids <= logged("web-a") | logged("web-b"), 10, "the nodes' access lines")
    assert ids & logged("web-a") and ids & logged("web-b")

    css = requests.get(front + "/static/tandem.css", timeout=5)
    assert css.status_code == 200 and "Cache-Control" in css.headers  # nginx's `expires`
    assert css.content == (ROOT / "core/web/static/tandem.css").read_bytes()

    http = requests.Session()
    login = _login(http, front + "/login", "admin", ADMIN_PASSWORD)
    assert login.status_code == 302, login.text[:500]
    for _ in range(2):  # whichever node answers, the session holds
        home = http.get(front + "/", allow_redirects=False, timeout=10)
        assert home.status_code == 200, home.headers.get("Location")

    plain = requests.get(f"http://127.0.0.1:{deployment['nginx']['plain']}/crm/customers",
                         allow_redirects=False, timeout=5)
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://") and \
        plain.headers["Location"].endswith("/crm/customers")


def test_two_nodes_a_worker_and_schedulers_from_the_deploy_doc(deployment):
    services = deployment["services"]
    for node in ("a", "b"):
        wait_for(lambda n=node: requests.get(_url(deployment, n, "/readyz"), timeout=5)
                 .status_code == 200, 60, f"node {node} ready")
        health = requests.get(_url(deployment, node, "/healthz"), timeout=5)
        assert health.status_code == 200 and health.json() == {"status": "ok"}

    # a session made on node A is valid on node B (signed cookie, shared SECRET_KEY)
    http = requests.Session()
    login = _login(http, _url(deployment, "a", "/login"), "admin", ADMIN_PASSWORD)
    assert login.status_code == 302, login.text[:500]
    home = http.get(_url(deployment, "b", "/"), allow_redirects=False, timeout=10)
    assert home.status_code == 200, home.headers.get("Location")

    # a write on node A is seen on node B (API and page)
    api = {"Authorization": f"Bearer {deployment['token']}"}
    created = requests.post(_url(deployment, "a", "/api/v1/customers"), headers=api,
                            json={"customer_name": "部署冒烟客户", "phone": "13800138000"},
                            timeout=10)
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    seen = requests.get(_url(deployment, "b", f"/api/v1/customers/{customer_id}"), headers=api,
                        timeout=10)
    assert seen.status_code == 200 and seen.json()["customer_name"] == "部署冒烟客户"
    page = http.get(_url(deployment, "b", "/crm/customers"), timeout=10)
    assert page.status_code == 200 and "部署冒烟客户" in page.text

    # a live page on node A hears of a change saved on node B (Redis pub/sub)
    stream = http.get(_url(deployment, "a", "/events/stream?models=crm_customer&limit=1"),
                      stream=True, timeout=20)
    assert stream.status_code == 200
    lines = stream.iter_lines(decode_unicode=True)
    assert next(lines).startswith("retry:")
    time.sleep(0.5)  # the stream subscribes right after its first line
    other = requests.post(_url(deployment, "b", "/api/v1/customers"), headers=api,
                          json={"customer_name": "另一节点客户", "phone": "13800138001"},
                          timeout=10)
    assert other.status_code == 201, other.text
    heard = [line for line in lines if line.startswith("data:")]
    stream.close()
    assert json.loads(heard[0].removeprefix("data:")) == {
        "model": "crm_customer", "id": str(other.json()["id"]), "action": "create"}

    # a job enqueued by a request on node B runs on the worker, under the request's id
    request_id = f"smoke-{uuid.uuid4().hex[:12]}"
    opportunity = requests.post(
        _url(deployment, "b", "/api/v1/opportunities"),
        headers={**api, "X-Request-ID": request_id},  # as nginx sends it (TANDEM_PROXY_HOPS=1)
        json={"customer_id": customer_id, "product_name": "冒烟设备", "unowned": True},
        timeout=10)
    assert opportunity.status_code == 201, opportunity.text
    assert opportunity.headers["X-Request-ID"] == request_id
    worker = services["worker"]

    def finished_jobs() -> list[dict]:
        return [line for line in worker.json_lines()
                if line.get("message") == "job finished" and line.get("request_id") == request_id]

    jobs = wait_for(finished_jobs, 30, "the worker to run the request's job")
    assert {line["job"] for line in jobs} == {"core.notify.deliver"}
    engine = create_engine(deployment["database_url"])
    try:
        with engine.connect() as conn:
            statuses = list(conn.scalars(text(
                "SELECT status FROM core_notification WHERE record_model = 'crm_opportunity' "
                "AND record_id = :id"), {"id": str(opportunity.json()["id"])}))
    finally:
        engine.dispose()
    assert statuses and set(statuses) == {"sent"}
    web_b = services["web-b"].json_lines()
    assert any(line.get("message") == "request" and line.get("request_id") == request_id
               and line.get("path") == "/api/v1/opportunities" and line.get("status") == 201
               for line in web_b), "node B's access line for the request"

    # one scheduler holds the lease; killed, the standby takes over
    def holder() -> Service | None:
        taken = [s for s in (services["scheduler-1"], services["scheduler-2"])
                 if "scheduler lease taken" in s.output()]
        return taken[0] if len(taken) == 1 else None

    first = wait_for(holder, 20, "a scheduler to take the lease")
    standby = services["scheduler-2" if first.name == "scheduler-1" else "scheduler-1"]
    first.process.kill()  # kill -9: no lease given back
    first.process.wait(10)
    wait_for(lambda: "scheduler lease taken" in standby.output(), 20,
             "the standby scheduler to take over")

    # SIGTERM drains: a request node A is still reading when told to stop gets its answer
    body = b"username=admin&password=wrong"
    in_flight = socket.create_connection(("127.0.0.1", deployment["ports"]["a"]), timeout=20)
    in_flight.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
    time.sleep(0.5)  # the request is in a worker's thread, waiting for the rest of its body
    services["web-a"].process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    in_flight.sendall(body[10:])
    answer = in_flight.recv(65536)
    in_flight.close()
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    assert services["web-a"].process.wait(30) == 0
    if deployment["nginx"]:  # node A gone: nginx sends everything to node B
        front = f"http://127.0.0.1:{deployment['nginx']['front']}"
        answers = [requests.get(front + "/readyz", timeout=10).status_code for _ in range(6)]
        assert answers == [200] * 6

    # SIGTERM: every other process drains and exits cleanly
    statuses_on_term = {name: service.terminate() for name, service in services.items()
                        if service is not first and name != "web-a"}
    assert statuses_on_term == dict.fromkeys(statuses_on_term, 0), {
        name: services[name].output()[-1500:] for name, code in statuses_on_term.items() if code}
    assert "Shutting down: Master" in services["web-a"].output()
