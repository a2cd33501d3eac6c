"""The REST API framework under ``/api/v1``, shared by every module.

A module's endpoints (``modules/<name>/api.py``, blueprint registered from
``register_blueprints``; blueprints named ``<module>_api`` are CSRF-exempt)::

    from flask import Blueprint
    from sqlalchemy import select

    from core import api

    bp = Blueprint("crm_api", __name__, url_prefix=api.API_PREFIX)

    class CustomerIn(api.ApiIn):            # unknown fields → 422
        name: str = Field(max_length=200)
        credit_limit: api.Money | None = None

    class CustomerOut(api.ApiOut):          # read from ORM objects
        id: int
        name: str
        credit_limit: api.Money | None      # "1234.50"
        created_at: datetime                # "2025-07-17T02:00:00+00:00"

    CUSTOMERS = api.Listing(Customer, sort={"name": Customer.name}, default_sort="-id",
                            filters={"status": Customer.status}, search=[Customer.name])

    @api.route(bp, "/customers", permission="crm.customer.read", response=CustomerOut,
               listing=CUSTOMERS, tags=["crm"])
    def list_customers(ctx):
        \"\"\"List the customers the caller may see.\"\"\"
        return CUSTOMERS.page(ctx, select(Customer))

    @api.route(bp, "/customers", methods=["POST"], permission="crm.customer.create",
               body=CustomerIn, response=CustomerOut, status=201, tags=["crm"])
    def create_customer(ctx, body: CustomerIn):
        \"\"\"Create a customer.\"\"\"
        return services.create_customer(ctx, **body.model_dump())

    @api.route(bp, "/customers/<int:customer_id>", methods=["PATCH"], ...)
    def update_customer(ctx, customer_id: int, body: CustomerPatch):
        return services.update_customer(ctx, customer_id, body.model_dump(exclude_unset=True))

What the framework does for every endpoint:

* bearer token (``Authorization: Bearer tdm_…``; ``manage.py users token USERNAME``):
  missing, wrong or revoked → 401 with ``WWW-Authenticate: Bearer``;
* ``permission`` (a code, or ``"authenticated"``) → 403 without it;
* ``body=`` JSON validated (malformed → 400 ``invalid_json``; invalid → 422 whose ``fields``
  names each field in Chinese), ``query=`` a pydantic model for extra query parameters;
* the view runs as ``view(ctx, **url_args[, body=…][, query=…])`` inside ``unit_of_work``
  with ``ServiceContext(actor=user, source="api")`` (so audit rows say ``api``);
* :class:`core.errors.TandemError` → ``{"error": {"code", "message", "fields"}}`` with its
  status (``NotFoundError`` 404 for what the caller may not see, ``ConflictError`` 409,
  ``ValidationError`` 422, ``PermissionDenied`` 403, ``UserError`` 400); a database unique
  violation → 409 without details;
* the result is rendered through ``response`` (Decimal → string, datetime → ISO 8601 with
  offset); ``None`` → 204; a :class:`Page` → ``{"data": [...], "meta": {...}}``;
* metadata for ``GET /api/v1/openapi.json`` (and the ``/api/v1/docs`` page).

Lists follow :mod:`core.api.listing` (``Listing``, or the shortcut :func:`paginate`).
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
    "Page",
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
    from core.api.views import bp

    return [bp]
