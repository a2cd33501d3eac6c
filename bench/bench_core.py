"""Core: the audit-log admin list and the users API list on a large table."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bench.common import admin_token
from bench.common import installed_app
from bench.common import served_client
from bench.harness import Case
from bench.harness import insert_rows
from bench.harness import measure
from bench.harness import report
from bench.harness import settle
from core.db import utcnow
from core.extensions import db


def main(url: str, *, scale: float, repeat: int, instance: str) -> str:
    app = installed_app(url, instance, [])
    token = admin_token(app)
    n_users, n_audit = int(20_000 * scale), int(200_000 * scale)
    with app.app_context():
        users = db.metadata.tables["core_user"]
        now = utcnow()
        insert_rows(
            users,
            (
                {
                    "username": f"user{i:07d}",
                    "display_name": f"用户{i}",
                    "active": i % 10 != 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n_users)
            ),
            n_users,
            "users",
        )
        audit = db.metadata.tables["core_audit_log"]
        rnd = random.Random(1)
        insert_rows(
            audit,
            (
                {
                    "at": now - timedelta(minutes=i),
                    "actor_id": None,
                    "source": rnd.choice(["web", "api", "bot", "job"]),
                    "model": "core_user",
                    "record_id": str(rnd.randint(1, n_users)),
                    "action": "update",
                    "changes": {"display_name": ["a", "b"]},
                }
                for i in range(n_audit)
            ),
            n_audit,
            "audit rows",
        )
        settle()
    client = served_client(app)
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/login", data={"username": "bench-admin", "password": "bench-password-1"})
    admin_id = _user_id(app, "bench-admin")
    page = "SELECT * FROM core_audit_log WHERE source = 'api' ORDER BY at DESC, id DESC LIMIT 50"
    users = "SELECT * FROM core_user ORDER BY username, id LIMIT 51"
    # The hand-written SQL carries what the answer shows: the page with the capped count (in
    # one statement, as the pages read them), the users' roles (the API) or the actors'
    # names and the header's unread badge (the page).
    users_counted = users.replace(
        "SELECT *", "SELECT *, (SELECT count(*) FROM (SELECT 1 FROM core_user LIMIT 10001) t)")
    page_counted = page.replace(
        "SELECT *", "SELECT *, (SELECT count(*) FROM (SELECT 1 FROM core_audit_log WHERE "
        "source = 'api' LIMIT 10001) t)")
    cases = [
        Case(
            "GET /api/v1/users?sort=username (page 1)",
            lambda: client.get("/api/v1/users?sort=username", headers=headers),
            [users_counted,
             "SELECT ur.user_id, r.* FROM core_user_role ur JOIN core_role r ON "
             f"r.code = ur.role_code WHERE ur.user_id IN (SELECT id FROM ({users}) p)"],
        ),
        Case(
            "GET /admin/audit?source=api (list page)",
            lambda: client.get("/admin/audit?source=api"),
            [page_counted,
             f"SELECT * FROM core_user WHERE id IN (SELECT actor_id FROM ({page}) p)",
             "SELECT count(*) FROM core_inbox_message WHERE read_at IS NULL AND user_id = "
             f"{admin_id}"],
        ),
    ]
    results = [measure(c, repeat=repeat, app=app) for c in cases]
    return report(results, f"core ({n_users:,} users, {n_audit:,} audit rows, PostgreSQL)")


def _user_id(app: Any, username: str) -> int:
    from core.security.models import User

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))
