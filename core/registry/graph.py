"""Dependency resolution: deterministic topological order, clear errors for missing/cyclic."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from graphlib import CycleError
from graphlib import TopologicalSorter

from flask_babel import gettext as _

from core.errors import ModuleError
from core.registry.discovery import ModuleInfo


def closure(names: Iterable[str], modules: Mapping[str, ModuleInfo]) -> set[str]:
    """The given modules plus everything they depend on, transitively."""
    result: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in result:
            continue
        if name not in modules:
            raise ModuleError(_("找不到模块 %(name)s", name=name))
        result.add(name)
        for dep in modules[name].manifest.depends:
            if dep not in modules:
                raise ModuleError(_("模块 %(name)s 依赖的模块 %(dep)s 不存在", name=name, dep=dep))
            stack.append(dep)
    return result


def topo_order(names: Iterable[str], modules: Mapping[str, ModuleInfo]) -> list[str]:
    """Order ``names`` so dependencies come first; ties broken by name for determinism."""
    selected = set(names)
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for name in sorted(selected):
        deps = [d for d in modules[name].manifest.depends if d in selected]
        sorter.add(name, *sorted(deps))
    try:
        sorter.prepare()
    except CycleError as exc:
        cycle = " → ".join(exc.args[1])
        raise ModuleError(_("模块依赖存在循环：%(cycle)s", cycle=cycle)) from exc
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order


def dependents(name: str, installed: Iterable[str], modules: Mapping[str, ModuleInfo]) -> set[str]:
    """Installed modules that depend on ``name``, directly or transitively."""
    installed = set(installed)
    result: set[str] = set()
    changed = True
    while changed:
        changed = False
        for other in installed - result - {name}:
            info = modules.get(other)
            if info and any(d == name or d in result for d in info.manifest.depends):
                result.add(other)
                changed = True
    return result


def auto_installable(installed: set[str], modules: Mapping[str, ModuleInfo]) -> set[str]:
    """Bridge modules whose dependencies are all installed but which are not yet."""
    return {
        name
        for name, info in modules.items()
        if info.manifest.auto_install
        and info.manifest.installable
        and name not in installed
        and info.manifest.depends
        and set(info.manifest.depends) <= installed
    }
