"""Helpers of the import tests: spreadsheets in memory, uploads through the web page."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from openpyxl import Workbook
from openpyxl import load_workbook

from core.extensions import db
from core.imports.models import ImportLog
from tests.modules.crm.factories import make_people


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(client: Any, kind: str, data: bytes, name: str = "data.xlsx") -> ImportLog:
    """Upload for a dry run (jobs run in-process in tests) and return its log."""
    response = client.post("/imports/", data={"kind": kind, "file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    log_id = int(re.search(r"/imports/(\d+)", response.headers["Location"]).group(1))
    db.session.expire_all()
    return db.session.get(ImportLog, log_id)


def confirm(client: Any, log: ImportLog) -> ImportLog:
    response = client.post(f"/imports/{log.id}")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    log_id = int(re.search(r"/imports/(\d+)", response.headers["Location"]).group(1))
    db.session.expire_all()
    return db.session.get(ImportLog, log_id)


def report(client: Any, log: ImportLog) -> list[tuple]:
    response = client.get(f"/imports/{log.id}?download=errors")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    return list(sheet.iter_rows(values_only=True))


@pytest.fixture
def people(app_ctx: Any, make_user: Any) -> dict[str, Any]:
    return make_people(make_user)
