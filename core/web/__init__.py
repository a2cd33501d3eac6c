"""Back-office shell: login, layout, menus, Apps page and admin pages."""

from __future__ import annotations

from flask import Blueprint


def core_blueprints() -> list[Blueprint]:
    """Blueprints of the core, registered before the modules' ones."""
    from core import api
    from core import realtime_web
    from core.web import timeline
    from core.web.admin import bp as admin_bp
    from core.web.admin_system import bp as system_bp
    from core.web.admin_users import bp as users_bp
    from core.web.admin_webhooks import bp as webhooks_bp
    from core.web.auth import bp as auth_bp
    from core.web.errors import bp as errors_bp
    from core.web.health import bp as health_bp
    from core.web.home import bp as home_bp
    from core.web.imports import bp as imports_bp
    from core.web.overview import bp as overview_bp
    from core.web.search import bp as search_bp

    return [auth_bp, home_bp, admin_bp, users_bp, system_bp, *api.blueprints(),
            *realtime_web.blueprints(), *timeline.blueprints(), errors_bp, search_bp, health_bp,
            webhooks_bp, imports_bp, overview_bp]
