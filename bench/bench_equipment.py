"""equipment at scale: 200,000 units of 20,000 customers on PostgreSQL.

The equipment list (as an engineer: no record rule; as a manager: his team's customers),
the equipment API list filtered by due date, the equipment 360° view of a unit with 2 and
with 200 maintenance records (the same statements either way), and the daily preventive
scan — each next to the equivalent hand-written SQL in the same run. The scan is timed on
a steady day (yesterday's reminders exist: about 1/365 of the units come due) and rolled
back after each sample, as is its hand-written ``INSERT … SELECT``; a rerun after a commit
creates nothing (checked)."""

from __future__ import annotations

import random
from datetime import date
from datetime import timedelta
from typing import Any

from sqlalchemy import select
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
from core.security.models import Team
from core.services import ServiceContext
from core.services import unit_of_work

TYPES = ("中央空调", "精密空调", "冷水机组", "新风系统", "多联机")
BRANDS = ("格力", "美的", "大金", "约克", "松下")


def main(url: str, *, scale: float, repeat: int, instance: str) -> str:
    n_units = max(int(200_000 * scale), 50)
    n_customers = max(n_units // 10, 10)
    app = installed_app(url, instance, ["equipment"])
    info = populate(app, n_customers, n_units)
    client = served_client(app)
    timed = cases(app, client, info)
    for case in timed[:-1]:  # every page must answer 200 first
        assert case.run().status_code == 200, case.name
    results = [measure(c, repeat=repeat if not c.name.startswith("preventive") else
                       max(2, min(repeat, 20)), app=app) for c in timed]
    rerun_check(app, info)
    return report(results, f"equipment ({n_units:,} units, {n_customers:,} customers, "
                           "PostgreSQL)")


def populate(app: Any, n_customers: int, n_units: int) -> dict[str, Any]:
    from core.security.services import create_user
    from core.security.services import issue_token

    with app.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            team = Team(name="一组")
            db.session.add(team)
            db.session.flush()
            manager = create_user(ctx, "boss", roles=["manager"], password="bench-password-1",
                                  team=team)
            team.manager_id = manager.id
            engineer = create_user(ctx, "eng", roles=["engineer"], password="bench-password-1")
            sales = [create_user(ctx, f"s{i}", roles=["sales"], team=team if i < 5 else None)
                     for i in range(50)]
            token = issue_token(ctx, engineer)
        owner_ids = [u.id for u in sales]
        team_ids = [u.id for u in sales[:5]] + [manager.id]
        engineer_id = engineer.id
        rnd = random.Random(16)
        now = utcnow()
        today = now.date()
        customers = db.metadata.tables["crm_customer"]
        insert_rows(customers, ({
            "customer_type": "enterprise", "customer_name": f"客户{i:06d}有限公司",
            "phone": f"139{i:08d}", "customer_level": "normal", "status": "active",
            "owner_id": rnd.choice(owner_ids), "locked": False,
            "created_at": now, "updated_at": now,
        } for i in range(n_customers)), n_customers, "customers")
        first = db.session.scalar(select(customers.c.id).order_by(customers.c.id).limit(1))
        units = db.metadata.tables["equipment_equipment"]

        def unit(i: int) -> dict[str, Any]:
            installed = today - timedelta(days=i % 1200)  # ~2.6% expiring, ~9% out
            return {
                "equipment_no": f"EQ2026{i:07d}", "customer_id": first + (i % n_customers),
                "equipment_type": TYPES[i % 5], "brand": BRANDS[(i // 5) % 5],
                "model": f"M-{i % 40}", "serial_number": f"SN{i:09d}",
                "install_date": installed, "install_location": f"{1 + i % 20}楼",
                "warranty_months": 36, "warranty_end_date": installed + timedelta(days=1095),
                "status": "in_use", "maintenance_cycle_days": 90,
                "maintenance_cycle_months": 0,
                "next_maintenance_date": today + timedelta(days=(i * 7919) % 365 - 30),
                "engineer_id": engineer_id, "created_at": now, "updated_at": now}

        insert_rows(units, (unit(i) for i in range(n_units)), n_units, "equipment")
        first_unit = db.session.scalar(select(units.c.id).order_by(units.c.id).limit(1))
        records = db.metadata.tables["equipment_maintenance_record"]
        small, big = first_unit, first_unit + 1
        insert_rows(records, ({
            "equipment_id": small if i < 2 else big, "maintenance_type": "routine",
            "status": "done", "maintenance_date": today - timedelta(days=i),
            "engineer_id": engineer_id, "work_description": f"例行保养{i}", "created_at": now,
        } for i in range(202)), 202, "maintenance records")
        # Yesterday's scan: its reminders exist, so today's is a steady day.
        yesterday = today - timedelta(days=1)
        for kind, column, where in (
                ("due", "next_maintenance_date",
                 f"next_maintenance_date <= '{yesterday + timedelta(days=7)}'"),
                ("overdue", "next_maintenance_date", f"next_maintenance_date < '{yesterday}'"),
                ("warranty", "warranty_end_date",
                 f"warranty_end_date BETWEEN '{yesterday}' AND "
                 f"'{yesterday + timedelta(days=30)}'")):
            db.session.execute(text(
                "INSERT INTO equipment_maintenance_reminder (equipment_id, due_date, kind, "
                f"created_at) SELECT id, {column}, '{kind}', CURRENT_TIMESTAMP FROM "
                f"equipment_equipment WHERE status = 'in_use' AND {where}"))
        db.session.commit()
        settle()
    return {"token": token, "team": team_ids, "small": small, "big": big, "today": today}


def cases(app: Any, client: Any, info: dict[str, Any]) -> list[Case]:
    """Logged in as the engineer (no record rule on equipment) and, for the manager's list,
    as the manager (his team's customers, a sub-select)."""
    today: date = info["today"]
    soon = today + timedelta(days=30)
    team = ",".join(str(i) for i in info["team"])
    client.post("/login", data={"username": "eng", "password": "bench-password-1"})
    manager = served_client(app)
    manager.post("/login", data={"username": "boss", "password": "bench-password-1"})
    headers = {"Authorization": f"Bearer {info['token']}"}
    row = ("e.id, e.equipment_no, e.equipment_type, e.brand, e.model, e.serial_number, "
           "e.install_location, e.warranty_end_date, e.next_maintenance_date, e.status, "
           "c.customer_name")
    # The count needs no join: every unit has its customer (NOT NULL foreign key).
    count = ("(SELECT count(*) FROM (SELECT 1 FROM equipment_equipment e WHERE {where} "
             "LIMIT 10001) t) AS total")
    expiring = f"e.warranty_end_date BETWEEN '{today}' AND '{soon}'"
    rule = f"e.customer_id IN (SELECT id FROM crm_customer WHERE owner_id IN ({team}))"
    by_brand = f"{rule} AND e.brand = '大金'"
    return [
        Case("equipment list: warranty=expiring, page 1 (engineer)",
             lambda: client.get("/equipment/?warranty=expiring"),
             [f"SELECT {row}, {count.format(where=expiring)} FROM equipment_equipment e "
              f"JOIN crm_customer c ON c.id = e.customer_id WHERE {expiring} "
              "ORDER BY e.id DESC LIMIT 50", _badge("eng")]),
        Case("equipment list: brand=大金, page 1 (manager: team's customers)",
             lambda: manager.get("/equipment/?brand=大金"),
             [f"SELECT {row}, {count.format(where=by_brand)} FROM equipment_equipment e "
              f"JOIN crm_customer c ON c.id = e.customer_id WHERE {by_brand} "
              "ORDER BY e.id DESC LIMIT 50", _badge("boss")]),
        Case(f"GET /api/v1/equipment?due_before={today} (engineer)",
             lambda: client.get(f"/api/v1/equipment?due_before={today}", headers=headers),
             "SELECT e.*, (SELECT count(*) FROM (SELECT 1 FROM equipment_equipment WHERE "
             f"status = 'in_use' AND next_maintenance_date <= '{today}' LIMIT 10001) t) AS total "
             "FROM equipment_equipment e WHERE e.status = 'in_use' AND "
             f"e.next_maintenance_date <= '{today}' ORDER BY e.id DESC LIMIT 51"),
        Case("equipment 360°: 2 maintenance records",
             lambda: client.get(f"/equipment/{info['small']}"),
             _view_sql(info["small"])),
        Case("equipment 360°: 200 maintenance records",
             lambda: client.get(f"/equipment/{info['big']}"),
             _view_sql(info["big"])),
        Case("preventive scan, a steady day (rolled back)", lambda: _scan(app, today),
             _scan_sql(today)),
    ]


def _badge(username: str) -> str:
    """The header's unread badge, which every page shows (as in the crm benchmark)."""
    return ("SELECT count(*) FROM core_inbox_message WHERE read_at IS NULL AND user_id = "
            f"(SELECT id FROM core_user WHERE username = '{username}')")


def _view_sql(unit_id: int) -> list[str]:
    return [_badge("eng"),
            f"SELECT e.*, c.customer_name, u.display_name FROM equipment_equipment e JOIN "
            f"crm_customer c ON c.id = e.customer_id LEFT JOIN core_user u ON "
            f"u.id = e.engineer_id WHERE e.id = {unit_id}",
            f"SELECT r.*, u.display_name FROM equipment_maintenance_record r LEFT JOIN "
            f"core_user u ON u.id = r.engineer_id WHERE r.equipment_id = {unit_id} "
            "ORDER BY r.id DESC",
            "SELECT a.* FROM core_audit_log a WHERE a.model = 'equipment_equipment' AND "
            f"a.record_id = '{unit_id}' ORDER BY a.at DESC LIMIT 100",
            "SELECT c.*, u.display_name FROM core_comment c LEFT JOIN core_user u ON "
            "u.id = c.author_id WHERE c.model = 'equipment_equipment' AND "
            f"c.record_id = '{unit_id}' ORDER BY c.id DESC LIMIT 100"]


def _scan_sql(today: date) -> list[str]:
    return [f"INSERT INTO equipment_maintenance_reminder (equipment_id, due_date, kind, "
            f"created_at) SELECT e.id, e.{column}, '{kind}', CURRENT_TIMESTAMP "
            "FROM equipment_equipment e "
            f"WHERE {where} AND NOT EXISTS (SELECT 1 FROM equipment_maintenance_reminder r "
            f"WHERE r.equipment_id = e.id AND r.due_date = e.{column} AND r.kind = '{kind}') "
            "ON CONFLICT DO NOTHING RETURNING id"
            for kind, column, where in (
                ("due", "next_maintenance_date",
                 f"e.status = 'in_use' AND e.next_maintenance_date <= '{today + timedelta(7)}'"),
                ("overdue", "next_maintenance_date",
                 f"e.status = 'in_use' AND e.next_maintenance_date < '{today}'"),
                ("warranty", "warranty_end_date",
                 f"e.status != 'retired' AND e.warranty_end_date BETWEEN '{today}' AND "
                 f"'{today + timedelta(30)}'"))]


def _scan(app: Any, today: date) -> Any:
    from modules.equipment.services.maintenance import scan

    with app.app_context():
        try:
            return scan(ServiceContext.system("job"), today)
        finally:
            db.session.rollback()
            db.session.remove()


def rerun_check(app: Any, info: dict[str, Any]) -> None:
    """Commit one scan, then a second one must create nothing."""
    from modules.equipment.services.maintenance import scan

    with app.app_context():
        ctx = ServiceContext.system("job")
        with unit_of_work(ctx):
            first = scan(ctx, info["today"])
        with unit_of_work(ctx):
            again = scan(ctx, info["today"])
        assert again == {"due": 0, "overdue": 0, "warranty": 0}, (first, again)
        db.session.remove()
