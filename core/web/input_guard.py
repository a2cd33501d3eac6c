"""Input hardening shared by every page and endpoint (issue 14, finding 6).

- ``<int:…>`` in a route takes ASCII digits only and at most :data:`MAX_ID` (PostgreSQL's
  ``integer``): ``/customers/²`` or ``/customers/99999999999`` answer 404, not 500;
- a NUL byte anywhere in the path, the query string, a form or a JSON body is refused with
  400 before any view reads it (PostgreSQL cannot store one in text);
- a value the database cannot hold after all (an integer out of range, a date beyond the
  calendar once shifted to UTC, too deep a JSON document) answers 422 / 400, never 500.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask import current_app
from flask import request
from flask_babel import gettext as _
from sqlalchemy.exc import DataError
from sqlalchemy.exc import StatementError
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter
from werkzeug.routing import ValidationError as RoutingValidationError

from core.inputs import MAX_ID
from core.inputs import has_nul
from core.inputs import is_unstorable

log = logging.getLogger(__name__)

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class IdConverter(BaseConverter):
    """``<int:name>``: 0–:data:`MAX_ID` in ASCII digits (werkzeug's own takes ``²``)."""

    regex = r"[0-9]{1,10}"
    weight = 50
    part_isolating = True

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        super().__init__(map)

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise RoutingValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class InputRejected(BadRequest):
    description = "NUL"


def _request_has_nul() -> bool:
    if "\x00" in request.path or b"%00" in request.query_string.lower():
        return True
    if any(has_nul(k) or has_nul(v) for k, v in request.args.items(multi=True)):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    if request.mimetype in _FORM_TYPES:
        return any(has_nul(k) or has_nul(v) for k, v in request.form.items(multi=True))
    if request.is_json:
        raw = request.get_data(cache=True)
        return b"\x00" in raw or b"\\u0000" in raw.lower()
    return False


def _longest_form_value() -> int:
    if request.method in ("GET", "HEAD", "OPTIONS") or request.mimetype not in _FORM_TYPES:
        return 0
    return max((len(v) for v in request.form.values()), default=0)


def reject_nul() -> Any:
    """``before_request``: a NUL byte in any input answers 400; so does a form field longer
    than ``TANDEM_MAX_FORM_FIELD`` characters (each form's own limits are lower: this bounds
    the fields that forgot one)."""
    try:
        bad = _request_has_nul()
    except UnicodeDecodeError:
        bad = True
    if bad:
        raise InputRejected(_("请求中包含不允许的字符（NUL）"))
    limit = int(current_app.config.get("TANDEM_MAX_FORM_FIELD") or 20_000)
    if _longest_form_value() > limit:
        raise InputRejected(_("提交的内容过长（每项最多 %(n)s 个字符）", n=limit))
    return None


def _unstorable(exc: Exception) -> Any:
    """A value the database refused (out of range, not representable): 422, never 500."""
    from core.extensions import db

    db.session.rollback()
    log.info("refused a value the database cannot hold on %s %s: %s",
             request.method, request.path, type(exc).__name__)
    message = _("取值超出允许范围")
    from core.api.endpoint import error_response
    from core.api.endpoint import is_api_request

    if is_api_request():
        return error_response("invalid_value", message, 422)
    from core.web.errors import page_error

    error = BadRequest(message)
    return page_error(error)


def _finite_decimals() -> None:
    """WTForms' ``DecimalField`` takes ``NaN``, ``sNaN`` and ``Infinity`` (Python's Decimal
    does), and a signalling NaN then fails the field's own range check with a 500: every
    form's decimal field refuses them as invalid numbers (idempotent)."""
    from decimal import Decimal

    from wtforms import fields

    original = fields.DecimalField.process_formdata
    if getattr(original, "_tandem_finite", False):
        return

    def process_formdata(self: Any, valuelist: list[Any]) -> None:
        original(self, valuelist)
        if isinstance(self.data, Decimal) and not self.data.is_finite():
            self.data = None
            raise ValueError(_("必须是数字"))

    process_formdata._tandem_finite = True  # type: ignore[attr-defined]
    fields.DecimalField.process_formdata = process_formdata  # type: ignore[method-assign]


def install(app: Flask) -> None:
    """The converter (before any blueprint is registered), the NUL check and the handlers."""
    _finite_decimals()
    app.url_map.converters["int"] = IdConverter
    app.before_request(reject_nul)

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    @app.errorhandler(RecursionError)
    @app.errorhandler(StatementError)
    def _handle(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):  # pragma: no cover - not one of ours
            return exc
        if not is_unstorable(exc):
            raise exc
        return _unstorable(exc)
