"""docs/deploy.md's backup and restore, tested: a database with demo data is dumped with its
``pg_dump -Fc`` line, restored into a fresh database with its ``createdb`` and
``pg_restore`` lines, and the app serves the copy (ready, a login, a list page)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.app import create_app
from core.demo import load_all
from core.extensions import db
from tests.conftest import PG_ADMIN_URL
from tests.conftest import backend
from tests.conftest import base_config
from tests.conftest import installed_app
from tests.core.ops.deploy_doc import ROOT
from tests.core.ops.deploy_doc import doc_commands

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.timeout(120),
    pytest.mark.skipif(backend() != "postgresql",
                       reason="pg_dump and pg_restore: in the PostgreSQL suite"),
]


def _run(command: str, env: dict[str, str]) -> None:
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, (command, done.stderr[-2000:])


def test_a_dump_restored_into_a_fresh_database_is_served(databases, instance_dir, tmp_path):
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore are not installed")
    with installed_app(databases, instance_dir, ["crm"]) as original:
        with original.app_context():
            load_all()
            names = set(db.session.scalars(text("SELECT customer_name FROM crm_customer")))
            db.session.remove()
        source_url = make_url(original.config["SQLALCHEMY_DATABASE_URI"])
    assert names

    admin = make_url(PG_ADMIN_URL)
    env = dict(os.environ, PGHOST=admin.host or "127.0.0.1", PGPORT=str(admin.port or 5432),
               PGUSER=admin.username or "postgres",
               DATABASE_URL=source_url.set(drivername="postgresql").render_as_string(
                   hide_password=False))
    backups = tmp_path / "backup"
    backups.mkdir()
    for command in doc_commands("backup"):
        _run(command.replace("/backup", str(backups)), env)
    dump = next(backups.glob("tandem-*.dump"))

    restored = f"tandem_test_{uuid.uuid4().hex[:12]}"
    databases.pg_databases.append(restored)  # dropped with the session's databases
    for command in doc_commands("restore"):
        command = re.sub(r"/backup/\S+\.dump", str(dump), command)
        _run(command.replace("tandem_restored", restored), env)

    app = create_app(base_config(str(source_url.set(database=restored).render_as_string(
        hide_password=False)), Path(instance_dir), WTF_CSRF_ENABLED=True))
    try:
        client = app.test_client()
        assert client.get("/readyz").json == {"status": "ready"}
        login = client.get("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.get_data(as_text=True))
        response = client.post("/login", data={"username": "admin", "password": "tandem-demo",
                                               "csrf_token": token.group(1)})
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        page = client.get("/crm/customers/")
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert sum(name in body for name in names) >= 5  # the restored customers are listed
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
