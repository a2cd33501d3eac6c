"""Tickets under ``/api/v1`` (issue 18; seed 000 §6.1: the claim answers with the ticket's
``status``, ``assignee_id`` and ``assignee_name``). Every endpoint calls the same service as
the web page and the chat command, with source ``api``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from typing import Literal

from flask import Blueprint
from pydantic import Field
from pydantic import Strict
from pydantic import WithJsonSchema
from sqlalchemy import select

from core import api
from modules.service.models import Ticket
from modules.service.models import TicketPhoto
from modules.service.services import photos
from modules.service.services import tickets as svc

bp = Blueprint("service_api", __name__, url_prefix=api.API_PREFIX)

# Hours on site (``Numeric(6, 2)``): 0–1000 with two decimals, as a number or decimal string.
Hours = Annotated[
    Decimal,
    Field(ge=0, le=1000, max_digits=6, decimal_places=2),
    WithJsonSchema({"anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1000, "multipleOf": 0.01},
        {"type": "string", "pattern": r"^(1000(\.0{1,2})?|[0-9]{1,3}(\.[0-9]{1,2})?)$"},
    ]}, mode="validation"),
]
# The client's own id of an offline action, echoed back in its result.
ClientId = (Annotated[str, Field(max_length=64)]
            | Annotated[int, Strict(), Field(ge=0, le=2**53 - 1)])

TicketType = Literal["repair", "maintenance", "complaint", "return", "installation", "inquiry"]


class TicketOut(api.ApiOut):
    id: int
    ticket_no: str
    ticket_type: str
    priority: str
    status: str
    customer_id: int
    order_id: int | None
    equipment_id: int | None
    subject: str
    description: str
    assignee_id: int | None
    assignee_name: str | None
    progress: int
    sla_state: str
    warranty_status: str
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    root_cause: str | None
    solution: str | None
    service_hours: Decimal | None
    fee_visit: api.Money
    fee_labour: api.Money
    fee_parts: api.Money
    collaborator_ids: list[int]
    rating: int | None
    created_at: datetime
    updated_at: datetime


class TicketIn(api.ApiIn):
    customer_id: int = Field(ge=1)
    ticket_type: TicketType
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    order_id: int | None = Field(default=None, ge=1)
    equipment_id: int | None = Field(default=None, ge=1)
    equipment_serial: str | None = Field(default=None, max_length=100)
    complaint_level: Literal["general", "serious", "major"] | None = None
    assignee_id: int | None = Field(default=None, ge=1, description="派给该工程师（需派单权限）")
    address: str | None = Field(default=None, max_length=300)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=20)
    appointment_at: datetime | None = None


class TicketPatch(api.ApiIn):
    subject: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    address: str | None = Field(default=None, max_length=300)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=20)
    appointment_at: datetime | None = None
    root_cause: str | None = Field(default=None, max_length=5000)
    solution: str | None = Field(default=None, max_length=5000)
    parts_used: str | None = Field(default=None, max_length=2000)
    service_hours: Hours | None = None
    fee_visit: api.Money | None = None
    fee_labour: api.Money | None = None
    fee_parts: api.Money | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    priority_reason: str | None = Field(default=None, max_length=500)


class TransferIn(api.ApiIn):
    user_id: int = Field(ge=1)
    reason: str = Field(default="", max_length=500)


class CollaboratorIn(api.ApiIn):
    user_id: int = Field(ge=1)


class ProgressIn(api.ApiIn):
    percent: int = Field(ge=0, le=100)
    note: str = Field(default="", max_length=2000)


class ResolveIn(api.ApiIn):
    root_cause: str | None = Field(default=None, max_length=5000)
    solution: str | None = Field(default=None, max_length=5000)
    parts_used: str | None = Field(default=None, max_length=2000)
    service_hours: Hours | None = None
    fee_visit: api.Money | None = None
    fee_labour: api.Money | None = None
    fee_parts: api.Money | None = None
    note: str = Field(default="", max_length=2000)


class ReasonIn(api.ApiIn):
    reason: str = Field(min_length=1, max_length=500)


def out(ticket: Ticket) -> dict:
    return {
        "id": ticket.id, "ticket_no": ticket.ticket_no, "ticket_type": ticket.ticket_type,
        "priority": ticket.priority, "status": ticket.status,
        "customer_id": ticket.customer_id, "order_id": ticket.order_id,
        "equipment_id": ticket.equipment_id, "subject": ticket.subject,
        "description": ticket.description or "", "assignee_id": ticket.assignee_id,
        "assignee_name": ticket.assignee.name if ticket.assignee else None,
        "progress": ticket.progress, "sla_state": ticket.sla_state,
        "warranty_status": ticket.warranty_status,
        "response_due_at": ticket.response_due_at,
        "resolution_due_at": ticket.resolution_due_at, "root_cause": ticket.root_cause,
        "solution": ticket.solution, "service_hours": ticket.service_hours,
        "fee_visit": ticket.fee_visit or Decimal("0"),
        "fee_labour": ticket.fee_labour or Decimal("0"),
        "fee_parts": ticket.fee_parts or Decimal("0"),
        "collaborator_ids": sorted(ticket.collaborator_ids), "rating": ticket.rating,
        "created_at": ticket.created_at, "updated_at": ticket.updated_at,
    }


TICKETS = api.Listing(
    Ticket,
    sort={"created_at": Ticket.created_at, "priority": Ticket.priority,
          "resolution_due_at": Ticket.resolution_due_at, "id": Ticket.id},
    default_sort="-id",
    filters={"status": Ticket.status, "ticket_type": Ticket.ticket_type,
             "priority": Ticket.priority, "assignee_id": Ticket.assignee_id,
             "customer_id": Ticket.customer_id, "order_id": Ticket.order_id,
             "equipment_id": Ticket.equipment_id, "sla_state": Ticket.sla_state},
    search=[Ticket.ticket_no, Ticket.subject],
)


@api.route(bp, "/tickets", permission="service.ticket.read", response=TicketOut,
           listing=TICKETS, tags=["service"])
def list_tickets(ctx):  # noqa: ANN001, ANN201
    """List the tickets the caller may see (filters on every dimension, ``q`` search)."""
    from sqlalchemy.orm import joinedload

    from core.security.models import User

    # The assignees' names in the same statement (not one load per row).
    page = TICKETS.page(ctx, select(Ticket).options(
        joinedload(Ticket.assignee).load_only(User.username, User.display_name)
        .lazyload(User.roles)))
    page.items = [out(t) for t in page.items]
    return page


@api.route(bp, "/tickets", methods=["POST"], permission="service.ticket.create", body=TicketIn,
           response=TicketOut, status=201, tags=["service"])
def create_ticket(ctx, body: TicketIn):  # noqa: ANN001, ANN201
    """Report a problem: the project is matched, the priority set by the rules, and the
    ticket dispatched (project owner first)."""
    data = body.model_dump(exclude_none=True)
    data["channel"] = "api"
    return out(svc.create_ticket(ctx, data))


@api.route(bp, "/tickets/<int:ticket_id>", permission="service.ticket.read",
           response=TicketOut, tags=["service"])
def get_ticket(ctx, ticket_id: int):  # noqa: ANN001, ANN201
    """One ticket (404 when the caller may not see it)."""
    return out(svc.get_ticket(ctx, ticket_id))


@api.route(bp, "/tickets/<int:ticket_id>", methods=["PATCH"], permission="service.ticket.write",
           body=TicketPatch, response=TicketOut, tags=["service"])
def update_ticket(ctx, ticket_id: int, body: TicketPatch):  # noqa: ANN001, ANN201
    """Change the fields sent (a priority change needs ``priority_reason`` and a manager)."""
    return out(svc.update_ticket(ctx, ticket_id, body.model_dump(exclude_unset=True)))


@api.route(bp, "/tickets/<int:ticket_id>/claim", methods=["POST"],
           permission="service.ticket.claim", response=TicketOut, tags=["service"])
def claim(ctx, ticket_id: int):  # noqa: ANN001, ANN201
    """Claim an unassigned ticket (409 naming who was faster)."""
    return out(svc.claim_ticket(ctx, ticket_id))


@api.route(bp, "/tickets/<int:ticket_id>/transfer", methods=["POST"],
           permission="service.ticket.write", body=TransferIn, response=TicketOut,
           tags=["service"])
def transfer(ctx, ticket_id: int, body: TransferIn):  # noqa: ANN001, ANN201
    """Hand the ticket to a colleague."""
    return out(svc.transfer_ticket(ctx, ticket_id, body.user_id, body.reason))


@api.route(bp, "/tickets/<int:ticket_id>/collaborators", methods=["POST"],
           permission="service.ticket.write", body=CollaboratorIn, response=TicketOut,
           tags=["service"])
def add_collaborator(ctx, ticket_id: int, body: CollaboratorIn):  # noqa: ANN001, ANN201
    """Add a collaborator."""
    return out(svc.add_collaborator(ctx, ticket_id, body.user_id))


@api.route(bp, "/tickets/<int:ticket_id>/progress", methods=["POST"],
           permission="service.ticket.write", body=ProgressIn, response=TicketOut,
           tags=["service"])
def progress(ctx, ticket_id: int, body: ProgressIn):  # noqa: ANN001, ANN201
    """Report progress (0–100) with an optional note."""
    return out(svc.update_progress(ctx, ticket_id, body.percent, body.note))


@api.route(bp, "/tickets/<int:ticket_id>/resolve", methods=["POST"],
           permission="service.ticket.write", body=ResolveIn, response=TicketOut,
           tags=["service"])
def resolve(ctx, ticket_id: int, body: ResolveIn):  # noqa: ANN001, ANN201
    """Mark resolved (with the service record): the customer gets the survey."""
    return out(svc.resolve_ticket(ctx, ticket_id, body.model_dump(exclude_none=True)))


@api.route(bp, "/tickets/<int:ticket_id>/accept", methods=["POST"],
           permission="service.ticket.write", response=TicketOut, tags=["service"])
def accept(ctx, ticket_id: int):  # noqa: ANN001, ANN201
    """Accept the ticket offered to the caller."""
    return out(svc.accept_ticket(ctx, ticket_id))


@api.route(bp, "/tickets/<int:ticket_id>/reject", methods=["POST"],
           permission="service.ticket.write", body=ReasonIn, response=TicketOut,
           tags=["service"])
def reject(ctx, ticket_id: int, body: ReasonIn):  # noqa: ANN001, ANN201
    """Reject the ticket offered to the caller, with a reason (the next candidate gets it)."""
    return out(svc.decline_ticket(ctx, ticket_id, body.reason))


class PhotoIn(api.ApiIn):
    data: str = Field(min_length=8, max_length=15_000_000,
                      description="图片（JPEG/PNG/WebP）的 base64 或 data URL")
    phase: Literal["intake", "start", "finish", "other"] = "other"
    caption: str = Field(default="", max_length=200)


class PhotoOut(api.ApiOut):
    id: int
    ticket_id: int
    phase: str
    caption: str
    content_type: str
    width: int
    height: int
    size: int
    created_at: datetime
    url: str


def photo_out(photo: TicketPhoto) -> dict:
    return {"id": photo.id, "ticket_id": photo.ticket_id, "phase": photo.phase,
            "caption": photo.caption, "content_type": photo.content_type,
            "width": photo.width, "height": photo.height, "size": photo.size,
            "created_at": photo.created_at,
            "url": f"{api.API_PREFIX}/photos/{photo.id}/content"}


class PhotoList(api.ApiOut):
    data: list[PhotoOut]


@api.route(bp, "/tickets/<int:ticket_id>/photos", permission="service.ticket.read",
           response=PhotoList, tags=["service"])
def list_photos(ctx, ticket_id: int):  # noqa: ANN001, ANN201
    """The ticket's photos (404 when the caller may not see the ticket)."""
    ticket = svc.get_ticket(ctx, ticket_id)
    return {"data": [photo_out(p) for p in photos.photos(ticket.id)]}


@api.route(bp, "/tickets/<int:ticket_id>/photos", methods=["POST"],
           permission="service.ticket.write", body=PhotoIn, response=PhotoOut, status=201,
           tags=["service"])
def add_photo(ctx, ticket_id: int, body: PhotoIn):  # noqa: ANN001, ANN201
    """Add a photo (checked by its content, EXIF removed; size and count limited)."""
    data = photos.decode_data_url(body.data)
    return photo_out(photos.add_photo(ctx, ticket_id, data, body.phase, body.caption))


@api.route(bp, "/photos/<int:photo_id>/content", permission="service.ticket.read",
           tags=["service"])
def photo_content(ctx, photo_id: int):  # noqa: ANN001, ANN201
    """The image itself, or a redirect to a short-lived signed URL of the object store."""
    from flask import Response
    from flask import redirect

    from core.storage import get_storage
    from core.storage import url_seconds

    photo = photos.photo_for(ctx, photo_id)
    store = get_storage()
    signed = store.url(photo.storage_key, url_seconds())
    response = redirect(signed) if signed else Response(store.get(photo.storage_key),
                                                       mimetype=photo.content_type)
    response.headers["Cache-Control"] = "private, max-age=60"
    response.headers["Content-Security-Policy"] = "default-src 'none'"  # as the web route
    return response


class SyncAction(api.ApiIn):
    id: ClientId | None = None
    type: str = Field(min_length=1, max_length=32)
    ticket_id: int = Field(ge=1)
    assignee_id: int | None = Field(default=None, description="负责人（离线时看到的），变了即冲突")
    payload: dict = Field(default_factory=dict)


class SyncIn(api.ApiIn):
    actions: list[SyncAction] = Field(max_length=200)


class SyncResult(api.ApiOut):
    id: str | int | None
    type: str | None
    ticket_id: int | None
    ticket_no: str | None = None
    status: Literal["applied", "conflict", "error"]
    message: str | None = None
    ticket: TicketOut | None = None


class SyncOut(api.ApiOut):
    results: list[SyncResult]


def sync_actions(body: SyncIn) -> list[dict]:
    return [a.model_dump(exclude_none=True) for a in body.actions]


@api.route(bp, "/sync/batch", methods=["POST"], permission="service.ticket.write",
           body=SyncIn, response=SyncOut, tags=["service"])
def sync_batch(ctx, body: SyncIn):  # noqa: ANN001, ANN201
    """Apply actions queued offline (progress, check_in, check_out, start, resolve, revisit,
    details, accept, photo with ``{"photo": data URL, "phase", "caption"}``), each
    answered applied / conflict (with the current ticket) / error."""
    from modules.service.services.sync import apply_batch

    return {"results": apply_batch(ctx, sync_actions(body), out)}
