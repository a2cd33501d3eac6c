"""An import queued from the web page runs on a real RQ worker (issue 19 #3: the import runs
as a job, RQ when REDIS_URL is set)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core import imports
from core.audit import AuditLog
from core.extensions import db
from core.security.models import User
from core.services import ServiceContext
from core.services import unit_of_work
from tests.conftest import FIXTURE_ADDONS
from tests.conftest import base_config

ROOT = Path(__file__).parents[3]


@pytest.mark.redis
def test_an_import_runs_on_an_rq_worker(app, app_ctx, make_user, redis_server):
    from core.app import create_app
    from modules.crm.models.customer import Customer

    seller = make_user("sales")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    rq_app = create_app(base_config(url, app.instance_path, REDIS_URL=redis_server.url,
                                    TANDEM_JOBS_EAGER=False))
    data = "客户名称,联系电话\nRQ 客户,13800000041\n坏电话,123\n".encode()
    with rq_app.app_context():
        ctx = ServiceContext(actor=db.session.get(User, seller.id), source="web")
        with unit_of_work(ctx):
            log_id = imports.start(ctx, "crm.customers", "c.csv", data, dry_run=False).id
        assert db.session.get(imports.ImportLog, log_id).status == "pending"  # queued
        db.session.remove()
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_server.url,
               TANDEM_MODULE_PATHS=f'["{FIXTURE_ADDONS}"]', SECRET_KEY="test")
    done = subprocess.run([sys.executable, "manage.py", "worker", "--burst"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    db.session.expire_all()
    log = db.session.get(imports.ImportLog, log_id)
    assert (log.status, log.created_rows, log.error_rows) == ("done", 1, 1)
    assert log.error_report and (imports.folder() / log.error_report).exists()
    customer = db.session.scalar(select(Customer))
    assert (customer.customer_name, customer.owner_id) == ("RQ 客户", seller.id)
    audit = db.session.scalar(select(AuditLog).where(AuditLog.model == "crm_customer"))
    assert (audit.source, audit.actor_id) == ("job", seller.id)
