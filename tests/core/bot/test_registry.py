"""Registration rules for bot commands and card actions."""

from __future__ import annotations

import pytest

from core import hookimpl
from core.errors import StartupError
from core.registration import BotCommand
from core.registration import CardAction
from core.registry.manager import ModuleRegistry
from core.registry.manager import new_plugin_manager


def _noop(ctx, call):
    return None


def _plugin(commands=(), actions=()):
    class Plugin:
        @hookimpl
        def register_bot_commands(self):
            return list(commands)

        @hookimpl
        def register_card_actions(self):
            return list(actions)

    return Plugin()


def _load(**plugins):
    pm = new_plugin_manager()
    for name, plugin in plugins.items():
        pm.register(plugin, name=name)
    registry = ModuleRegistry(modules={}, installed=list(plugins), pm=pm)
    registry.load()
    return registry


def test_triggers_with_and_without_hash_are_the_same():
    registry = _load(m1=_plugin([BotCommand("＃跟进", _noop, aliases=("FU",))]))
    assert set(registry.bot_commands) == {"跟进", "fu"}
    assert registry.bot_command_owner["跟进"] == "m1"
    with pytest.raises(StartupError, match="registered twice"):
        _load(m1=_plugin([BotCommand("#跟进", _noop)]), m2=_plugin([BotCommand("跟进", _noop)]))


def test_a_trigger_is_shared_only_between_distinct_models():
    a = BotCommand("认领", _noop, model="m1_thing", reference="A-")
    b = BotCommand("#认领", _noop, model="m2_thing", reference="B-")
    registry = _load(m1=_plugin([a]), m2=_plugin([b]))
    assert registry.bot_command_variants["认领"] == [a, b]
    for other in (BotCommand("认领", _noop), BotCommand("认领", _noop, model="m1_thing")):
        with pytest.raises(StartupError):
            _load(m1=_plugin([a]), m2=_plugin([other]))
    with pytest.raises(StartupError):
        _load(m1=_plugin([BotCommand("认领", _noop)]), m2=_plugin([b]))


def test_card_action_keys_are_prefixed_and_unique():
    registry = _load(m1=_plugin(actions=[CardAction("m1.thing.claim", _noop)]))
    assert "m1.thing.claim" in registry.card_actions
    for bad in ("m2.thing.claim", "m1.thing:claim"):
        with pytest.raises(StartupError):
            _load(m1=_plugin(actions=[CardAction(bad, _noop)]))
    with pytest.raises(StartupError, match="twice"):
        _load(m1=_plugin(actions=[CardAction("m1.x", _noop), CardAction("m1.x", _noop)]))
