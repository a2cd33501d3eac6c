"""Configuration layers: defaults -> instance/config.py -> environment -> test overrides."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_DATABASE_URI": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "REDIS_URL": None,
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "TANDEM_LOCALES": ["zh_CN", "en"],
    "TANDEM_MODULE_PATHS": [],
    "TANDEM_DEFAULT_MODULES": [],
    "TANDEM_PAGE_SIZE": 50,
    "TANDEM_COUNT_CAP": 10000,
    "TANDEM_LOGIN_RATE_LIMIT": "10 per minute",  # per address
    "TANDEM_LOGIN_ACCOUNT_RATE_LIMIT": "10 per minute;50 per hour",  # per username
    "TANDEM_JOBS_EAGER": None,
    "TANDEM_BASE_URL": "http://127.0.0.1:5000",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,
    "WTF_CSRF_TIME_LIMIT": None,
    "BOOTSTRAP_SERVE_LOCAL": True,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # Reverse proxies in front of Tandem whose X-Forwarded-For/-Proto/-Port are believed
    # (werkzeug's ProxyFix); 0: none, the headers are ignored.
    "TANDEM_PROXY_HOPS": 0,
    "TANDEM_MAX_FORM_FIELD": 20_000,  # characters a form field may hold (core.web.input_guard)
}

def _parse_env_value(raw: str) -> Any:
    """TANDEM_* values may be JSON (lists, numbers, booleans); otherwise plain strings."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key(instance_path: Path) -> str:
    """Read the instance secret, generating and keeping it on first use."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def derived_base_url(env: Any) -> str | None:
    """The address the server is reached at, from ``HOST``/``PORT`` (what ``demo.sh`` serves
    on), for links in chat cards and e-mails; None when neither is set. A wildcard host
    (``0.0.0.0``, ``::``) is answered as the loopback address."""
    host, port = (env.get("HOST") or "").strip(), (env.get("PORT") or "").strip()
    if not host and not port:
        return None
    if host in ("", "0.0.0.0", "::", "[::]"):  # noqa: S104 - a name to replace, not a bind
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port or '5000'}"


def instance_path() -> Path:
    return Path(os.environ.get("TANDEM_INSTANCE_PATH") or PROJECT_ROOT / "instance").resolve()


def load_config(app: Flask, overrides: dict[str, Any] | None = None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    env = os.environ
    if env.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = env["DATABASE_URL"]
    if "REDIS_URL" in env:
        app.config["REDIS_URL"] = env["REDIS_URL"] or None
    if env.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = env["SECRET_KEY"]
    if (app.config["TANDEM_BASE_URL"] == DEFAULTS["TANDEM_BASE_URL"]
            and "TANDEM_BASE_URL" not in env and (derived := derived_base_url(env))):
        app.config["TANDEM_BASE_URL"] = derived  # unless set in instance/config.py or env
    for key, raw in env.items():
        if key.startswith("TANDEM_") and key != "TANDEM_INSTANCE_PATH":
            app.config[key] = _parse_env_value(raw)
        elif key.startswith("WECOM_"):
            app.config[key] = raw
    if overrides:
        app.config.update(overrides)

    inst = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        inst.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{inst / 'tandem.sqlite'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(inst)
    if app.config.get("TANDEM_JOBS_EAGER") is None:
        app.config["TANDEM_JOBS_EAGER"] = not app.config.get("REDIS_URL")
    opts = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        opts.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # psycopg prepares a statement after its fifth run, and PostgreSQL then switches to a
        # generic plan that ignores the values: for a list filtered on a skewed column (a
        # status, a level, a team's owners) that made the capped count 4× slower (bench/).
        # Prepared statements stay; each run is planned for its values.
        # No JIT compilation: PostgreSQL compiles a statement whose estimated cost passes
        # jit_above_cost, and the correlated sub-plans of an aggregate (the pool's due
        # customers, the overview's figures) are costed high enough while they run in tens
        # of ms: the compilation took 350 ms of a 390 ms count (bench/README.md, analytics).
        # A database host that does not answer fails a connection in 5 s (readyz answers
        # 503) instead of the system's TCP timeout of minutes.
        opts.setdefault("connect_args", {
            "options": "-c plan_cache_mode=force_custom_plan -c jit=off",
            "connect_timeout": 5})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = opts
