"""Service contexts for web requests (the caches, once in this module, are in
:mod:`core.cache`; they are imported here for the pages that reach them at this address)."""

from __future__ import annotations

from flask_babel import get_locale
from flask_login import current_user

from core.cache import app_cached
from core.cache import request_cached
from core.services import ServiceContext

__all__ = ["app_cached", "request_cached", "web_ctx"]


def web_ctx() -> ServiceContext:
    """The acting user of this request, source ``web``."""
    return ServiceContext(actor=current_user._get_current_object(), source="web",
                          locale=str(get_locale()))
