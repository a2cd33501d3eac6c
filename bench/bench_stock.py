"""stock at scale: 20,000 parts and 1,000,000 ledger rows on PostgreSQL.

The parts list page (all, and the low-stock filter), the parts API list and the usage
statistics page, each next to the equivalent hand-written SQL in the same run; then the
checkout throughput on one hot part under 8 concurrent workers (the service: conditional
UPDATE of on-hand, ledger row, parts usage, in one transaction each) beside a bare
conditional ``UPDATE … WHERE on_hand >= 1`` committed alone."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from bench.common import installed_app
from bench.common import served_client
from bench.harness import Case
from bench.harness import insert_rows
from bench.harness import measure
from bench.harness import report
from bench.harness import settle
from core.db import utcnow
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work

CATEGORIES = ("filter", "compressor", "electrical", "refrigerant", "motor", "sensor", "other")
WORKERS = 8


def main(url: str, *, scale: float, repeat: int, instance: str) -> str:
    n_parts, n_moves = max(int(20_000 * scale), 20), max(int(1_000_000 * scale), 200)
    app = installed_app(url, instance, ["stock"])
    token, hot = populate(app, n_parts, n_moves)
    client = served_client(app)
    timed = cases(client, token)
    for case in timed:
        assert case.run().status_code == 200, case.name
    results = [measure(c, repeat=repeat, app=app) for c in timed]
    table = report(results, f"stock ({n_parts:,} parts, {n_moves:,} ledger rows)")
    per_worker = max(int(200 * scale), 5)
    return table + "\n" + throughput(app, hot, per_worker)


def populate(app: Any, n_parts: int, n_moves: int) -> tuple[str, dict[str, int]]:
    from core.security.services import create_user
    from core.security.services import issue_token
    from modules.stock.services import catalogue

    with app.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            keeper = create_user(ctx, "keeper", roles=["warehouse", "manager"],
                                 password="bench-password-1")
            engineers = [create_user(ctx, f"eng{i}", roles=["engineer"],
                                     display_name=f"工程师{i}") for i in range(10)]
            main_wh = catalogue.create_warehouse(ctx, "WH-MAIN", "主仓库")
            van = catalogue.create_warehouse(ctx, "VAN-1", "车载库", "van", engineers[0].id)
            token = issue_token(ctx, keeper)
        wh_ids = [main_wh.id, van.id]
        now = utcnow()
        parts = db.metadata.tables["stock_part"]
        insert_rows(parts, ({
            "part_code": f"P-{i:06d}", "part_name": f"配件{i:06d}",
            "category": CATEGORIES[i % len(CATEGORIES)], "specification": f"规格{i % 97}",
            "applicable_models": "KFR-35GW", "unit": "个", "unit_price": 10 + i % 500,
            "average_cost": 8 + i % 400, "min_stock_alert": i % 20, "reorder_quantity": 10,
            "active": True, "created_at": now, "updated_at": now,
        } for i in range(n_parts)), n_parts, "parts")
        first = db.session.scalar(text("SELECT min(id) FROM stock_part"))
        rnd = random.Random(17)
        balance: dict[tuple[int, int], int] = {}
        usage: list[dict] = []
        moves = db.metadata.tables["stock_move"]

        def move_rows() -> Any:
            for i in range(n_moves):
                key = (first + rnd.randrange(n_parts), wh_ids[i % 2])
                have = balance.get(key, 0)
                qty = -3 if have >= 3 and rnd.random() < 0.45 else 5
                balance[key] = have + qty
                when = now - timedelta(minutes=n_moves - i)
                if qty < 0:
                    engineer = engineers[i % 10]
                    usage.append({"ticket_id": 1 + i % 50_000, "part_id": key[0],
                                  "part_code": f"P-{key[0] - first:06d}", "quantity": 3,
                                  "unit_cost": 8,
                                  "engineer_id": engineer.id, "engineer_name": engineer.name,
                                  "usage_date": when.date(), "purpose": "repair",
                                  "created_at": when})
                yield {"part_id": key[0], "warehouse_id": key[1], "quantity": qty,
                       "kind": "issue" if qty < 0 else "receipt", "unit_cost": 8,
                       "created_at": when}

        insert_rows(moves, move_rows(), n_moves, "ledger rows")
        hot_part = first
        balance[(hot_part, wh_ids[0])] = balance.get((hot_part, wh_ids[0]), 0) + 10**6
        on_hand = db.metadata.tables["stock_on_hand"]
        insert_rows(on_hand, ({"part_id": p, "warehouse_id": w, "on_hand": q}
                              for (p, w), q in balance.items()), len(balance), "on-hand rows")
        insert_rows(db.metadata.tables["stock_parts_usage"], iter(usage), len(usage),
                    "usage rows")
        db.session.execute(text(
            "UPDATE stock_part SET on_hand_total = (SELECT coalesce(sum(h.on_hand), 0) FROM "
            "stock_on_hand h WHERE h.part_id = stock_part.id)"))
        db.session.commit()
        settle()
        db.session.remove()
    return token, {"part_id": hot_part, "warehouse_id": wh_ids[0]}


BADGE = ("SELECT count(*) FROM core_inbox_message WHERE read_at IS NULL AND user_id = "
         "(SELECT id FROM core_user WHERE username = 'keeper')")
PART_COLUMNS = ("p.id, p.part_code, p.part_name, p.category, p.specification, p.unit, "
                "p.min_stock_alert, p.unit_price, p.on_hand_total")
LOW = "p.min_stock_alert > 0 AND p.on_hand_total < p.min_stock_alert"


def cases(client: Any, token: str) -> list[Case]:
    client.post("/login", data={"username": "keeper", "password": "bench-password-1"})
    headers = {"Authorization": f"Bearer {token}"}
    return [
        Case("parts list, sort part_code, page 1",
             lambda: client.get("/stock/parts"),
             [f"SELECT {PART_COLUMNS}, (SELECT count(*) FROM (SELECT 1 FROM stock_part "
              "WHERE active LIMIT 10001) t) AS total FROM stock_part p WHERE p.active "
              "ORDER BY p.part_code, p.id LIMIT 50", BADGE]),
        Case("parts list, low_stock=1",
             lambda: client.get("/stock/parts?low_stock=1"),
             [f"SELECT {PART_COLUMNS}, (SELECT count(*) FROM (SELECT 1 FROM stock_part p "
              f"WHERE p.active AND {LOW} LIMIT 10001) t) AS total FROM stock_part p WHERE "
              f"p.active AND {LOW} ORDER BY p.part_code, p.id LIMIT 50", BADGE]),
        Case("GET /api/v1/parts?category=filter",
             lambda: client.get("/api/v1/parts?category=filter", headers=headers),
             ["SELECT p.*, (SELECT count(*) FROM (SELECT 1 FROM stock_part WHERE category = "
              "'filter' LIMIT 10001) t) AS total FROM stock_part p WHERE p.category = 'filter' "
              "ORDER BY p.part_code, p.id LIMIT 50"]),
        Case("usage statistics by engineer, last 30 days",
             lambda: client.get("/stock/usage?group=engineer&date_from="
                                + (utcnow() - timedelta(days=30)).date().isoformat()),
             ["SELECT coalesce(u.engineer_name, '-') AS k, sum(u.quantity), "
              "sum(u.quantity * coalesce(u.unit_cost, 0)), count(DISTINCT u.ticket_id) FROM "
              "stock_parts_usage u WHERE u.usage_date >= current_date - 30 GROUP BY k "
              "ORDER BY 2 DESC LIMIT 200", BADGE]),
    ]


def _workers(app: Any, work: Any, per_worker: int) -> float:
    """Operations per second of ``WORKERS`` threads each running ``work()`` ``per_worker``
    times, each in its own app context and session."""
    barrier = threading.Barrier(WORKERS + 1)

    def run() -> None:
        with app.app_context():
            barrier.wait()
            for _ in range(per_worker):
                work()
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return WORKERS * per_worker / (time.perf_counter() - start)


def throughput(app: Any, hot: dict[str, int], per_worker: int) -> str:
    from modules.stock.services import ledger

    def checkout() -> None:
        ctx = ServiceContext.system("api")
        with unit_of_work(ctx):
            ledger.checkout(ctx, hot["part_id"], hot["warehouse_id"], 1, ticket_id=1)

    bare = text("UPDATE stock_on_hand SET on_hand = on_hand - 1 WHERE part_id = :p AND "
                "warehouse_id = :w AND on_hand >= 1")

    def update() -> None:
        db.session.execute(bare, {"p": hot["part_id"], "w": hot["warehouse_id"]})
        db.session.commit()

    service = _workers(app, checkout, per_worker)
    plain = _workers(app, update, per_worker)
    return (f"Checkout of one hot part, {WORKERS} concurrent workers × {per_worker}: "
            f"service {service:,.0f}/s (on-hand UPDATE + ledger row + parts usage, one "
            f"transaction each) · bare conditional UPDATE {plain:,.0f}/s "
            f"({plain / service:.1f}× the service)\n")
