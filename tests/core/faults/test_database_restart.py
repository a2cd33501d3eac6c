"""PostgreSQL restarted during a burst of writes: the requests it fails answer 503 (never
500), nothing of them is written, and the same app serves again once it is back — no
restart (issue 20 #3). A private cluster (initdb, pg_ctl as ``postgres``) is restarted; the
system's PostgreSQL is never touched."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from sqlalchemy import func
from sqlalchemy import select
from werkzeug.serving import make_server

from core.audit import AuditLog
from core.extensions import db
from core.security.services import create_user
from core.security.services import issue_token
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import backend
from tests.conftest import build_installed_app

pytestmark = [pytest.mark.postgres_only, pytest.mark.timeout(180), pytest.mark.skipif(
    backend() != "postgresql", reason="run once, in the PostgreSQL pass (its own cluster)")]
WRITERS = 4


def test_a_postgresql_restart_answers_503_writes_nothing_half_and_recovers(
        pg_cluster, instance_dir):
    app = build_installed_app(pg_cluster.url, instance_dir, ["demo_a"],
                              PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            user = create_user(ctx, "writer", roles=("demo_a_operator",),
                               password="secret-pass-1")
            token = issue_token(ctx, user)
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    headers = {"Authorization": f"Bearer {token}"}
    answers: list[tuple[str, int, dict, str, float]] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        http = requests.Session()
        i = 0
        while not stop.is_set():
            name = f"w{n}-{i}"
            i += 1
            response = http.post(f"{base}/api/v1/widgets", json={"name": name},
                                 headers=headers, timeout=30)
            body = response.json() if response.headers.get("Content-Type", "").startswith(
                "application/json") else {}
            answers.append((name, response.status_code, body,
                            response.headers.get("Retry-After", ""), time.monotonic()))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        pg_cluster.stop("fast")  # open connections are cut, new ones refused
        time.sleep(2)
        pg_cluster.start()
        back_at = time.monotonic()
        time.sleep(2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)

    statuses = [status for _name, status, _body, _retry, _at in answers]
    assert set(statuses) <= {201, 503}, sorted(set(statuses))
    failed = [a for a in answers if a[1] == 503]
    assert failed, "no request met the restart"
    assert all(body["error"]["code"] == "unavailable" and retry for _n, _s, body, retry, _at
               in failed)
    assert any(status == 201 and at > back_at for _n, status, _b, _r, at in answers)

    # The same app, not restarted, serves a page and a write.
    assert requests.post(f"{base}/api/v1/widgets", json={"name": "after"}, headers=headers,
                         timeout=30).status_code == 201
    created = {name for name, status, *_ in answers if status == 201} | {"after"}
    with app.app_context():
        from demo_a.models import Widget

        names = set(db.session.scalars(select(Widget.name)))
        audited = db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.model == "demo_a_widget", AuditLog.action == "create"))
        db.session.remove()
        db.engine.dispose()
    server.shutdown()
    assert names == created  # every 201 written, nothing of a 503
    assert audited == len(names)  # each widget with its audit row: nothing half-written
    print(f"\n{len(answers)} writes: {len(answers) - len(failed)} × 201, {len(failed)} × 503")
