"""Reuse the fake WeCom of the wecom tests."""

from tests.modules.wecom.conftest import driver  # noqa: F401 - needs the test module's ctx_app
from tests.modules.wecom.conftest import fake_wecom  # noqa: F401
