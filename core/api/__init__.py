"""The REST API framework under ``/api/v1``, shared by every module.

How a module declares its endpoints (``api.route`` + ``Listing`` + ``ApiOut``) and what the
framework does for each (token, permission, validation, unit of work, errors, OpenAPI):
``docs/api.md``. Lists follow :mod:`core.api.listing`.
"""

from __future__ import annotations

from flask import Blueprint

from core.api.endpoint import API_PREFIX
from core.api.endpoint import ApiMeta
from core.api.endpoint import api_view
from core.api.endpoint import error_response
from core.api.endpoint import json_body
from core.api.endpoint import json_response
from core.api.endpoint import route
from core.api.listing import MAX_PER_PAGE
from core.api.listing import Listing
from core.api.listing import Page
from core.api.listing import paginate
from core.api.schemas import ApiIn
from core.api.schemas import ApiOut
from core.api.schemas import Money
from core.api.schemas import NonNegativeMoney
from core.api.schemas import PositiveMoney
from core.api.schemas import jsonable
from core.security.access import AUTHENTICATED

__all__ = [
    "API_PREFIX",
    "AUTHENTICATED",
    "MAX_PER_PAGE",
    "ApiIn",
    "ApiMeta",
    "ApiOut",
    "Listing",
    "Money",
    "NonNegativeMoney",
    "Page",
    "PositiveMoney",
    "api_view",
    "blueprints",
    "error_response",
    "json_body",
    "json_response",
    "jsonable",
    "paginate",
    "route",
]


def blueprints() -> list[Blueprint]:
    """Core's API blueprint (picked up by :func:`core.web.core_blueprints`)."""
    from core.api.changes import bp as changes_bp
    from core.api.views import bp

    return [bp, changes_bp]
