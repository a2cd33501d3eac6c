"""What a request reads first, in one statement of its own transaction.

- the **registry version**: whether this app is still built for the installed modules. Under
  ``core.wsgi`` a request that finds another version is not served by this app: it is
  answered again by one built afresh (nothing has read its body or run its view yet);
- the **auth epoch**: whether the users, roles and grants kept per process still hold
  (``core.security.principal``);
- for a signed-in user's page (a GET outside the API), his **unread count**, the header's
  badge. Read apart, at render time and through the ORM, the badge cost a list page 0.7 ms
  more (``bench/``): a statement of its own on a connection idle since the page's query.

Before this, the server entry point read the version and the epoch on a connection of its
own: three round trips (BEGIN, the statement, ROLLBACK) and a checkout from the pool, about
0.7 ms a request.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Flask
from flask import Response
from flask import current_app
from flask import request
from flask import session
from sqlalchemy import Select
from sqlalchemy import literal_column
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from core.api.endpoint import API_PREFIX
from core.extensions import db
from core.notify import PREFETCHED_UNREAD
from core.notify import unread_statement
from core.registry.models import CoreState
from core.security.principal import ENVIRON_KEY as AUTH_EPOCH

# app.extensions: the registry version the app was built for (set by core.wsgi, which can
# build another; without it nothing is compared).
BUILT_VERSION = "tandem_registry_version"
# environ: the registry version a request found, when it is not the app's.
STALE_APP = "tandem.stale_app"


def install(app: Flask) -> None:
    """Read before any other ``before_request`` function: the CSRF check reads the form,
    and a request to be answered again by a fresh app must still have its body."""
    app.before_request_funcs.setdefault(None, []).insert(0, read_request_state)


def read_request_state() -> Response | None:
    environ = request.environ
    if _is_static() or AUTH_EPOCH in environ:
        return None
    user_id = _page_user()
    try:
        row = db.session.connection().execute(
            _with_unread() if user_id is not None else _state(), {"user_id": user_id}).one()
    except SQLAlchemyError:  # a database not migrated yet: each is read when asked for
        db.session.rollback()
        return None
    built = current_app.extensions.get(BUILT_VERSION)
    if built is not None and (row[0] or 0) != built:
        environ[STALE_APP] = row[0] or 0
        return Response(status=503)  # not sent: core.wsgi answers with the fresh app
    environ[AUTH_EPOCH] = row[1]
    if user_id is not None:
        environ[PREFETCHED_UNREAD] = (user_id, row[2] or 0)
    return None


def _is_static() -> bool:
    """Static files and the health probes (``core.web.health``), which read what they need."""
    endpoint = request.endpoint or ""
    return (endpoint == "static" or endpoint.endswith(".static")
            or endpoint in ("core_health.healthz", "core_health.readyz"))


def _page_user() -> int | None:
    """The signed-in user of a page request (whose header shows his unread count)."""
    if request.method != "GET" or request.path.startswith(API_PREFIX):
        return None
    try:
        return int(session["_user_id"])  # flask-login's key; the session cookie is signed
    except (KeyError, TypeError, ValueError):
        return None


def _state_value(key: str) -> Any:
    written = literal_column(f"'{key}'")  # written out: the statement says what it reads
    return select(CoreState.value).where(CoreState.key == written).scalar_subquery()


@cache
def _state() -> Select:
    return select(_state_value("registry_version"), _state_value("auth_epoch"))


@cache
def _with_unread() -> Select:
    return _state().add_columns(unread_statement().scalar_subquery())
