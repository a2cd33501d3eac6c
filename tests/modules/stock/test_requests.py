"""Part request rules: ask for information and resubmit, substitutes, urgent purchase,
returns of unused parts, cancellation, the decision hook, workspace cards, search, demo."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from core import hookimpl
from core.errors import TandemError
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.stock.models import PartRequest
from modules.stock.models import PartsUsage
from modules.stock.models import PurchaseRequest
from modules.stock.services import catalogue
from modules.stock.services import requests as svc
from tests.modules.stock.factories import as_user
from tests.modules.stock.factories import make_part
from tests.modules.stock.factories import make_request
from tests.modules.stock.factories import make_warehouse
from tests.modules.stock.factories import on_hand
from tests.modules.stock.factories import open_ticket
from tests.modules.stock.factories import receive
from tests.modules.stock.factories import some_equipment


@pytest.fixture
def people(app_ctx, make_user):  # noqa: ANN001, ANN201
    return {"eng": make_user("engineer"), "keeper": make_user("warehouse")}


def test_ask_for_information_then_resubmit_then_approve(people):
    part, main = make_part(), make_warehouse()
    receive(part, main, 5)
    req = make_request(people["eng"], part, 2)
    as_user(people["keeper"], svc.ask_for_information, req.id, "请补充故障照片")
    db.session.expire_all()
    req = db.session.get(PartRequest, req.id)
    assert (req.status, req.decision_note) == ("info_requested", "请补充故障照片")
    with pytest.raises(TandemError):
        as_user(people["keeper"], svc.ask_for_information, req.id, "")
    as_user(people["eng"], svc.submit_request, req.id, "照片已上传，型号 KFR-35GW")
    db.session.expire_all()
    req = db.session.get(PartRequest, req.id)
    assert req.status == "pending" and "KFR-35GW" in req.notes
    as_user(people["keeper"], svc.approve_request, req.id)
    assert on_hand(part, main) == 3


def test_short_part_takes_a_declared_substitute(people):
    part, sub, main = make_part("AC-FILTER-001"), make_part("AC-FILTER-002"), make_warehouse()
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        catalogue.update_part(ctx, part.id, {"substitute_ids": [sub.id]})
    receive(sub, main, 4)
    req = make_request(people["eng"], part, 2)
    assert as_user(people["keeper"], svc.approve_request, req.id).status == "waiting"
    other = make_part("AC-OTHER-1")
    with pytest.raises(TandemError):
        as_user(people["keeper"], svc.use_substitute, req.id, req.lines[0].id, other.id)
    as_user(people["keeper"], svc.use_substitute, req.id, req.lines[0].id, sub.id)
    db.session.expire_all()
    req = db.session.get(PartRequest, req.id)
    assert req.status == "issued" and req.lines[0].original_part_id == part.id
    assert on_hand(sub, main) == 2


def test_urgent_purchase_when_short_and_the_queue_meanwhile(people):
    part = make_part()
    make_warehouse()
    req = make_request(people["eng"], part, 3)
    as_user(people["keeper"], svc.approve_request, req.id, when_short="purchase")
    pr = db.session.scalar(select(PurchaseRequest))
    assert (pr.reason, pr.quantity, pr.part_request_id) == ("urgent", 3, req.id)
    assert db.session.get(PartRequest, req.id).status == "waiting"


def test_return_of_unused_parts_goes_back_to_stock_and_usage(people):
    part, main = make_part(), make_warehouse()
    receive(part, main, 5)
    ticket = open_ticket()
    req = make_request(people["eng"], part, 3, ticket_id=ticket)
    as_user(people["keeper"], svc.approve_request, req.id)
    line_id = req.lines[0].id
    as_user(people["eng"], svc.return_unused, req.id, line_id, 2)
    assert on_hand(part, main) == 4
    used = db.session.scalar(select(func.sum(PartsUsage.quantity)).where(
        PartsUsage.ticket_id == ticket))
    assert used == 1
    with pytest.raises(TandemError):
        as_user(people["eng"], svc.return_unused, req.id, line_id, 2)


def test_cancel_and_permissions(people, make_user):
    part = make_part()
    make_warehouse()
    req = make_request(people["eng"], part, 1)
    other = make_user("engineer")
    with pytest.raises(TandemError):  # not his: not even visible
        as_user(other, svc.cancel_request, req.id)
    with pytest.raises(TandemError):
        as_user(people["eng"], svc.approve_request, req.id)
    as_user(people["eng"], svc.cancel_request, req.id)
    assert db.session.get(PartRequest, req.id).status == "cancelled"
    with pytest.raises(TandemError):
        make_request(make_user("sales"), part, 1)


def test_every_decision_fires_part_request_decided(app, people):
    seen = []

    class Listener:
        @hookimpl
        def part_request_decided(self, request, ctx):  # noqa: ANN001, ANN201
            seen.append((request.id, request.status))

    pm = app.extensions["tandem_registry"].pm
    plugin = Listener()
    pm.register(plugin)
    try:
        part, main = make_part(), make_warehouse()
        receive(part, main, 1)
        a, b = make_request(people["eng"], part, 1), make_request(people["eng"], part, 1)
        as_user(people["keeper"], svc.approve_request, a.id)
        as_user(people["keeper"], svc.reject_request, b.id, "重复申请")
    finally:
        pm.unregister(plugin)
    assert seen == [(a.id, "issued"), (b.id, "rejected")]


def test_bridge_signature_create_request_with_ticket_and_equipment(people, make_user):
    part = make_part()
    make_warehouse()
    ticket, equipment = open_ticket(), some_equipment(make_user)
    ctx = ServiceContext(actor=people["eng"], source="bot")
    with unit_of_work(ctx):
        req = svc.create_request(ctx, [{"part_id": part.id, "quantity": 1}], ticket, equipment,
                                 "现场急用")
    assert (req.ticket_id, req.equipment_id, req.notes) == (ticket, equipment, "现场急用")


def test_workspace_cards_and_searcher(app, people):
    low = make_part("AC-COMP-2023", part_name="变频压缩机", min_stock_alert=3)
    main = make_warehouse()
    receive(low, main, 1)
    make_request(people["eng"], low, 1)
    registry = app.extensions["tandem_registry"]
    cards = {c.id: c for c in registry.workspace_cards}
    ctx = ServiceContext(actor=people["keeper"], source="web")
    pending = cards["stock.pending_requests"].compute(ctx)
    assert pending.total == 1 and "AC-COMP-2023×1" in pending.items[0].title
    below = cards["stock.low_stock"].compute(ctx)
    assert below.total == 1 and "变频压缩机" in below.items[0].title
    assert cards["stock.receipts_today"].compute(ctx).total == 0
    searcher = next(s for s in registry.searchers if s.id == "stock.parts")
    hits = searcher.search(ctx, "压缩", 5)
    assert [h.title for h in hits] == ["AC-COMP-2023 变频压缩机"]
    assert searcher.search(ctx, "ac-comp", 5)[0].url == f"/stock/parts/{low.id}"


def test_demo_data_loads_and_the_daily_job_raises_for_the_short_compressor(app_ctx):
    from core.demo import load_core_demo
    from modules.stock.demo import load
    from modules.stock.jobs import low_stock_daily

    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        load_core_demo(ctx)
    with unit_of_work(ctx):
        load(ctx)
    from modules.stock.models import Part
    from modules.stock.models import Warehouse

    assert db.session.scalar(select(Part.part_name).where(Part.part_code == "AC-FILTER-001")) \
        == "空调滤网"
    van = db.session.scalar(select(Warehouse).where(Warehouse.kind == "van"))
    assert van.engineer.display_name == "张工"
    with unit_of_work(ServiceContext.system("job")):
        assert low_stock_daily() == {"purchase_requests": 1}
    with unit_of_work(ServiceContext.system("job")):
        assert low_stock_daily() == {"purchase_requests": 0}


def test_the_bridge_names_the_ticket_of_a_chat_request(app, people, make_user):
    """``service_stock`` answers ``part_request_target`` (an AS number or the chat's last
    ticket card); without it a plain ticket id is read."""
    from core.bot import IncomingMessage
    from core.bot import dispatch
    from core.security.services import update_user

    with unit_of_work(ServiceContext.system("cli")):
        update_user(ServiceContext.system("cli"), db.session.merge(people["eng"]),
                    wecom_userid="zhang.eng")
    part = make_part("AC-FILTER-001")
    make_warehouse()
    named, plain, equipment = open_ticket(), open_ticket(), some_equipment(make_user)

    class Bridge:
        @hookimpl
        def part_request_target(self, text, chat_id, ctx):  # noqa: ANN001, ANN201
            return ({"ticket_id": named, "equipment_id": equipment} if text.startswith("AS")
                    else None)

    pm = app.extensions["tandem_registry"].pm
    plugin = Bridge()
    pm.register(plugin)
    try:
        dispatch(IncomingMessage("#申请配件 AC-FILTER-001 1 AS20240202123456ABC", "zhang.eng",
                                 "g1"))
        dispatch(IncomingMessage(f"#申请配件 AC-FILTER-001 2 工单{plain}", "zhang.eng", "g1"))
        refused = dispatch(IncomingMessage("#申请配件 AC-FILTER-001 1 什么", "zhang.eng", "g1"))
    finally:
        pm.unregister(plugin)
    rows = db.session.execute(select(PartRequest.ticket_id, PartRequest.equipment_id)
                              .order_by(PartRequest.id)).all()
    assert [tuple(r) for r in rows] == [(named, equipment), (plain, None)]
    assert "看不懂工单号" in refused.to_text()
    assert part.id
