"""On site: check-in/out with the distance from the address (flagged beyond the radius),
hours from the visits, the signed report (PDF, versions); batch sync of offline actions
through the same services, answered applied / conflict / error."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.service.api import out
from modules.service.models import Ticket
from modules.service.services import onsite
from modules.service.services import sync
from modules.service.services import tickets as svc
from tests.modules.crm.factories import api_callers
from tests.modules.service.factories import act
from tests.modules.service.factories import make_customer
from tests.modules.service.factories import make_ticket
from tests.modules.service.factories import service_people
from tests.modules.service.factories import set_settings

SITE = (Decimal("31.200000"), Decimal("121.550000"))


def png() -> str:
    from PIL import Image  # noqa: PLC0415 - Pillow comes with fpdf2

    image = Image.new("RGB", (200, 80), "white")
    for x in range(20, 180):
        image.putpixel((x, 40 + (x % 7)), (0, 0, 0))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def people(app_ctx, make_user):
    set_settings(dispatch_mode="manual", checkin_radius_m=300)
    return service_people(make_user)


@pytest.fixture
def mine(people):
    ticket = make_ticket(make_customer(people["sales"]))
    with unit_of_work(ServiceContext.system("cli")):
        t = db.session.get(Ticket, ticket.id)
        t.site_lat, t.site_lng = SITE
    act(people["li"], svc.claim_ticket, ticket.id)
    return ticket


def test_check_in_and_out_measure_the_distance(people, mine):
    li = people["li"]
    ctx = ServiceContext(actor=li, source="web")
    with unit_of_work(ctx):
        visit = onsite.check_in(ctx, mine.id, "31.2009", "121.5500")
    assert visit.check_in_distance_m == 100 and not visit.flagged
    assert db.session.get(Ticket, mine.id).status == "in_service"
    with pytest.raises(UserError):
        act(li, onsite.check_in, mine.id, "31.2", "121.55")
    later = ServiceContext(actor=li, source="web", now=ctx.now + timedelta(minutes=90))
    with unit_of_work(later):
        visit = onsite.check_out(later, mine.id, "31.2100", "121.5500")
    assert visit.check_out_distance_m > 1000 and visit.flagged and visit.minutes == 90
    assert db.session.get(Ticket, mine.id).service_hours == Decimal("1.50")
    with pytest.raises(ValidationError):
        act(li, onsite.check_in, mine.id, "91", "0")


def test_signed_report_freezes_figures_in_versions(people, mine):
    li = people["li"]
    act(li, svc.update_ticket, mine.id, {"solution": "更换滤网", "fee_labour": "120"})
    with pytest.raises(ValidationError):
        act(li, onsite.sign_report, mine.id, "张三", "data:image/png;base64,AAAA")
    first = act(li, onsite.sign_report, mine.id, "张三", png())
    assert first.version == 1 and first.pdf.startswith(b"%PDF")
    assert first.snapshot["fee_labour"] == "120.00" and first.snapshot["solution"] == "更换滤网"
    act(li, svc.update_ticket, mine.id, {"fee_labour": "200"})
    second = act(li, onsite.sign_report, mine.id, "张三", png())
    assert second.version == 2 and second.snapshot["fee_labour"] == "200.00"
    db.session.expire_all()
    assert onsite.latest_report(mine.id).version == 2
    assert db.session.get(type(first), first.id).snapshot["fee_labour"] == "120.00"


def test_batch_applies_and_reports_conflicts(people, mine):
    li, zhang = people["li"], people["zhang"]
    other = make_ticket(make_customer(people["sales"]))
    act(li, svc.claim_ticket, other.id)
    act(li, svc.transfer_ticket, other.id, zhang.id, "改派")  # meanwhile, on the server
    ctx = ServiceContext(actor=li, source="api")
    actions = [
        {"id": "a1", "type": "check_in", "ticket_id": mine.id,
         "payload": {"lat": "31.2", "lng": "121.55", "at": "2026-03-09T02:00:00Z"}},
        {"id": "a2", "type": "progress", "ticket_id": mine.id,
         "payload": {"percent": 60, "note": "离线记录：已拆机"}},
        {"id": "a3", "type": "progress", "ticket_id": other.id, "payload": {"percent": 30}},
        {"id": "a4", "type": "progress", "ticket_id": mine.id, "payload": {"percent": 300}},
        {"id": "a5", "type": "teleport", "ticket_id": mine.id},
    ]
    with unit_of_work(ctx):
        results = sync.apply_batch(ctx, actions, out)
    by_id = {r["id"]: r for r in results}
    assert [by_id[k]["status"] for k in ("a1", "a2", "a3", "a4", "a5")] == \
        ["applied", "applied", "conflict", "error", "error"]
    assert by_id["a2"]["ticket"]["progress"] == 60
    assert "张工" in by_id["a3"]["message"] and by_id["a3"]["ticket"] is None
    db.session.expire_all()
    assert db.session.get(Ticket, other.id).progress == 0
    notes = [r.note for r in svc.action_log(mine.id)]
    assert "离线记录：已拆机" in notes


def test_sync_api_and_web_edges(client, people, mine):
    api = api_callers(client, people)
    r = api("li").post("/api/v1/sync/batch", json={"actions": [
        {"id": 1, "type": "progress", "ticket_id": mine.id, "payload": {"percent": 40}}]})
    assert r.status_code == 200, r.json
    assert r.json["results"][0]["status"] == "applied"
    assert r.json["results"][0]["ticket"]["progress"] == 40
    assert api("li").post("/api/v1/sync/batch", json={"actions": "x"}).status_code == 422
    from tests.conftest import login

    login(client, people["li"])
    r = client.post("/service/sync/batch", json={"actions": [
        {"id": "w1", "type": "progress", "ticket_id": mine.id, "payload": {"percent": 70}}]})
    assert r.status_code == 200 and r.json["results"][0]["status"] == "applied"
    assert client.post("/service/sync/batch", json={"actions": 5}).status_code == 400
    page = client.get("/service/today").get_data(as_text=True)
    assert "today.js" in page and 'data-offline="check_in"' in page
    assert client.get("/service/sw.js").status_code == 200
    sign = client.post(f"/service/tickets/{mine.id}/sign",
                       data={"signer_name": "张三", "signature": png()})
    assert sign.status_code == 302
    pdf = client.get(f"/service/tickets/{mine.id}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.post(f"/service/tickets/{mine.id}/sign",
                       data={"signer_name": "张三", "signature": ""}).status_code == 422
