"""The apps over the engine are peers: vcs, alerts and webhooks import none of each other's modules
(shared plumbing lives in pggit_project: engine access, ReadOnlyModel, the engine-error mapping),
and the modules of cachemgmt import each other without a cycle (lazy imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PEERS = ("vcs", "alerts", "webhooks")


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("app", PEERS)
def test_peer_apps_do_not_import_each_other(app):
    others = tuple(peer for peer in PEERS if peer != app)
    crossing = sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / app).rglob("*.py")
        for module in imports_of(path)
        if module.split(".")[0] in others
    )
    assert crossing == []


def test_cachemgmt_modules_import_each_other_without_a_cycle():
    package = ROOT / "cachemgmt"
    graph = {
        path.stem: {
            module.split(".")[1]
            for module in imports_of(path)
            if module.startswith("cachemgmt.") and module.count(".") == 1
        }
        for path in package.glob("*.py")
    }
    assert graph["local_events"] and graph["runtime"]  # the scan sees their imports

    def cycle_from(start: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for target in sorted(graph.get(start, ())):
            if target in seen:
                return (*seen[seen.index(target) :], target)
            found = cycle_from(target, (*seen, target))
            if found:
                return found
        return None

    cycles = {name: cycle_from(name, (name,)) for name in graph}
    assert {name: cycle for name, cycle in cycles.items() if cycle} == {}
