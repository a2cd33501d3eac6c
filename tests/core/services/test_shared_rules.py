"""The small rules modules share: collecting field errors, a race-safe conditional UPDATE,
and whom an actor may make an owner."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from core.concurrency import conditional_update
from core.errors import FieldError
from core.errors import FieldErrors
from core.errors import ValidationError
from core.extensions import db
from core.security.models import Team
from core.security.models import User
from core.security.ownership import assignable_ids
from core.security.ownership import may_assign
from core.security.ownership import unrestricted
from core.services import ServiceContext
from core.services import unit_of_work


def _bad() -> str:
    raise FieldError("名称太长")


def test_field_errors_collect_every_field_then_refuse_once() -> None:
    errors = FieldErrors()
    assert errors.check("code", lambda: "A1") == "A1"
    assert errors.check("name", _bad) is None
    errors.add("name", "second problem of the same field is not kept")
    errors.add("phone", "请填写手机号")
    assert errors.has("name") and not errors.has("code")
    with pytest.raises(ValidationError) as err:
        errors.raise_if_any()
    assert err.value.fields == {"name": "名称太长", "phone": "请填写手机号"}
    FieldErrors().raise_if_any()  # nothing refused: no error


def test_of_two_conditional_claims_one_wins(app_ctx, make_user) -> None:
    user = make_user("sales")
    claim = (update(User).where(User.id == user.id, User.locale.is_(None))
             .values(locale="en"))
    with unit_of_work(ServiceContext.system()):
        assert conditional_update(claim) == 1
        assert conditional_update(claim) == 0


def test_whom_an_actor_may_make_an_owner(app_ctx, make_user) -> None:
    boss, outsider = make_user("manager"), make_user("sales")
    with unit_of_work(ServiceContext.system()):
        team = Team(name="一组", manager_id=boss.id)
        db.session.add(team)
    member = make_user("sales", team=team)
    ctx = ServiceContext(actor=boss)
    assert assignable_ids(ctx, "crm.customer.assign") == {boss.id, member.id}
    assert may_assign(ctx, member.id, "crm.customer.assign")
    assert not may_assign(ctx, outsider.id, "crm.customer.assign")
    # without the permission only himself
    assert assignable_ids(ServiceContext(actor=member), "crm.customer.assign") == {member.id}
    assert unrestricted(None) and assignable_ids(ServiceContext.system(), "x") is None
