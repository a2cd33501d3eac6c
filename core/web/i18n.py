"""The language helpers under their former web address; they live in :mod:`core.i18n`, which
code outside ``core.web`` imports."""

from __future__ import annotations

from core.i18n import default_locale
from core.i18n import ensure_compiled
from core.i18n import locale_of

__all__ = ["default_locale", "ensure_compiled", "locale_of"]
