"""An import-linter contract type (``.importlinter``, run by ``lint-imports``; needs the
dev extras): a module imports another module only when its manifest depends on it,
directly or through the modules it depends on (a bridge such as ``wecom_crm`` depends on
both sides, so it may import both).

The manifests are read as data from the folder of the container package (``modules``), so
a new module is covered without editing the contract.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract
from importlinter.domain.contract import ContractCheck

from core.registry.manifest import parse_manifest


def _manifests(container: str) -> dict[str, tuple[str, ...]]:
    """Each module of the ``container`` package and the modules its manifest depends on."""
    spec = importlib.util.find_spec(container)
    if spec is None or not spec.submodule_search_locations:
        return {}
    root = Path(next(iter(spec.submodule_search_locations)))
    return {path.parent.name: tuple(parse_manifest(path).depends)
            for path in sorted(root.glob("*/__manifest__.py"))}


def _allowed(depends: dict[str, tuple[str, ...]], name: str) -> set[str]:
    """``name`` and every module it depends on, directly or not."""
    seen, todo = {name}, list(depends.get(name, ()))
    while todo:
        other = todo.pop()
        if other not in seen:
            seen.add(other)
            todo.extend(depends.get(other, ()))
    return seen


class ManifestDependenciesContract(Contract):
    """Options: ``container`` (the package holding the modules, e.g. ``modules``)."""

    container = fields.StringField()

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        depends = _manifests(self.container)
        violations: list[dict[str, Any]] = []
        for name in sorted(depends):
            package = f"{self.container}.{name}"
            if package not in graph.modules:
                continue
            allowed = _allowed(depends, name)
            for importer in sorted({package, *graph.find_descendants(package)}):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    parts = imported.split(".")
                    if parts[0] != self.container or len(parts) < 2:
                        continue
                    if parts[1] in depends and parts[1] not in allowed:
                        lines = [d["line_number"] for d in graph.get_import_details(
                            importer=importer, imported=imported)]
                        violations.append({"module": name, "other": parts[1],
                                           "importer": importer, "imported": imported,
                                           "lines": lines})
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for v in check.metadata["violations"]:
            lines = ", ".join(f"l.{n}" for n in v["lines"])
            output.print_error(
                f"{v['importer']} -> {v['imported']} ({lines}): the manifest of "
                f"{v['module']} does not depend on {v['other']}", bold=False)
            output.new_line()
