"""``GET /events/stream``: server-sent events of record changes for open pages."""

from __future__ import annotations

import json
from collections.abc import Iterator

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request
from flask import stream_with_context

from core.extensions import db
from core.realtime import subscribe
from core.security.access import requires

bp = Blueprint("core_events", __name__)


@bp.route("/events/stream")
@requires()
def stream() -> Response:
    models = set(filter(None, request.args.get("models", "").split(",")))
    redis_url = current_app.config.get("REDIS_URL")
    heartbeat = float(current_app.config.get("TANDEM_SSE_HEARTBEAT", 15))
    limit = request.args.get("limit", type=int)  # tests: stop after N events
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
            yield f"event: change\ndata: {json.dumps(event)}\n\n"
            sent += 1
            if limit and sent >= limit:
                return

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def blueprints() -> list[Blueprint]:
    return [bp]
