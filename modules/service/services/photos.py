"""Ticket photos (at intake, before and after the work): checked by their content (Pillow,
through :func:`core.storage.check_image`), bounded in size and number per ticket, stripped of
their EXIF (GPS) data and kept in the one storage of :mod:`core.storage`. Only those who may
see the ticket get them (:func:`photo_for`)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy import select

from core.errors import NotFoundError
from core.errors import PermissionDenied
from core.errors import UserError
from core.errors import ValidationError
from core.extensions import db
from core.services import ServiceContext
from core.services import after_commit
from core.settings import get_setting
from core.storage import BadImage
from core.storage import check_image
from core.storage import get_storage
from core.storage import new_key
from core.storage import store_file
from modules.service.models import PHOTO_PHASES
from modules.service.models import Ticket
from modules.service.models import TicketPhoto
from modules.service.services.base import _require_worker
from modules.service.services.base import get_ticket
from modules.service.services.base import log_action

DEFAULT_MAX_COUNT = 30
DEFAULT_MAX_MB = 10


def limits() -> tuple[int, int]:
    """(photos per ticket, megabytes per photo) from the settings."""
    count = int(get_setting("service.photo_max_count", DEFAULT_MAX_COUNT) or DEFAULT_MAX_COUNT)
    megabytes = int(get_setting("service.photo_max_mb", DEFAULT_MAX_MB) or DEFAULT_MAX_MB)
    return count, megabytes


def decode_data_url(value: Any) -> bytes:
    """The bytes of a ``data:image/…;base64,…`` string (the offline queue and the JSON API)."""
    raw = str(value or "").split(",", 1)[-1]
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        message = _("照片数据无效")
        raise ValidationError(message, fields={"photo": message}) from exc


def _may_add(ctx: ServiceContext, ticket: Ticket) -> None:
    """The ticket's workers, and whoever raised it while it is still waiting."""
    if ctx.actor is not None and ticket.created_by_id == ctx.actor_id \
            and ticket.status == "pending":
        return
    _require_worker(ctx, ticket)


def add_photo(ctx: ServiceContext, ref: Any, data: bytes, phase: str = "other",
              caption: str = "") -> TicketPhoto:
    """One photo on a ticket the actor may work on."""
    ticket = get_ticket(ctx, ref)
    _may_add(ctx, ticket)
    if ticket.status in ("closed", "cancelled", "rejected"):
        raise UserError(_("%(no)s 已结束，不能再上传照片", no=ticket.ticket_no))
    phase = phase if phase in PHOTO_PHASES else "other"
    caption = str(caption or "").strip()
    if len(caption) > 200:
        message = _("最多 %(n)s 字", n=200)
        raise ValidationError(message, fields={"caption": message})
    max_count, max_mb = limits()
    count = db.session.scalar(select(func.count()).select_from(TicketPhoto)
                              .where(TicketPhoto.ticket_id == ticket.id)) or 0
    if count >= max_count:
        raise UserError(_("每张工单最多 %(n)s 张照片", n=max_count))
    try:
        image = check_image(data, max_mb * 1024 * 1024)
    except BadImage as exc:
        message = _("照片不能超过 %(n)s MB", n=max_mb) if str(exc) == "too_large" \
            else _("请上传 JPEG、PNG 或 WebP 格式的图片")
        raise ValidationError(message, fields={"photo": message}) from exc
    key = new_key(f"service/tickets/{ticket.id}", image.extension)
    photo = TicketPhoto(ticket_id=ticket.id, phase=phase, storage_key=key,
                        content_type=image.content_type, size=len(image.data),
                        width=image.width, height=image.height, caption=caption,
                        uploaded_by_id=ctx.actor_id, source=ctx.source, created_at=ctx.now)
    db.session.add(photo)
    db.session.flush()
    store_file(key, image.data, image.content_type)  # deleted again if this rolls back
    log_action(ctx, ticket, "photo", caption or _(PHOTO_PHASES[phase]),
               data={"photo_id": photo.id, "phase": phase})
    return photo


def photos(ticket_id: int) -> list[TicketPhoto]:
    return list(db.session.scalars(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket_id)
                                   .order_by(TicketPhoto.id)))


def photo_for(ctx: ServiceContext, photo_id: int) -> TicketPhoto:
    """A photo of a ticket the actor may see (the record rules of tickets), else 404."""
    photo = db.session.get(TicketPhoto, photo_id)
    try:
        if photo is None:
            raise NotFoundError(_("照片不存在"))
        get_ticket(ctx, photo.ticket_id)
    except NotFoundError:
        # Someone else's photo answers like a missing one (no existence oracle).
        raise NotFoundError(_("照片不存在")) from None
    return photo


def delete_photo(ctx: ServiceContext, photo_id: int) -> None:
    """The uploader, or whoever may assign tickets, removes a photo of an open ticket."""
    photo = photo_for(ctx, photo_id)
    ticket = get_ticket(ctx, photo.ticket_id)
    if not ctx.can("service.ticket.assign") and photo.uploaded_by_id != ctx.actor_id:
        raise PermissionDenied(_("只能删除自己上传的照片"))
    if not ticket.is_open:
        raise UserError(_("%(no)s 已结束，不能删除照片", no=ticket.ticket_no))
    key = photo.storage_key
    db.session.delete(photo)
    log_action(ctx, ticket, "photo_delete", photo.caption or "", data={"photo_id": photo_id})
    db.session.flush()
    # the file goes once the row's removal is committed: a failed commit keeps both
    after_commit(lambda: get_storage().delete(key))
