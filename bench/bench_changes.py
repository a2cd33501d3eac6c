"""What the changes feed costs (issue 19 #5): an opportunity update with and without the
outbox, alone and with four concurrent writers (PostgreSQL's advisory lock serialises the
writers' last moments), and a page of the feed next to its hand-written SQL.

The "with the feed vs without" rows put the update with the feed in the server columns and the same
update without it (``TANDEM_CHANGES_FEED = False``, a second app on the same database) in
the SQL columns, sampled alternately like every case here; the ratio is the overhead."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bench.common import admin_token
from bench.common import installed_app
from bench.common import served_client
from bench.harness import Case
from bench.harness import Result
from bench.harness import insert_rows
from bench.harness import measure
from bench.harness import p95
from bench.harness import report
from bench.harness import settle
from core.db import utcnow
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work

WRITERS = 4
UPDATES_PER_WRITER = 25


def main(url: str, *, scale: float, repeat: int, instance: str) -> str:
    n_opps = max(200, int(100_000 * scale))
    app = installed_app(url, instance, ["crm"])
    off = installed_app(url, instance, ["crm"], TANDEM_CHANGES_FEED=False)
    ids = populate(app, n_opps)
    results = [alternate("opportunity update, one service call — with the feed vs without",
                         updater(app, ids, 0), updater(off, ids, 1), repeat)]
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    if postgres:
        rounds = max(3, repeat // 20)
        results.append(alternate(
            f"{WRITERS} concurrent writers, ms per update — with the feed vs without",
            concurrent(app, ids, 0), concurrent(off, ids, 1), rounds, warmup=1))
    token = admin_token(app)
    client = served_client(app)
    headers = {"Authorization": f"Bearer {token}"}
    page = Case("GET /api/v1/changes?limit=100 (admin), a page of update events",
                lambda: client.get("/api/v1/changes?limit=100", headers=headers),
                "SELECT id, at, module, model, record_id, action, source, actor_id, data, "
                "changed FROM core_change_event WHERE id > 0 ORDER BY id LIMIT 100")
    results.append(measure(page, repeat=repeat, app=app))
    return report(results, f"changes feed ({n_opps:,} opportunities, "
                           f"{'PostgreSQL' if postgres else 'SQLite'})")


def populate(app: Any, n_opps: int) -> list[int]:
    with app.app_context():
        now = utcnow()
        customers = db.metadata.tables["crm_customer"]
        insert_rows(customers, ({
            "customer_type": "individual", "customer_name": f"客户{i:06d}",
            "phone": f"139{i:08d}", "customer_level": "normal", "status": "in_pool",
            "locked": False, "created_at": now, "updated_at": now,
        } for i in range(max(1, n_opps // 3))), max(1, n_opps // 3), "customers")
        first = db.session.scalar(select(customers.c.id).order_by(customers.c.id).limit(1))
        opps = db.metadata.tables["crm_opportunity"]
        insert_rows(opps, ({
            "customer_id": first + (i % max(1, n_opps // 3)), "product_name": f"中央空调{i % 50}",
            "quantity": 1 + i % 9, "estimated_amount": 1000 + (i % 997) * 100, "status": "new",
            "created_at": now - timedelta(minutes=i), "updated_at": now,
        } for i in range(n_opps)), n_opps, "opportunities")
        settle()
        ids = list(db.session.scalars(select(opps.c.id).order_by(opps.c.id)))
        db.session.remove()
    return ids


def _update(app: Any, opp_id: int, n: int) -> None:
    from modules.crm.services.opportunities import update_opportunity

    with app.app_context():
        ctx = ServiceContext.system("api")
        with unit_of_work(ctx):
            update_opportunity(ctx, opp_id, {"quantity": 10 + n})  # always a change


def updater(app: Any, ids: list[int], side: int) -> Any:
    """One update per call, each on the next opportunity (its own app context). The two
    sides walk the same rows: ``side`` (0 or 1) keeps their values apart, so that each
    update changes the row (an unchanged value writes nothing)."""
    state = {"n": 0}

    def run() -> None:
        state["n"] += 1
        _update(app, ids[state["n"] % len(ids)], 2 * state["n"] + side)

    return run


def concurrent(app: Any, ids: list[int], side: int) -> Any:
    """``WRITERS`` threads doing ``UPDATES_PER_WRITER`` updates each, on distinct rows; one
    call's time divided by the number of updates."""
    state = {"n": 0}

    def run() -> None:
        state["n"] += 1
        base = state["n"] * WRITERS * UPDATES_PER_WRITER

        def writer(w: int) -> None:
            for i in range(UPDATES_PER_WRITER):
                _update(app, ids[(base + w * UPDATES_PER_WRITER + i) % len(ids)],
                        2 * (base + i) + side)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    return run


def _ms(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def alternate(name: str, with_feed: Any, without: Any, repeat: int, warmup: int = 5) -> Result:
    """Both sides sampled in turn, as :func:`bench.harness.measure` does."""
    per_call = WRITERS * UPDATES_PER_WRITER if "concurrent" in name else 1
    on: list[float] = []
    off: list[float] = []
    for i in range(warmup + repeat):
        a, b = _ms(with_feed) / per_call, _ms(without) / per_call
        if i >= warmup:
            on.append(a)
            off.append(b)
    return Result(name, statistics.median(on), p95(on), statistics.median(off), p95(off))
