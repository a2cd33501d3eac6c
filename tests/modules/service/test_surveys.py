"""Satisfaction: a single-use signed link on resolution, 1–5, low scores make a revisit
(or reopen), no answer → "no rating", CSAT from answers only; and the public page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.errors import ConflictError
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.notify.models import Notification
from core.services import ServiceContext
from core.services import unit_of_work
from modules.service.models import Ticket
from modules.service.services import ratings
from modules.service.services import surveys
from modules.service.services import tickets as svc
from tests.modules.service.factories import act
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import make_ticket
from tests.modules.service.factories import service_people
from tests.modules.service.factories import set_settings


@pytest.fixture
def people(app_ctx, make_user):
    set_settings(dispatch_mode="manual")
    return service_people(make_user)


def resolved(people):
    ticket = make_ticket(make_customer(people["sales"]))
    act(people["li"], svc.claim_ticket, ticket.id)
    act(people["li"], svc.resolve_ticket, ticket.id)
    sms = db.session.scalar(select(Notification).where(
        Notification.channel == "sms", Notification.record_id == str(ticket.id)))
    token = sms.url.rsplit("/", 1)[1]
    return ticket, token


def answer(token, score, comment=""):
    ctx = ServiceContext.system("web")
    with unit_of_work(ctx):
        return ratings.answer_survey(ctx, token, score, comment)


def test_good_score_closes_and_the_link_is_single_use(people):
    ticket, token = resolved(people)
    with pytest.raises(ValidationError):
        answer(token, 7)
    answer(token, 5, "师傅很专业")
    db.session.expire_all()
    t = db.session.get(Ticket, ticket.id)
    assert (t.rating, t.survey_state, t.status) == (5, "rated", "closed")
    with pytest.raises(ConflictError):
        answer(token, 1)


def test_low_score_creates_a_revisit_or_reopens(people):
    ticket, token = resolved(people)
    answer(token, 2, "还是不制冷")
    db.session.expire_all()
    t = db.session.get(Ticket, ticket.id)
    assert t.needs_revisit and t.status == "resolved"
    set_settings(low_score_reopen=True)
    second, token2 = resolved(people)
    answer(token2, 1)
    db.session.expire_all()
    assert db.session.get(Ticket, second.id).status == "reopened"


def test_no_answer_is_no_rating_never_a_good_one(people):
    ticket, _token = resolved(people)
    later = ServiceContext.system("job")
    later.now = later.now + timedelta(days=4)
    with unit_of_work(later):
        assert ratings.expire_surveys(later) == 1
    db.session.expire_all()
    t = db.session.get(Ticket, ticket.id)
    assert (t.survey_state, t.rating, t.status) == ("no_rating", None, "closed")
    _rated, token2 = resolved(people)
    answer(token2, 4)
    assert surveys.csat(ServiceContext.system()) == (4.0, 1)
    with pytest.raises(UserError):
        ctx = ServiceContext.system("web")
        ctx.now = ctx.now + timedelta(days=10)
        _third, token3 = resolved(people)
        with unit_of_work(ctx):
            ratings.answer_survey(ctx, token3, 5)
