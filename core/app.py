"""The application factory."""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from flask import Flask
from flask import g
from flask import has_request_context
from flask import request
from flask import session
from flask_babel import gettext
from flask_babel import refresh
from flask_login import current_user

from core import extensions as ext
from core import hooks
from core.config import PROJECT_ROOT
from core.config import instance_path
from core.config import load_config
from core.extensions import db
from core.i18n import ensure_compiled
from core.registry.manager import build_registry
from core.registry.migrations import CORE_MIGRATIONS
from core.registry.migrations import version_locations
from core.security.principal import load_user
from core.services import run_post_commit
from core.web import core_blueprints
from core.web import request_state
from core.web.auth import session_is_current
from core.web.sessions import RefreshingSessionInterface
from core.web.templating import init_templating

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app for the installed modules of the configured database."""
    app = Flask(
        "core",
        instance_path=str(instance_path()),
        instance_relative_config=True,
        root_path=str(PROJECT_ROOT / "core"),
        template_folder="web/templates",
        static_folder="web/static",
        static_url_path="/static",
    )
    load_config(app, test_config)
    _trust_proxies(app)
    _init_extensions(app)
    _import_core_models()
    with app.app_context():
        registry = build_registry(list(app.config.get("TANDEM_MODULE_PATHS") or []))
    app.extensions["tandem_registry"] = registry
    _configure_babel(app, registry)
    from core.web import input_guard

    input_guard.install(app)  # the id converter before any route is added
    _register_blueprints(app, registry)
    _add_module_templates(app, registry)
    _install_request_hooks(app)

    init_templating(app)
    registry.hook.app_ready(app=app)

    request_state.install(app)  # last: its function goes before every other one
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind ``TANDEM_PROXY_HOPS`` reverse proxies, take the client's address, scheme
    (HTTPS → Secure cookie, HSTS) and port from their ``X-Forwarded-*`` headers. Without
    the setting (0, the default) those headers are ignored: anyone can send them."""
    hops = int(app.config.get("TANDEM_PROXY_HOPS") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_port=hops)


def _import_core_models() -> None:
    """Every core table in the metadata (migrations and the in-sync test rely on it)."""
    import core.audit  # noqa: F401
    import core.bot.models  # noqa: F401
    import core.changes.capture  # noqa: F401 - the changes outbox's listeners
    import core.imports.models  # noqa: F401
    import core.jobs.models  # noqa: F401
    import core.notify.models  # noqa: F401
    import core.registry.models  # noqa: F401
    import core.security.models  # noqa: F401
    import core.settings  # noqa: F401
    import core.timeline.models  # noqa: F401


def _init_extensions(app: Flask) -> None:

    app.session_interface = RefreshingSessionInterface()
    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(CORE_MIGRATIONS))
    ext.login_manager.init_app(app)
    ext.login_manager.login_view = "core_auth.login"
    ext.login_manager.login_message = "请先登录。"
    ext.login_manager.localize_callback = gettext  # flashed in the reader's language
    ext.login_manager.session_protection = "strong"

    # flask-login keeps the request's user in ``g``, which lives as long as the app context;
    # a request reusing an app context already pushed (as tests do) must load its own.
    @app.teardown_request
    def _forget_user(_exc: BaseException | None) -> None:
        g.pop("_login_user", None)

    ext.csrf.init_app(app)
    ext.bootstrap.init_app(app)
    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault(
        "RATELIMIT_STORAGE_URI", redis_url if redis_url else "memory://"
    )
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Redis down: count in this process's memory meanwhile instead of failing the login
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    ext.limiter.init_app(app)

    @ext.migrate.configure
    def _configure_alembic(config: Any) -> Any:
        registry = app.extensions.get("tandem_registry")  # None while it is built
        if registry is not None:

            locations = version_locations(registry.modules.values())
            config.set_main_option("path_separator", "os")
            config.set_main_option("version_locations", os.pathsep.join(locations))
        return config

    @ext.login_manager.user_loader
    def _load_user(user_id: str) -> Any:

        user = load_user(int(user_id))
        # A session from before a logout, a password change, a disabling or a change of
        # roles is over, in every process (the generation is in the user's row).
        return user if user is not None and session_is_current(user) else None


def _configure_babel(app: Flask, registry: Any) -> None:
    dirs = [str(PROJECT_ROOT / "core" / "translations")]
    dirs += [str(info.path / "translations") for name, info in registry.modules.items()
             if name in registry.installed and (info.path / "translations").is_dir()]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(dirs)

    ensure_compiled([Path(d) for d in dirs])

    def chosen_locale() -> str:
        locales = app.config["TANDEM_LOCALES"]
        if not has_request_context():  # jobs, CLI, bot: the default (or force_locale)
            return app.config["BABEL_DEFAULT_LOCALE"]
        if current_user and getattr(current_user, "is_authenticated", False) and \
                getattr(current_user, "locale", None) in locales:
            return current_user.locale
        if session.get("locale") in locales:
            return session["locale"]
        return app.config["BABEL_DEFAULT_LOCALE"]

    def select_locale() -> Locale:
        """The chosen locale as one ``Locale`` per name for the process: the catalogs are
        kept by locale, and a dict finds its own key by identity, where an equal new
        ``Locale`` each request cost a comparison of five attributes on every gettext."""
        return _locale(chosen_locale())

    ext.babel.init_app(app, locale_selector=select_locale,
                       timezone_selector=lambda: app.config["BABEL_DEFAULT_TIMEZONE"])

    # flask-babel caches the locale on the app context, and a request reuses the app context
    # already pushed (as tests do): each request chooses its own locale, and leaves none
    # behind for the code that runs in that context after it.
    app.before_request(refresh)
    app.teardown_request(lambda _exc: refresh())
    _install_template_gettext(app)


def _install_template_gettext(app: Flask) -> None:
    """Templates' ``_()`` with the catalog of :class:`core.extensions.AppDomain`, without
    flask-babel's lookup of the domain on every call. ``force_locale`` still works (the
    locale is read per call)."""
    from jinja2 import pass_context
    from markupsafe import Markup

    catalog = ext.babel.domain_instance.get_translations  # kept per app and locale

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: catalog().ugettext(s),
        ngettext=lambda s, p, n: catalog().ungettext(s, p, n),
        pgettext=lambda c, s: catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )

    @pass_context
    def template_gettext(context: Any, string: str, **variables: Any) -> Any:
        """Jinja's new-style ``_()`` (marked safe when autoescaping, then formatted with its
        escaped variables) in one call instead of three: a page has fifty. A text without
        variables or ``%`` is what formatting would give (2 µs a ``Markup`` saved)."""
        translated = catalog().ugettext(string)
        if context.eval_ctx.autoescape:
            translated = Markup(translated)
        return translated % variables if variables or "%" in translated else translated

    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext)


def _add_module_templates(app: Flask, registry: Any) -> None:
    """Every installed module's templates (``web/templates/``, or ``templates/`` at the
    module's root), also for modules without routes (a bridge rendering a customer-360
    section, say); blueprints' folders are searched too."""
    from jinja2 import ChoiceLoader
    from jinja2 import FileSystemLoader

    folders = [str(info.path / sub) for name, info in registry.modules.items()
               if name in registry.installed
               for sub in ("web/templates", "templates") if (info.path / sub).is_dir()]
    if folders:
        app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(folders)])


def _register_blueprints(app: Flask, registry: Any) -> None:

    for bp in core_blueprints():
        app.register_blueprint(bp)
    for _owner, bp in registry.blueprints:
        app.register_blueprint(bp)
        if bp.name.endswith("_api") or bp.name.startswith("api"):
            ext.csrf.exempt(bp)
    # Every API endpoint authenticates by its bearer header only (never the session
    # cookie), so a browser cannot be made to send a forged call: CSRF does not apply.
    # Exempted by view, whatever its blueprint is called.
    for view in list(app.view_functions.values()):
        if getattr(view, "_api_meta", None) is not None:
            ext.csrf.exempt(view)


def _install_request_hooks(app: Flask) -> None:
    from core.storage import image_origin

    # Uploaded photos come from the app, or as signed URLs from the object store.
    img_src = " ".join(filter(None, ("'self' data: blob:", image_origin(app.config))))

    @app.after_request
    def _security_headers(response: Any) -> Any:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; img-src {img_src}; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'",
        )
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.after_request
    def _start_committed_jobs(response: Any) -> Any:

        run_post_commit(db.session())
        return response

    @app.before_request
    def _request_start() -> None:
        g.tandem_registry = hooks.registry(app)


@cache
def _locale(name: str) -> Locale:
    return Locale.parse(name)
