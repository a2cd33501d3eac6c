"""Batch repair requests (B端批量报修, issue 19 #3 / issue 18 intake): many tickets at once, one
row per unit, by the rules of :func:`modules.service.services.tickets.create_ticket` applied
to the whole batch in a few queries instead of a dozen per ticket.

The unit is matched by its serial number, or by customer name + install location (one unit
there). Both only among what the importer may see (record rules on equipment and customers).
Then, as for one ticket: the project is the unit's order, else the customer's latest order
in progress; the priority comes from the type (complaint → urgent, repair → high); warranty
status on today's date; the SLA policy's deadlines (computed once per policy: every ticket
of the batch starts at the same moment); dispatch to the project owner, else by the
dispatch mode (grab window; or auto: the eligible engineers by load, the batch's own
tickets counted as it goes); an ``AS…`` number each, unique (numbers of the same second are
drawn without repeats and checked against the table; when a second's 17,576 suffixes run
out the next second's are used). Each ticket gets its ``create`` (and ``offer``) timeline
rows and its audit row, written in bulk (PostgreSQL ``COPY``, :mod:`core.imports.bulk`).

Not per ticket: the chat/in-app pushes of a new or offered ticket (a 10,000-row file would
send 10,000 cards); the importer sees the result in the import log instead.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import selectinload

from core.extensions import db
from core.imports.bulk import bulk_audit
from core.imports.bulk import bulk_insert
from core.security.models import User
from core.security.permissions import has_permission
from core.services import ServiceContext
from core.settings import get_setting
from modules.crm.models.customer import Customer
from modules.crm.queries import customers_by_name
from modules.equipment.models import Equipment
from modules.sales.models import OPEN_STATUSES as ORDER_OPEN_STATUSES
from modules.sales.models import Order
from modules.service import links
from modules.service.models import COMPLAINT_LEVELS
from modules.service.models import OPEN_STATUSES
from modules.service.models import TICKET_TYPES
from modules.service.models import Engineer
from modules.service.models import Ticket
from modules.service.models import TicketActionLog
from modules.service.services.dispatch import mode as dispatch_mode
from modules.service.services.sla import calendar
from modules.service.services.sla import deadline_utc
from modules.service.services.sla import policy_for
from modules.service.services.tickets import default_priority
from modules.service.sla import to_local

CHUNK = 1000  # values in one IN (…)
SUFFIXES = 26 ** 3


@dataclass
class BulkResult:
    created: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # row, field, message


def _chunks(values: list[Any]) -> Any:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def create_tickets(ctx: ServiceContext, rows: list[tuple[int, dict[str, Any]]], *,
                   dry_run: bool = False, message: str = "") -> BulkResult:
    """Tickets for ``rows`` (``(row_number, data)``; data keys: ``serial_number`` or
    ``customer_name`` + ``location``, ``ticket_type`` (default repair), ``subject``,
    ``description``, ``complaint_level``, ``contact_name``, ``contact_phone``). Refused rows
    come back with the field and the message; the rest are created (not in a dry run)."""
    ctx.require("service.ticket.create")
    result = BulkResult()
    wanted: list[tuple[int, dict[str, Any]]] = []
    for number, data in rows:
        clean, problems = _check(data)
        result.errors.extend((number, f, m) for f, m in problems)
        if not problems:
            wanted.append((number, clean))
    matched = _match(ctx, wanted, result)
    if dry_run or not matched:
        result.created = len(matched)
        return result
    _insert(ctx, matched, message, result)
    return result


def _check(data: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    ticket_type = _text(data.get("ticket_type")) or "repair"
    if ticket_type not in TICKET_TYPES:
        problems.append(("ticket_type", _("请选择服务类型")))
    subject = _text(data.get("subject"))
    if not subject:
        problems.append(("subject", _("请填写问题主题")))
    elif len(subject) > 200:
        problems.append(("subject", _("最多 %(n)s 字", n=200)))
    level = _text(data.get("complaint_level"))
    if level is not None and level not in COMPLAINT_LEVELS:
        problems.append(("complaint_level", _("投诉级别无效")))
    if ticket_type == "complaint" and level is None:
        level = "general"
    serial = _text(data.get("serial_number"))
    customer = _text(data.get("customer_name"))
    location = _text(data.get("location"))
    if not serial and not (customer and location):
        problems.append(("serial_number", _("请填写序列号，或客户名称 + 安装位置")))
    clean = {
        "ticket_type": ticket_type, "subject": subject, "complaint_level":
        level if ticket_type == "complaint" else None, "serial": serial,
        "customer_name": customer, "location": location,
        "description": _text(data.get("description")) or "",
        "contact_name": _text(data.get("contact_name")),
        "contact_phone": _text(data.get("contact_phone")),
    }
    for key, limit in (("contact_name", 100), ("contact_phone", 20), ("location", 200)):
        if clean[key] is not None and len(clean[key]) > limit:
            problems.append((key, _("最多 %(n)s 字", n=limit)))
    return clean, problems


_EQ_COLUMNS = (Equipment.id, Equipment.customer_id, Equipment.order_id, Equipment.serial_number,
               Equipment.install_location, Equipment.warranty_end_date)


def _match(ctx: ServiceContext, wanted: list[tuple[int, dict[str, Any]]],
           result: BulkResult) -> list[tuple[int, dict[str, Any]]]:
    """Find each row's unit and customer (what the actor may see); refuse the others."""
    serials = sorted({d["serial"] for _n, d in wanted if d["serial"]})
    names = sorted({d["customer_name"] for _n, d in wanted if d["customer_name"]})
    by_serial: dict[str, list[Any]] = {}
    for part in _chunks(serials):
        for eq in db.session.execute(ctx.scoped(
                select(*_EQ_COLUMNS).where(Equipment.serial_number.in_(part)), Equipment)):
            by_serial.setdefault(eq.serial_number, []).append(eq)
    cust_cols = (Customer.id, Customer.customer_name, Customer.customer_level,
                 Customer.phone, Customer.address)
    named = customers_by_name(ctx, names, *cust_cols[2:])
    customers: dict[int, Any] = dict(named.rows)
    by_name = named.ids
    missing = sorted({eq.customer_id for eqs in by_serial.values() for eq in eqs} - set(customers))
    for part in _chunks(missing):
        for c in db.session.execute(ctx.scoped(
                select(*cust_cols).where(Customer.id.in_(part)), Customer)):
            customers[c.id] = c
    by_place: dict[tuple[int, str], list[Any]] = {}
    named_ids = sorted({i for ids in by_name.values() for i in ids})
    for part in _chunks(named_ids):
        for eq in db.session.execute(ctx.scoped(
                select(*_EQ_COLUMNS).where(Equipment.customer_id.in_(part),
                                           Equipment.install_location.is_not(None)),
                Equipment)):
            by_place.setdefault((eq.customer_id, eq.install_location.strip()), []).append(eq)
    matched = []
    for number, data in wanted:
        eq, problem = None, None
        if data["serial"]:
            found = [e for e in by_serial.get(data["serial"], []) if e.customer_id in customers]
            if data["customer_name"]:
                found = [e for e in found
                         if customers[e.customer_id].customer_name == data["customer_name"]]
            if not found:
                problem = ("serial_number", _("找不到序列号为 %(serial)s 的设备",
                                              serial=data["serial"]))
            elif len(found) > 1:
                problem = ("serial_number", _("序列号 %(serial)s 对应多台设备，请同时填写客户名称",
                                              serial=data["serial"]))
            else:
                eq = found[0]
        else:
            ids = by_name.get(data["customer_name"], [])
            wrong_name = named.problem(data["customer_name"])
            if wrong_name is not None:
                problem = ("customer_name", wrong_name)
            else:
                found = by_place.get((ids[0], data["location"]), [])
                if not found:
                    problem = ("location", _("该客户在“%(place)s”没有登记设备",
                                             place=data["location"]))
                elif len(found) > 1:
                    problem = ("location", _("“%(place)s”有多台设备，请填写序列号",
                                             place=data["location"]))
                else:
                    eq = found[0]
        if problem is not None:
            result.errors.append((number, *problem))
            continue
        data["equipment"], data["customer"] = eq, customers[eq.customer_id]
        matched.append((number, data))
    return matched


def _latest_orders(customer_ids: list[int]) -> dict[int, int]:
    """Each customer's most recent order in progress (as ``links.latest_in_progress_order``)."""
    latest: dict[int, int] = {}
    for part in _chunks(customer_ids):
        for order_id, customer_id in db.session.execute(
                select(Order.id, Order.customer_id).where(
                    Order.customer_id.in_(part), Order.status.in_(ORDER_OPEN_STATUSES))
                .order_by(Order.created_at, Order.id)):
            latest[customer_id] = order_id  # the last one wins: the most recent
    return latest


def _owners(order_ids: list[int]) -> dict[int, int | None]:
    """Each order's project owner (``links.order_owner_id``), the orders and their people
    loaded in one query per chunk."""
    owners: dict[int, int | None] = {}
    for part in _chunks(order_ids):
        db.session.scalars(select(Order).where(Order.id.in_(part)).options(
            selectinload(Order.engineer), selectinload(Order.project_manager),
            selectinload(Order.sales_user))).all()
        for order_id in part:
            owners[order_id] = links.order_owner_id(order_id)  # from the identity map
    return owners


class _Dispatcher:
    """``dispatch.pick`` over a batch: the eligible engineers read once, each ticket to the
    least loaded one (ties: least recently assigned), counting the batch's own offers. The
    candidates for a (type, address) are found once; each engineer's rank is one tuple."""

    def __init__(self, now: Any) -> None:
        self.engineers = [e for e in db.session.scalars(
            select(Engineer).join(User, User.id == Engineer.user_id)
            .where(User.active.is_(True), Engineer.on_shift.is_(True),
                   Engineer.on_leave.is_(False)).order_by(Engineer.user_id)
            .with_for_update(of=Engineer))
            if has_permission(e.user, "service.ticket.write")]
        ids = [e.user_id for e in self.engineers]
        load = dict.fromkeys(ids, 0)
        if ids:
            load.update(dict(db.session.execute(
                select(Ticket.assignee_id, db.func.count()).where(
                    Ticket.assignee_id.in_(ids), Ticket.status.in_(OPEN_STATUSES))
                .group_by(Ticket.assignee_id)).all()))
        self.round_robin = (get_setting("service.dispatch_strategy") or "load") == "round_robin"
        self.rank: dict[int, tuple] = {}
        for e in self.engineers:
            since = e.last_assigned_at.timestamp() if e.last_assigned_at else 0.0
            self.rank[e.user_id] = (since, e.user_id) if self.round_robin else \
                (load[e.user_id], since, e.user_id)
        self.profiles = [(e.user_id, tuple(e.skills or ()), tuple(e.areas or ()))
                         for e in self.engineers]
        self.pools: dict[tuple[str, str], list[int]] = {}
        self.chosen: set[int] = set()
        self.now = now
        self.tick = now.timestamp()

    def pick(self, ticket_type: str, address: str) -> int | None:
        key = (ticket_type, address)
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = [
                uid for uid, skills, areas in self.profiles
                if (not skills or ticket_type in skills)
                and (not areas or any(a and a in address for a in areas))]
        if not pool:
            return None
        chosen = min(pool, key=self.rank.__getitem__)
        self.tick += 1e-6
        rank = self.rank[chosen]
        self.rank[chosen] = (self.tick, chosen) if self.round_robin else \
            (rank[0] + 1, self.tick, chosen)
        self.chosen.add(chosen)
        return chosen

    def save(self) -> None:
        """The chosen engineers' ``last_assigned_at``, as single offers keep it."""
        if self.chosen:
            db.session.execute(update(Engineer).where(Engineer.user_id.in_(self.chosen))
                               .values(last_assigned_at=self.now))


def _numbers(ctx: ServiceContext, count: int) -> list[str]:
    """``count`` distinct new ``AS…`` numbers: this second's unused suffixes first."""
    out: list[str] = []
    second = 0
    letters = string.ascii_uppercase
    # The suffixes taken per second, kept across the batches of one import (ctx.extra), so
    # that a second already filled is not read again for each batch.
    seen: dict[str, set[str]] = ctx.extra.setdefault("service.ticket_numbers", {})
    while len(out) < count:
        prefix = "AS" + to_local(ctx.now + timedelta(seconds=second)).strftime("%Y%m%d%H%M%S")
        if prefix not in seen:
            seen[prefix] = {n[-3:] for n in db.session.scalars(
                select(Ticket.ticket_no).where(Ticket.ticket_no.like(prefix + "%")))}
        taken = seen[prefix]
        free = SUFFIXES - len(taken)
        need = min(count - len(out), free)
        name = lambda n: letters[n // 676] + letters[n // 26 % 26] + letters[n % 26]  # noqa: E731
        picks: set[int] = set()
        if len(taken) > SUFFIXES // 2:  # a crowded second: draw from what is left
            picks.update(random.sample([n for n in range(SUFFIXES) if name(n) not in taken],
                                       need))  # noqa: S311
        while len(picks) < need:
            for n in random.sample(range(SUFFIXES), need - len(picks)):  # noqa: S311
                if name(n) not in taken:
                    picks.add(n)
        drawn = [name(n) for n in picks]
        taken.update(drawn)
        out.extend(prefix + suffix for suffix in drawn)
        second += 1
    return out


def _insert(ctx: ServiceContext, matched: list[tuple[int, dict[str, Any]]], message: str,
            result: BulkResult) -> None:
    customer_ids = sorted({d["customer"].id for _n, d in matched})
    latest = _latest_orders(customer_ids)
    for _n, d in matched:
        d["order_id"] = d["equipment"].order_id or latest.get(d["customer"].id)
    assign_owner = get_setting("service.assign_project_owner", True)
    owners = _owners(sorted({d["order_id"] for _n, d in matched if d["order_id"]})) \
        if assign_owner else {}
    how = dispatch_mode()
    dispatcher = _Dispatcher(ctx.now) if how == "auto" else None
    grab_until = ctx.now + timedelta(minutes=int(get_setting("service.grab_minutes", 15) or 15))
    cal, policies, deadlines = calendar(), {}, {}
    service_date = to_local(ctx.now).date()
    numbers = _numbers(ctx, len(matched))
    to_owner, by_rules = _("派给项目负责人"), _("按规则派单")  # once, not per ticket
    rows, offers = [], []
    for (_number, d), ticket_no in zip(matched, numbers, strict=True):
        eq, customer = d["equipment"], d["customer"]
        priority = default_priority(d["ticket_type"], d["complaint_level"])
        key = (d["ticket_type"], priority, d["complaint_level"], customer.customer_level)
        if key not in policies:
            probe = SimpleNamespace(ticket_type=d["ticket_type"], priority=priority,
                                    complaint_level=d["complaint_level"], customer=customer)
            policies[key] = policy_for(probe)  # type: ignore[arg-type]
        policy = policies[key]
        if policy is not None and policy.id not in deadlines:
            deadlines[policy.id] = (
                deadline_utc(cal, ctx.now, policy.response_minutes, []),
                deadline_utc(cal, ctx.now, policy.resolution_minutes, []))
        end = eq.warranty_end_date
        address = eq.install_location or customer.address
        row = {
            "ticket_no": ticket_no, "ticket_type": d["ticket_type"], "subject": d["subject"],
            "description": d["description"], "priority": priority,
            "complaint_level": d["complaint_level"], "channel": "import",
            "customer_id": customer.id, "order_id": d["order_id"], "equipment_id": eq.id,
            "contact_name": d["contact_name"] or customer.customer_name,
            "contact_phone": d["contact_phone"] or customer.phone, "address": address,
            "service_date": service_date,
            "warranty_status": "unknown" if end is None else
            "in_warranty" if service_date <= end else "out_of_warranty",
            "status": "pending", "stage": "todo", "progress": 0,
            "created_by_id": ctx.actor_id, "sla_pauses": [], "created_at": ctx.now,
            "updated_at": ctx.now, "sla_policy_id": policy.id if policy else None,
            "sla_state": "response_due" if policy else "none",
            "response_due_at": deadlines[policy.id][0] if policy else None,
            "resolution_due_at": deadlines[policy.id][1] if policy else None,
        }
        owner = owners.get(d["order_id"]) if d["order_id"] else None
        if owner:
            row.update(assignee_id=owner, offered_at=ctx.now)
            offers.append((len(rows), owner, "project_owner", to_owner))
        elif how == "grab":
            row["grab_until"] = grab_until
        elif dispatcher is not None:
            chosen = dispatcher.pick(d["ticket_type"], address or "")
            if chosen is not None:
                row.update(assignee_id=chosen, offered_at=ctx.now)
                offers.append((len(rows), chosen, "rules", by_rules))
        rows.append(row)
    offered = sorted({user_id for _i, user_id, _h, _l in offers})
    names = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(offered)))} \
        if offered else {}
    ids = bulk_insert(Ticket.__table__, rows)
    actor_id, source, now = ctx.actor_id, ctx.source, ctx.now
    logs = [{
        "ticket_id": ticket_id, "action": "create", "actor_id": actor_id,
        "source": source, "from_status": None, "to_status": "pending",
        "note": f"{TICKET_TYPES[r['ticket_type']]} · {r['subject']}",
        "data": {"channel": "import", "order_id": r["order_id"],
                 "equipment_id": r["equipment_id"]}, "created_at": now,
    } for ticket_id, r in zip(ids, rows, strict=True)]
    logs.extend({
        "ticket_id": ids[i], "action": "offer", "actor_id": actor_id,
        "source": source, "from_status": None, "to_status": None,
        "note": f"{label}：{names.get(user_id, '')}",
        "data": {"user_id": user_id, "how": how_}, "created_at": now,
    } for i, user_id, how_, label in offers)
    if rows and how == "grab":
        minutes = int(get_setting("service.grab_minutes", 15) or 15)
        logs.extend({
            "ticket_id": ids[i], "action": "grab_open", "actor_id": ctx.actor_id,
            "source": ctx.source, "from_status": None, "to_status": None,
            "note": _("抢单中，%(n)s 分钟内认领", n=minutes),
            "data": {"until": grab_until.isoformat()}, "created_at": ctx.now,
        } for i, r in enumerate(rows) if r.get("grab_until"))
    bulk_insert(TicketActionLog.__table__, logs)
    bulk_audit(ctx, Ticket.__table__, ids, rows, message or _("批量报修导入"),
               fields=("ticket_no", "ticket_type", "subject", "priority", "customer_id",
                       "order_id", "equipment_id", "assignee_id", "status"))
    if dispatcher is not None:
        dispatcher.save()
    if owners:
        db.session.execute(update(Engineer).where(Engineer.user_id.in_(
            {o for _i, o, h, _l in offers if h == "project_owner"})).values(
            last_assigned_at=ctx.now))
    result.created = len(ids)
