"""The analysis's modules form a tree: no import cycle, counting imports inside functions
and under TYPE_CHECKING, and no module too long to read."""

from __future__ import annotations

import ast
from pathlib import Path

import initlint

PACKAGE = Path(initlint.__file__).parent
ANALYSIS = [PACKAGE / "facts", PACKAGE / "frameworks"]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for folder in ANALYSIS for p in folder.glob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                # `from initlint.facts import python` imports the submodule, not the package.
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in files else node.module for a in node.names]
            graph[name].update(t for t in targets if t in files and t != name)
    return graph


def test_the_analysis_modules_import_one_another_without_a_cycle() -> None:
    graph = _import_graph()
    assert "initlint.frameworks.registry" in graph and "initlint.facts.interpret" in graph
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            assert state.get(target) != 1, "import cycle: " + " -> ".join(path + [name, target])
            if target not in state:
                visit(target, path + [name])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_no_analysis_module_is_longer_than_800_lines() -> None:
    lengths = {p.name: len(p.read_text().splitlines()) for folder in ANALYSIS for p in folder.glob("*.py")}
    assert {name: n for name, n in lengths.items() if n > 800} == {}
