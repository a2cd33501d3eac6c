"""A service's refusal that reaches the edge of a page answers the app's error page with
the refusal's message and status (one mapping in core.web.errors, no per-page handlers)."""

from __future__ import annotations

import pytest
from flask import Flask

from core.errors import ConflictError
from core.errors import ValidationError
from core.web.errors import _refused
from tests.conftest import login
from tests.modules.crm.factories import make_customer
from tests.modules.crm.factories import make_opportunity


def _error_page(response, status):
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert 'id="error-page"' in page and f'data-status="{status}"' in page
    return page


def test_what_the_reader_may_not_see_is_a_404_page_saying_so(client, people):
    theirs = make_customer(people["c"])
    opp = make_opportunity(theirs, people["c"])
    login(client, people["a"])
    assert "客户不存在或无权查看" in _error_page(client.get(f"/crm/customers/{theirs.id}"), 404)
    assert "商机不存在或无权查看" in _error_page(
        client.get(f"/crm/opportunities/{opp.id}"), 404)
    # a button's POST on it: the same page, nothing flashed
    _error_page(client.post(f"/crm/opportunities/{opp.id}/status",
                            data={"status": "contacted"}), 404)
    _error_page(client.get("/crm/handovers/999999"), 404)


def test_a_refused_change_is_a_403_page_with_the_reason(client, people):
    pooled = make_customer(None)
    login(client, people["a"])
    page = _error_page(client.get(f"/crm/customers/{pooled.id}/edit"), 403)
    assert "公海客户需先领取或分配后才能修改" in page


@pytest.mark.parametrize(("error", "status"), [
    (ConflictError("已被他人领取"), 409),
    (ValidationError("请检查：名称", fields={"name": "必填"}), 422),
])
def test_conflicts_and_invalid_input_have_their_status(app_ctx, error, status):
    app: Flask = app_ctx
    with app.test_request_context("/crm/customers/"):
        body, code = _refused(error)
    assert code == status and error.message in body
    with app.test_request_context("/api/v1/customers"):
        response = _refused(error)
    assert response.status_code == status
    assert response.json["error"]["message"] == error.message
