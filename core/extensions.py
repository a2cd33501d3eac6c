"""Flask extensions, created unbound and initialised in create_app."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.globals import _cv_app
from flask_babel import Babel
from flask_babel import Domain
from flask_babel import get_locale
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from core.db import Base

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
babel = Babel()


class AppDomain(Domain):
    """flask-babel's one domain caches each locale's merged catalogs for every app of the
    process; apps with other installed modules (and so other catalogs) keep their own."""

    def get_translations_cache(self, ctx: Any) -> dict:
        cache = current_app.extensions.get("tandem_translations")
        if cache is None:  # asked on every gettext: made once per app
            cache = current_app.extensions.setdefault("tandem_translations", {})
        return cache

    def get_translations(self) -> Any:
        """The current locale's catalog, found by the ``Locale`` itself. flask-babel formats
        the locale's name and goes through its context three more times on every gettext
        (16 µs; a list page translates dozens of labels). ``force_locale`` still applies:
        the locale is read on every call, from where flask-babel keeps it."""
        app_ctx = _cv_app.get(None)
        if app_ctx is None:  # outside an app context: flask-babel's empty catalog
            return super().get_translations()
        # flask-babel's per-context namespace on ``g``, holding the locale that get_locale()
        # chose and force_locale() sets: read directly, it costs 1 µs instead of 5.
        state = app_ctx.g.__dict__.get("_flask_babel")
        locale = getattr(state, "babel_locale", None) or get_locale()
        cache = app_ctx.app.extensions.get("tandem_translations")
        found = cache.get(locale) if cache is not None else None
        if found is None:  # merged once per app and locale
            found = super().get_translations()
            self.get_translations_cache(None)[locale] = found
        return found


babel.domain_instance = AppDomain()  # replaces flask-babel's lazily created shared domain
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
bootstrap = Bootstrap5()
