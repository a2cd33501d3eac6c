"""Imports and exports at scale (issue 19): a batch repair-request file of 100,000 rows (1 %
bad) imported through the import framework (python-calamine, the service's bulk ticket
rules, PostgreSQL COPY, one audit row per ticket, the error report), next to the bare
baseline — calamine + COPY of the same rows into a table shaped like the tickets' (its
indexes too) with the serials looked up in one query; then a 1,000,000-row ticket list
exported as CSV and as XLSX through the list page, its memory watched (peak RSS growth over
the export, sampled every 20 ms, and the peak of Python's allocations with tracemalloc).

The import runs as a manager (his team's record rules on customers and equipment apply),
with dispatch set to automatic (20 engineers, by load)."""

from __future__ import annotations

import os
import random
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy import text

from bench.common import installed_app
from bench.common import served_client
from bench.harness import Result
from bench.harness import insert_rows
from bench.harness import report
from bench.harness import settle
from core.db import utcnow
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work

BAD_EVERY = 100  # 1 % of the rows are refused
CPU: dict[str, tuple[float, float]] = {}  # what → (this process's, PostgreSQL's) CPU seconds


def main(url: str, *, scale: float, repeat: int, instance: str) -> str:
    n_rows = max(int(100_000 * scale), 200)
    n_export = max(int(1_000_000 * scale), 1_000)
    n_customers = max(n_rows // 100, 5)
    app = installed_app(url, instance, ["service"])
    populate(app, n_customers, n_rows)
    path = write_file(Path(instance), n_rows)
    dry_ms, import_ms, log = run_import(app, path)
    base_ms, copied = baseline(app, path)
    expected_bad = len(range(0, n_rows, BAD_EVERY))
    assert (log["created"], log["errors"]) == (n_rows - expected_bad, expected_bad), log
    assert copied == n_rows - expected_bad, copied
    results = [
        Result(f"dry run of {n_rows:,} repair requests ({expected_bad:,} bad), "
               "error report", dry_ms, dry_ms, base_ms, base_ms),
        Result(f"import of {n_rows:,} repair requests: {log['created']:,} tickets, "
               f"{log['errors']:,} refused, error report", import_ms, import_ms, base_ms,
               base_ms),
    ]
    grow(app, n_export)
    for fmt in ("csv", "xlsx"):
        ms, size, rss = export(app, fmt)
        results.append(Result(f"export {n_export:,} tickets as {fmt.upper()} ({size / 1e6:.0f} MB;"
                              f" peak RSS +{rss / 1e6:.1f} MB)", ms, ms, None, None))
    ms, traced = traced_export(app)
    results.append(Result(f"same CSV export under tracemalloc (peak traced {traced / 1e6:.1f} MB)",
                          ms, ms, None, None))
    cpu = "\n".join(f"- {what}: {client:.2f} s CPU in Python, {server:.2f} s in PostgreSQL"
                    for what, (client, server) in CPU.items())
    return report(results, f"imports and exports ({n_rows:,} repair-request rows, "
                           f"{n_export:,} exported tickets, "
                           f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'})") + \
        "\nCPU time (the machine's load left out):\n" + cpu + "\n"


def populate(app: Any, n_customers: int, n_units: int) -> None:
    """A manager with two salespeople of his team owning the customers; ``n_units`` units
    (serial ``SN<i>``) spread over them; 20 engineers on shift."""
    from core.security.models import Team
    from core.security.services import create_user
    from core.settings import set_setting
    from modules.service.services.dispatch import save_engineer

    with app.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            manager = create_user(ctx, "boss", roles=["manager"], password="bench-password-1")
            team = Team(name="华东", manager_id=manager.id)
            db.session.add(team)
            db.session.flush()
            sales = [create_user(ctx, f"s{i}", roles=["sales"], team=team) for i in range(2)]
            engineers = [create_user(ctx, f"eng{i}", roles=["engineer"]) for i in range(20)]
            for engineer in engineers:
                save_engineer(ctx, engineer.id, {})
            set_setting("service.dispatch_mode", "auto")
        now = utcnow()
        customers = db.metadata.tables["crm_customer"]
        insert_rows(customers, ({
            "customer_type": "enterprise", "customer_name": f"客户{i:06d}有限公司",
            "phone": f"139{i:08d}", "customer_level": "normal", "status": "active",
            "owner_id": sales[i % 2].id, "locked": False, "created_at": now, "updated_at": now,
        } for i in range(n_customers)), n_customers, "customers")
        first = db.session.scalar(select(customers.c.id).order_by(customers.c.id).limit(1))
        units = db.metadata.tables["equipment_equipment"]
        insert_rows(units, ({
            "equipment_no": f"EQ{i:09d}", "customer_id": first + i % n_customers,
            "equipment_type": "空调", "brand": "格力", "model": "KFR-72LW",
            "serial_number": f"SN{i:07d}", "install_location": f"{i % 50} 号机房",
            "warranty_months": 36, "status": "in_use", "maintenance_cycle_days": 90,
            "maintenance_cycle_months": 0, "created_at": now, "updated_at": now,
        } for i in range(n_units)), n_units, "equipment")
        db.session.commit()
        settle()
        db.session.remove()


def write_file(folder: Path, n_rows: int) -> Path:
    """The customer's file: a row per unit by serial; every 100th row names a serial that
    does not exist or leaves the subject empty."""
    from openpyxl import Workbook

    path = folder / "repairs.xlsx"
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("批量报修")
    sheet.append(["设备序列号", "客户名称", "安装位置", "服务类型", "问题主题*", "问题描述",
                  "投诉级别", "现场联系人", "联系电话"])
    rnd = random.Random(19)
    for i in range(n_rows):
        bad = i % BAD_EVERY == 0
        serial = f"SN{i:07d}" if not (bad and i % 200 == 0) else f"XX{i:07d}"
        subject = "" if bad and i % 200 else rnd.choice(("不制冷", "噪音大", "漏水", "不开机"))
        sheet.append([serial, None, None, "维修", subject, f"第 {i} 台", None, "王经理",
                      "13900139000"])
    workbook.save(path)
    return path


def run_import(app: Any, path: Path) -> tuple[float, float, dict[str, int]]:
    """The dry run, then the import, as the manager from the command line (wall time of
    each, file reading and error report included)."""
    from core import imports
    from core.security.services import get_user_by_username

    timings = []
    with app.app_context():
        user = get_user_by_username("boss")
        ctx = ServiceContext(actor=user, source="cli", locale="zh_CN")
        for dry in (True, False):
            with unit_of_work(ctx):
                log = imports.start(ctx, "service.repair_requests", path.name,
                                    path.read_bytes(), dry_run=dry, run=False)
            clock, start = CpuClock(), time.perf_counter()
            imports.execute(ctx, db.session.merge(log))
            timings.append((time.perf_counter() - start) * 1000)
            CPU["dry run" if dry else "import"] = clock.stop()
            log = db.session.get(imports.ImportLog, log.id)
            assert log.status == "done", log.message
            assert log.error_report and (imports.folder() / log.error_report).exists()
        counts = {"created": log.created_rows, "errors": log.error_rows}
        db.session.remove()
    return timings[0], timings[1], counts


def baseline(app: Any, path: Path) -> tuple[float, int]:
    """calamine + COPY of the same rows: read the file, look the serials up in one query,
    COPY the good rows into a copy of the tickets table (its indexes included)."""
    from python_calamine import CalamineWorkbook

    with app.app_context():
        connection = db.session.connection()
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("CREATE TABLE bench_ticket (LIKE service_ticket "
                                    "INCLUDING ALL)"))
        db.session.commit()
        clock, start = CpuClock(), time.perf_counter()
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[1:]
        units = {s: (i, c) for i, c, s in db.session.execute(text(
            "SELECT id, customer_id, serial_number FROM equipment_equipment"))}
        now = utcnow()
        good = []
        for n, row in enumerate(rows):
            unit = units.get(row[0])
            if unit is None or not row[4]:
                continue
            good.append((f"AS{n:017d}", "repair", row[4], row[5] or "", "high", "web",
                         unit[1], unit[0], "unknown", 0, 0, 0, "pending", "todo", 0, False, 0,
                         "none", "[]", False, "none", now, now))
        if postgres:
            cursor = db.session.connection().connection.driver_connection.cursor()
            with cursor.copy(
                    "COPY bench_ticket (ticket_no, ticket_type, subject, description, priority,"
                    " channel, customer_id, equipment_id, warranty_status, fee_visit, "
                    "fee_labour, fee_parts, status, stage, progress, needs_revisit, "
                    "escalations, sla_state, sla_pauses, sla_escalated, survey_state, "
                    "created_at, updated_at) FROM STDIN") as copy:
                for row in good:
                    copy.write_row(row)
            db.session.commit()
        elapsed = (time.perf_counter() - start) * 1000
        CPU["calamine + COPY"] = clock.stop()
        db.session.remove()
    return elapsed, len(good)


def grow(app: Any, total: int) -> None:
    """More tickets, up to ``total``, for the export (COPY, as the other benchmarks load)."""
    with app.app_context():
        tickets = db.metadata.tables["service_ticket"]
        have = db.session.scalar(text("SELECT count(*) FROM service_ticket"))
        first = db.session.scalar(text("SELECT min(id) FROM crm_customer"))
        n_customers = db.session.scalar(text("SELECT count(*) FROM crm_customer"))
        now = utcnow()
        more = max(total - have, 0)
        insert_rows(tickets, ({
            "ticket_no": f"BX{i:017d}", "ticket_type": "repair", "subject": f"=故障 {i}",
            "description": "", "priority": "high", "channel": "web",
            "customer_id": first + i % n_customers, "warranty_status": "unknown",
            "status": "closed", "stage": "closed", "progress": 100, "sla_state": "met",
            "created_at": now, "updated_at": now,
        } for i in range(more)), more, "tickets")
        db.session.commit()
        settle()
        db.session.remove()


def _pg_cpu() -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend of this database (from /proc: the
    server runs on this machine), so that a loaded machine's waits do not count."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in db.session.scalars(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            continue
    return out


class CpuClock:
    """CPU seconds of this process and of the database's backends between start and stop."""

    def __init__(self) -> None:
        self.postgres = db.engine.dialect.name == "postgresql"
        self.client0 = time.process_time()
        self.server0 = _pg_cpu() if self.postgres else {}

    def stop(self) -> tuple[float, float]:
        client = time.process_time() - self.client0
        if not self.postgres:
            return client, 0.0
        now = _pg_cpu()
        server = sum(now[p] - self.server0.get(p, 0.0) for p in now)
        return client, server


def _rss() -> int:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def export(app: Any, fmt: str) -> tuple[float, int, int]:
    """The manager's whole ticket list as ``fmt``, read chunk by chunk as a browser would:
    wall time, size, and how far the process's RSS rose above where it started."""
    client = served_client(app)
    client.post("/login", data={"username": "boss", "password": "bench-password-1"})
    before, peak, done = _rss(), [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    response = client.get(f"/service/tickets?export={fmt}")
    assert response.status_code == 200, response.status_code
    size = sum(len(chunk) for chunk in response.response)
    response.close()
    elapsed = (time.perf_counter() - start) * 1000
    done.set()
    watcher.join()
    return elapsed, size, max(peak[0] - before, 0)


def traced_export(app: Any) -> tuple[float, int]:
    """The CSV export again under tracemalloc: the peak of Python's own allocations."""
    client = served_client(app)
    client.post("/login", data={"username": "boss", "password": "bench-password-1"})
    tracemalloc.start()
    start = time.perf_counter()
    response = client.get("/service/tickets?export=csv")
    for _chunk in response.response:
        pass
    response.close()
    elapsed = (time.perf_counter() - start) * 1000
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak
