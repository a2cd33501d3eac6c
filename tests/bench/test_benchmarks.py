"""The benchmark harness, and every ``bench/bench_*.py`` run end to end at a tiny scale on the
backend under test, so that the benchmarks keep working as the pages they time change."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from bench.harness import Case
from bench.harness import Result
from bench.harness import measure
from bench.harness import p95
from bench.harness import report

BENCH = Path(__file__).parents[2] / "bench"
NAMES = sorted(p.stem.removeprefix("bench_") for p in BENCH.glob("bench_*.py"))


def test_p95_ratio_and_the_report_table():
    assert p95([float(i) for i in range(100, 0, -1)]) == 95.0
    assert p95([7.0]) == 7.0
    result = Result("GET /x", 10.0, 12.0, 2.0, 3.0)
    assert result.ratio == 5.0
    assert Result("no sql", 1.0, 1.0, None, None).ratio is None
    table = report([result, Result("no sql", 1.0, 1.5, None, None)], "title")
    assert "| GET /x | 10.00 | 12.00 | 2.00 | 3.00 | 5.00× |" in table
    assert "| no sql | 1.00 | 1.50 | — | — | — |" in table


def test_a_redirect_or_an_error_is_not_timed():
    class Response:
        status_code = 302

    with pytest.raises(RuntimeError, match="HTTP 302"):
        measure(Case("a page that sends to /login", lambda: Response()), repeat=1, warmup=0)


def test_bulk_insert_applies_client_side_defaults(app_ctx: Any):
    from bench.harness import insert_rows
    from core.extensions import db

    audit = db.metadata.tables["core_audit_log"]
    rows = (
        {"source": "job", "model": "m", "record_id": str(i), "action": "update"} for i in range(7)
    )
    insert_rows(audit, rows, 7, "audit", batch=3)
    stored = db.session.execute(db.select(audit.c.at, audit.c.changes)).all()
    assert len(stored) == 7
    assert all(at is not None and changes == {} for at, changes in stored)


@pytest.mark.parametrize("name", NAMES)
def test_benchmark_runs_at_a_tiny_scale(name: str, databases: Any, tmp_path: Path):
    module = importlib.import_module(f"bench.bench_{name}")
    url = databases.new_url()
    try:
        table = module.main(url, scale=0.001, repeat=2, instance=str(tmp_path))
    finally:
        databases.release(url)
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert rows, table
    for line in rows:
        median = line.split("|")[2].strip()
        assert float(median) > 0, line


def test_the_server_side_and_the_sql_alternate_sample_by_sample(app: Any):
    """Each server sample is followed by its SQL sample, so that a slow spell of the machine
    weighs on both sides of the ratio."""
    from sqlalchemy import event

    from core.extensions import db

    order: list[str] = []
    with app.app_context():
        engine = db.engine

    def note_sql(*_args: Any) -> None:
        order.append("sql")

    event.listen(engine, "before_cursor_execute", note_sql)
    try:
        result = measure(Case("stub", lambda: order.append("server"), "SELECT 1"),
                         repeat=3, warmup=1, app=app)
    finally:
        event.remove(engine, "before_cursor_execute", note_sql)
    assert order == ["server"] + ["server", "sql"] * 4  # the check run, then 1 + 3 pairs
    assert result.sql_median_ms is not None and result.ratio is not None


def test_a_case_within_a_set_up_times_only_what_runs_inside_it(app: Any):
    """A figure runs inside a request already open (its user loaded): the set-up around
    each server sample is not timed, and the SQL side then times its statements alone, on
    a connection whose transaction is open (its BEGIN not timed either)."""
    import time
    from contextlib import contextmanager

    from sqlalchemy import event

    from core.extensions import db

    inside: list[bool] = []
    state = {"open": False}

    @contextmanager
    def within():
        time.sleep(0.05)  # a slow set-up, outside the clock
        state["open"] = True
        try:
            yield
        finally:
            state["open"] = False

    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def note_sql(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note_sql)
    try:
        result = measure(Case("figure", lambda: inside.append(state["open"]), "SELECT 2",
                              within=within), repeat=3, warmup=0, app=app)
    finally:
        event.remove(engine, "before_cursor_execute", note_sql)
    assert inside == [True] * 4  # the check run, then three samples: each inside
    assert result.median_ms < 50
    # Each SQL sample: the transaction begun by an untimed statement, then the timed one.
    assert statements == ["SELECT 1", "SELECT 2"] * 3


def test_the_signed_robot_request_is_what_wecom_posts():
    """The one robot-callback builder of the benchmarks and the load test: its signature
    and encryption are checked by the callback's own crypto."""
    import json

    from bench.common import signed_robot_request
    from modules.wecom.crypto import WeComCrypto

    crypto = WeComCrypto("bottoken456", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "")
    query, body = signed_robot_request(crypto, crypto.token, "load.user", "@Tandem 帮助",
                                       "m-1", chatid="chat-sales")
    plain = json.loads(crypto.decrypt_json(body.encode(), query["msg_signature"],
                                           query["timestamp"], query["nonce"]))
    assert (plain["msgid"], plain["chatid"], plain["from"]["userid"],
            plain["text"]["content"]) == ("m-1", "chat-sales", "load.user", "@Tandem 帮助")


def test_the_load_test_builds_robot_callbacks_with_the_shared_builder():
    """locust cannot share Flask's test client, so it shares the builder: no second copy of
    the signing and encryption in ``bench/load/locustfile.py``."""
    import ast

    tree = ast.parse((BENCH / "load" / "locustfile.py").read_text(encoding="utf-8"))
    imported = {(node.module, alias.name) for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    called = {node.func.attr if isinstance(node.func, ast.Attribute) else
              getattr(node.func, "id", "") for node in ast.walk(tree)
              if isinstance(node, ast.Call)}
    assert ("bench.common", "signed_robot_request") in imported
    assert not {"signature", "encrypt"} & called
