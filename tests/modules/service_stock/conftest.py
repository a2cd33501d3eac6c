"""Reuse the fake WeCom of the wecom tests."""

from tests.modules.wecom.conftest import fake_wecom  # noqa: F401
