"""Service contexts for web requests."""

from __future__ import annotations

from flask_babel import get_locale
from flask_login import current_user

from core.services import ServiceContext


def web_ctx() -> ServiceContext:
    """The acting user of this request, source ``web``."""
    return ServiceContext(actor=current_user._get_current_object(), source="web",
                          locale=str(get_locale()))
