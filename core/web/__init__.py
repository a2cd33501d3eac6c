"""Back-office shell: login, layout, menus, Apps page and admin pages."""

from __future__ import annotations

from flask import Blueprint

from core.util import optional_import


def core_blueprints() -> list[Blueprint]:
    """Blueprints of the core, registered before the modules' ones."""
    from core.web.admin import bp as admin_bp
    from core.web.admin_system import bp as system_bp
    from core.web.admin_users import bp as users_bp
    from core.web.auth import bp as auth_bp
    from core.web.home import bp as home_bp

    bps = [auth_bp, home_bp, admin_bp, users_bp, system_bp]
    for optional in ("core.api", "core.realtime_web", "core.timeline"):
        mod = optional_import(optional)
        if mod is not None:
            bps.extend(mod.blueprints())
    return bps
