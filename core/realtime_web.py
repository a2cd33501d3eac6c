"""``GET /events/stream``: server-sent events of record changes for open pages."""

from __future__ import annotations

import json
from collections.abc import Iterator

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request
from flask import stream_with_context
from flask_login import current_user

from core.extensions import db
from core.realtime import subscribe
from core.security.access import requires
from core.services import ServiceContext

bp = Blueprint("core_events", __name__)


@bp.route("/events/stream")
@requires()
def stream() -> Response:
    models = set(filter(None, request.args.get("models", "").split(",")))
    redis_url = current_app.config.get("REDIS_URL")
    heartbeat = float(current_app.config.get("TANDEM_SSE_HEARTBEAT", 15))
    limit = request.args.get("limit", type=int)  # tests: stop after N events
    user_id = current_user.id
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    db.session.remove()  # hold no database connection while streaming

    def events() -> Iterator[str]:
        yield "retry: 3000\n\n"
        sent = 0
        for event in subscribe(redis_url, heartbeat):
            if event is None:
                yield ": keep-alive\n\n"
                continue
            if models and event["model"] not in models:
                continue
            with app.app_context():  # a server may resume the stream on another thread
                allowed = may_see(user_id, event)
            if not allowed:
                continue
            yield f"event: change\ndata: {json.dumps(event)}\n\n"
            sent += 1
            if limit and sent >= limit:
                return

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def may_see(user_id: int, event: dict) -> bool:
    """Whether the stream's user may see the record an event is about (the model's read
    permission and record rules, as its page would check): each user hears only of records
    he may open (issue 14 #14). A deleted record can no longer be checked: only admins hear
    of deletions. The connection is given back after each check."""
    from core.errors import NotFoundError
    from core.security.principal import load_user
    from core.timeline import visible_record

    try:
        user = load_user(user_id)
        if user is None:
            return False
        if user.is_admin:
            return True
        if event.get("action") == "delete":
            return False
        visible_record(ServiceContext(actor=user, source="web"), str(event.get("model")),
                       str(event.get("id")))
        return True
    except NotFoundError:
        return False
    finally:
        db.session.remove()


def blueprints() -> list[Blueprint]:
    return [bp]
