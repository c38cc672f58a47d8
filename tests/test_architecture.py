"""The import structure: layers that import one way, and files small enough to read.

Imports are read with `ast`, counting those inside functions and under
TYPE_CHECKING: a cycle that only type checkers follow is still a cycle of
ideas. `initlint.rules.*` is the repository's `rules/` folder.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 800


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((ROOT / "initlint").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for path in sorted((ROOT / "rules").glob("*.py")):
        found["initlint.rules" if path.stem == "__init__" else f"initlint.rules.{path.stem}"] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        out.update(c for c in candidates if c in MODULES and c != name)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: groups of two or more modules that reach each other (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups)


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_imports_in_functions_and_type_checking() -> None:
    # engine.py imports the fix verification inside a function; rule.py names FileFacts for
    # type checkers only: both edges must be in the graph.
    assert "initlint.fixes" in GRAPH["initlint.engine"]
    assert "initlint.facts" in GRAPH["initlint.rule"]


def test_no_import_cycle() -> None:
    """Imports run one way: diagnostics <- rule <- analysis <- rules <- engine <- link/runner <- cli."""
    assert strongly_connected(GRAPH) == []


def test_no_source_file_is_too_long() -> None:
    lengths = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in MODULES.values()}
    assert {path: n for path, n in lengths.items() if n > MAX_LINES} == {}


def test_the_analysis_imports_neither_rules_nor_the_engine() -> None:
    offending = {
        name: sorted(t for t in targets if t in ("initlint.rule", "initlint.engine") or t.startswith("initlint.rules"))
        for name, targets in GRAPH.items()
        if name == "initlint.facts" or name.startswith("initlint.facts.")
    }
    assert {k: v for k, v in offending.items() if v} == {}
