"""Two confirmations of one dry run at once (two tabs, a double click) on PostgreSQL: the
second waits on the dry run's row lock until the first commits, then is refused — one
import, not two."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select

from core import imports
from core.errors import UserError
from core.extensions import db
from core.imports.models import ImportLog
from core.security.models import User
from core.services import ServiceContext
from core.services import unit_of_work
from modules.crm.models.customer import Customer
from tests.conftest import backend
from tests.conftest import login
from tests.core.imports.conftest import upload
from tests.core.imports.conftest import xlsx

pytestmark = [pytest.mark.skipif(backend() != "postgresql",
                                 reason="row locks under concurrency: PostgreSQL"),
              pytest.mark.timeout(60)]


def test_two_confirmations_of_one_dry_run_import_once(client, people, app):
    login(client, people["a"])
    rows = [["客户名称*", "客户类型", "联系电话", "客户分级"],
            ["并发客户", "个人", "13800000011", "重要"]]
    dry = upload(client, "crm.customers", xlsx(rows), "客户.xlsx")
    assert (dry.status, dry.created_rows) == ("done", 1)
    dry_id, user_id = dry.id, people["a"].id
    db.session.commit()

    first_flushed = threading.Event()
    release_first = threading.Event()
    outcome: dict[str, Any] = {}

    def confirm(name: str, hold: bool) -> None:
        try:
            with app.app_context():
                ctx = ServiceContext(actor=db.session.get(User, user_id), source="web")
                try:
                    with unit_of_work(ctx):
                        imports.confirm(ctx, dry_id)
                        if hold:  # the first holds its transaction open
                            first_flushed.set()
                            release_first.wait(20)
                    outcome[name] = "imported"
                except UserError as exc:
                    outcome[name] = exc.message
                finally:
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            outcome[name] = exc

    one = threading.Thread(target=confirm, args=("first", True))
    one.start()
    assert first_flushed.wait(20)
    two = threading.Thread(target=confirm, args=("second", False))
    two.start()
    two.join(1.0)
    assert two.is_alive()  # waiting on the dry run's lock
    release_first.set()
    one.join(30)
    two.join(30)
    assert outcome == {"first": "imported", "second": "这次试导入已确认过"}
    db.session.expire_all()
    runs = db.session.scalar(select(func.count()).select_from(ImportLog)
                             .where(ImportLog.dry_run_of_id == dry_id))
    assert runs == 1
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 1
