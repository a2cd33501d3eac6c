"""Links in chat cards point where the server really is: TANDEM_BASE_URL from HOST/PORT."""

from __future__ import annotations

from flask import Flask

from core.config import derived_base_url
from core.config import load_config


def _config(monkeypatch, tmp_path, env, instance_config=""):
    for key in ("HOST", "PORT", "TANDEM_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "config.py").write_text(instance_config)
    app = Flask("t", instance_path=str(tmp_path), instance_relative_config=True)
    load_config(app, {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return app.config["TANDEM_BASE_URL"]


def test_base_url_follows_the_port_demo_sh_serves_on(monkeypatch, tmp_path):
    assert _config(monkeypatch, tmp_path, {"PORT": "5123"}) == "http://127.0.0.1:5123"
    assert _config(monkeypatch, tmp_path, {"HOST": "192.168.1.20", "PORT": "8080"}) \
        == "http://192.168.1.20:8080"
    assert _config(monkeypatch, tmp_path, {"HOST": "0.0.0.0", "PORT": "8080"}) \
        == "http://127.0.0.1:8080"


def test_an_explicit_base_url_wins(monkeypatch, tmp_path):
    assert _config(monkeypatch, tmp_path, {"PORT": "5123",
                                           "TANDEM_BASE_URL": "https://crm.example.cn"}) \
        == "https://crm.example.cn"
    assert _config(monkeypatch, tmp_path, {"PORT": "5123"},
                   'TANDEM_BASE_URL = "https://tandem.lan"\n') == "https://tandem.lan"


def test_without_host_or_port_the_default_stays(monkeypatch, tmp_path):
    assert _config(monkeypatch, tmp_path, {}) == "http://127.0.0.1:5000"
    assert derived_base_url({}) is None
    assert derived_base_url({"HOST": "::", "PORT": "7000"}) == "http://127.0.0.1:7000"
