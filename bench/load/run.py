"""A bounded load test of two Tandem nodes sharing PostgreSQL and Redis (issue 20 #4).

    .venv/bin/python bench/load/run.py --scale 1 --users 20 --duration 60

Creates a throw-away PostgreSQL database with the crm benchmark's data (``bench_crm.populate``:
100,000 customers and 300,000 opportunities at scale 1), starts a private redis-server and two
gunicorn nodes on two loopback ports (``--workers`` processes each, the same SECRET_KEY, the
served entry point wrapped by ``bench/load/wsgi.py`` to report each request's database time
in headers), runs locust headless against both (``bench/load/locustfile.py``: list pages,
detail pages, API calls, encrypted WeCom robot callbacks), and prints a Markdown report:
throughput and p95 per route, errors, requests per app process, and the database's share of
each route's time. Everything it started is stopped and the database dropped at the end."""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.run import _create_database  # noqa: E402
from bench.run import _drop_database  # noqa: E402

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if requests.get(url, timeout=5).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer")


def populate(url: str, instance: str, scale: float, bot: dict[str, str]) -> dict[str, str]:
    from sqlalchemy import func
    from sqlalchemy import select

    from bench.bench_crm import populate as crm_data
    from bench.common import admin_token
    from bench.common import installed_app
    from core.extensions import db

    app = installed_app(url, instance, ["crm", "wecom"], **bot)
    crm_data(app, int(100_000 * scale), int(300_000 * scale))
    token = admin_token(app, "root")  # the whole data: no detail answers 404
    with app.app_context():
        ranges = {}
        for name in ("crm_customer", "crm_opportunity"):
            table = db.metadata.tables[name]
            low, high = db.session.execute(select(func.min(table.c.id),
                                                  func.max(table.c.id))).one()
            ranges[name] = f"{low}:{high}"
        db.session.remove()
        db.engine.dispose()
    return {"LOAD_TOKEN": token, "LOAD_CUSTOMERS": ranges["crm_customer"],
            "LOAD_OPPORTUNITIES": ranges["crm_opportunity"]}


def report(prefix: Path, figures: dict, args: argparse.Namespace, elapsed: float) -> str:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    routes = figures.get("routes", {})
    lines = [
        f"### Load: 2 nodes × {args.workers} gunicorn workers, {args.users} users, "
        f"{args.duration} s, scale {args.scale:g}",
        "",
        "| route | requests | errors | req/s | median ms | p95 ms | DB ms / request "
        "| DB share | queries / request |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        name = row["Name"]
        count = int(row["Request Count"])
        if not count:
            continue
        served = routes.get(name, [0, 0.0, 0.0, 0])
        n = served[0] or 1
        db_ms, app_ms, queries = served[1] / n, served[2] / n, served[3] / n
        share = f"{db_ms / app_ms:.0%}" if app_ms else "—"
        label = "**all**" if name == "Aggregated" else name
        lines.append(
            f"| {label} | {count:,} | {int(row['Failure Count']):,} | "
            f"{float(row['Requests/s']):.1f} | {row['50%']} | {row['95%']} | "
            + (f"{db_ms:.1f} | {share} | {queries:.1f} |" if name != "Aggregated" else "| | |"))
    processes = figures.get("processes", {})
    lines += ["", "Requests served per app process (node:pid): " + ", ".join(
        f"{pid} {count:,} ({count / args.duration:.1f}/s)"
        for pid, count in sorted(processes.items()))]
    total_app = sum(r[2] for r in routes.values())
    total_db = sum(r[1] for r in routes.values())
    if total_app:
        lines.append(f"Database share of all requests' server time: {total_db / total_app:.0%} "
                     f"({total_db / 1000:.1f} s of {total_app / 1000:.1f} s).")
    lines.append(f"Wall time of the locust run: {elapsed:.0f} s.")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="crm data size multiplier")
    parser.add_argument("--users", type=int, default=20, help="concurrent locust users")
    parser.add_argument("--spawn-rate", type=float, default=5.0)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per node")
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        parser.error("redis-server is needed")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    aes = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    bot = {"WECOM_BOT_TOKEN": secrets.token_hex(8), "WECOM_BOT_AES_KEY": aes,
           "WECOM_CORP_ID": "ww_load", "WECOM_API_BASE": "http://127.0.0.1:9"}
    dbname, url = _create_database()
    processes: list[subprocess.Popen] = []
    instance = tempfile.mkdtemp(prefix="tandem-load-")
    try:
        print(f"database {dbname}: generating the data …", flush=True)
        load_env = populate(url, instance, args.scale, bot)
        redis_port = free_port()
        processes.append(subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL))
        env = dict(os.environ, DATABASE_URL=url, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
                   SECRET_KEY=secrets.token_hex(16), TANDEM_INSTANCE_PATH=instance,
                   TANDEM_LOGIN_RATE_LIMIT="100000 per minute",
                   TANDEM_LOGIN_ACCOUNT_RATE_LIMIT="100000 per minute", **bot)
        nodes = []
        for name in ("node1", "node2"):
            port = free_port()
            processes.append(subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
                 "--timeout", "60", "bench.load.wsgi:application()"],
                cwd=ROOT, env={**env, "LOAD_NODE": name}, stdout=subprocess.DEVNULL,
                stderr=open(Path(instance) / f"{name}.log", "w")))  # noqa: SIM115
            nodes.append(f"http://127.0.0.1:{port}")
        for node in nodes:
            wait_for(f"{node}/login")
        prefix = out / "load"
        figures = out / "load_figures.json"
        locust_env = dict(os.environ, LOAD_NODES=",".join(nodes),
                          LOAD_USERS="root:bench-password-1",
                          LOAD_BOT_TOKEN=bot["WECOM_BOT_TOKEN"],
                          LOAD_BOT_AES_KEY=bot["WECOM_BOT_AES_KEY"], LOAD_FIGURES=str(figures),
                          PYTHONPATH=str(ROOT), **load_env)
        print(f"nodes {', '.join(nodes)}: {args.users} users for {args.duration} s …", flush=True)
        started = time.monotonic()
        subprocess.run(
            [str(VENV_BIN / "locust"), "-f", str(ROOT / "bench" / "load" / "locustfile.py"),
             "--headless", "-u", str(args.users), "-r", str(args.spawn_rate),
             "-t", f"{args.duration}s", "--csv", str(prefix), "--only-summary",
             "--stop-timeout", "10"], cwd=ROOT, env=locust_env, check=False, timeout=
            args.duration + 120)
        elapsed = time.monotonic() - started
        text = report(prefix, json.loads(figures.read_text()), args, elapsed)
        print(text, flush=True)
        (out / "load.md").write_text(text + "\n", encoding="utf-8")
        return 0
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        _drop_database(dbname)
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
