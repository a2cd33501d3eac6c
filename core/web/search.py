"""The navbar's global search: every installed module's searchers (``register_searchers``),
those the user may use, each reading through its own record rules (``ctx.scoped``).

``/search?q=`` is the results page, grouped by searcher label; ``/search/suggest?q=``
answers the navbar's dropdown with the same groups as JSON. A searcher that fails is logged
and left out (its group says so); the search never answers 500 for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import jsonify
from flask import render_template
from flask import request
from flask_babel import gettext

from core.extensions import db
from core.hooks import registry
from core.registration import Searcher
from core.registration import SearchHit
from core.security.access import requires
from core.services import ServiceContext
from core.web.context import web_ctx

log = logging.getLogger("tandem.search")

bp = Blueprint("core_search", __name__)

MAX_TERM = 100
PAGE_LIMIT = 20  # hits per group on the results page
SUGGEST_LIMIT = 5  # per group in the dropdown


@dataclass(frozen=True)
class Group:
    searcher: Searcher
    hits: list[SearchHit]
    failed: bool = False

    @property
    def label(self) -> str:
        return gettext(self.searcher.label)


def searchers_for(ctx: ServiceContext) -> list[Searcher]:
    return [s for s in registry().searchers if s.permission is None or ctx.can(s.permission)]


def search(ctx: ServiceContext, term: str, limit: int) -> list[Group]:
    """Each allowed searcher's hits for ``term`` (groups without hits left out)."""
    term = (term or "").strip()[:MAX_TERM]
    if not term:
        return []
    groups = []
    for searcher in searchers_for(ctx):
        try:
            hits = list(searcher.search(ctx, term, limit))[:limit]
        except Exception:  # noqa: BLE001 - one broken searcher must not break the search
            log.exception("searcher %s failed", searcher.id)
            db.session.rollback()
            groups.append(Group(searcher, [], failed=True))
            continue
        if hits:
            groups.append(Group(searcher, hits))
    return groups


@bp.route("/search")
@requires()
def page() -> Any:
    term = request.args.get("q", "").strip()[:MAX_TERM]
    ctx = web_ctx()
    return render_template("core/search.html", q=term, groups=search(ctx, term, PAGE_LIMIT),
                           searchable=[gettext(s.label) for s in searchers_for(ctx)])


@bp.route("/search/suggest")
@requires()
def suggest() -> Any:
    term = request.args.get("q", "").strip()[:MAX_TERM]
    groups = search(web_ctx(), term, SUGGEST_LIMIT)
    return jsonify({
        "q": term,
        "groups": [{"id": g.searcher.id, "label": g.label, "failed": g.failed,
                    "hits": [{"title": h.title, "url": h.url, "detail": h.detail}
                             for h in g.hits]} for g in groups],
    })


def blueprints() -> list[Blueprint]:
    return [bp]
