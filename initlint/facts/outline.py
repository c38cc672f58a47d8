"""The parts of an imported project module that an analysis reads, found before parsing it.

An importer reads a few definitions of a module: timm's deit.py reads `VisionTransformer`,
which with what it uses is a fifth of vision_transformer.py's 4,900 lines. The definitions
pass (modules.run_definitions) only ever runs a module's top-level imports, constants, loss
objects, classes and functions. CPython's parser (in C, a fraction of libcst's time) tells
where each of those statements is and which top-level names each definition reads; libcst
then parses only the statements asked for and what they read, as one compacted text whose
lines map back to the file's. Every finding and position is the same as with the whole parse.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from initlint.diagnostics import Span
from initlint.frameworks.tables import KERAS_LOSSES, TORCH_LOSSES
from initlint.positions import Positions

_LOSS_NAMES = frozenset(TORCH_LOSSES) | frozenset(KERAS_LOSSES)
# Assigned values the definitions pass may run (a superset of modules.is_literal / builds_loss).
_VALUE_KINDS = (ast.Constant, ast.Tuple, ast.List, ast.UnaryOp, ast.Name)


@dataclass
class Outline:
    """Where a module's top-level statements are, in line ranges (1-based, inclusive)."""

    header: list[tuple[int, int]]  # imports, constants and loss objects
    definitions: dict[str, tuple[int, int]]  # top-level class or function -> its lines, decorators included
    reads: dict[str, frozenset[str]]  # definition -> the other definitions it names

    def closure(self, wanted: Optional[str]) -> set[str]:
        """The definitions `wanted` needs (every definition for None)."""
        if wanted is None:
            return set(self.definitions)
        found: set[str] = set()
        pending = [wanted]
        while pending:
            name = pending.pop()
            if name in found or name not in self.definitions:
                continue
            found.add(name)
            pending.extend(self.reads[name])
        return found


def outline(text: str) -> Optional[Outline]:
    """The module's outline, or None when it is to be parsed whole: CPython refuses it, its line
    ends are not plain newlines, or a top-level name is bound twice (which binding wins depends
    on running the module in order)."""
    if "\r" in text or text.startswith("\ufeff"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    header: list[tuple[int, int]] = []
    definitions: dict[str, tuple[int, int]] = {}
    bodies: dict[str, ast.AST] = {}
    bound: set[str] = set()
    for stmt in tree.body:
        end = stmt.end_lineno or stmt.lineno
        if isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names: Iterable[str] = (stmt.name,)
            start = min([stmt.lineno] + [d.lineno for d in stmt.decorator_list])
            definitions[stmt.name] = (start, end)
            bodies[stmt.name] = stmt
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names = [(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"]
            header.append((stmt.lineno, end))
        elif isinstance(stmt, ast.Assign) and _may_run(stmt.value):
            names = [n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            header.append((stmt.lineno, end))
        else:
            continue
        for name in names:
            if name in bound:
                return None
            bound.add(name)
    reads = {
        name: frozenset(n.id for n in ast.walk(body) if isinstance(n, ast.Name) and n.id in definitions and n.id != name)
        for name, body in bodies.items()
    }
    return Outline(header, definitions, reads)


def _may_run(value: ast.expr) -> bool:
    if isinstance(value, _VALUE_KINDS):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        return name in _LOSS_NAMES
    return False


def compacted(text: str, ranges: Iterable[tuple[int, int]]) -> tuple[str, list[int]]:
    """The lines of `ranges` (merged, in file order) as one text, and each of its lines' line in the file."""
    lines = text.split("\n")
    kept: list[int] = []
    last = 0
    for start, end in sorted(ranges):
        start = max(start, last + 1)
        kept.extend(range(start, end + 1))
        last = max(last, end)
    return "\n".join(lines[n - 1] for n in kept) + "\n", kept


@dataclass(eq=False)
class Part:
    """Top-level statements of a module parsed together from a compacted text."""

    module: cst.Module
    positions: Positions
    lines: Optional[list[int]]  # line of the compacted text (1-based, as an index + 1) -> line in the file; None: the whole file
    definitions: dict[str, cst.CSTNode] = field(default_factory=dict)  # by name

    def span_in(self, top: cst.CSTNode, node: cst.CSTNode) -> Optional[Span]:
        """`node`'s span in the file, if it lies within `top`, one of this part's statements."""
        found = self.positions.span_in(top, node)
        if found is None:
            return None
        if found.end_column == 1 and found.end_line > found.line:  # up to the start of the next line
            end_line = self._line(found.end_line - 1) + 1
        else:
            end_line = self._line(found.end_line)
        return Span(self._line(found.line), found.column, end_line, found.end_column)

    def _line(self, line: int) -> int:
        if self.lines is None:
            return line
        if line <= len(self.lines):
            return self.lines[line - 1]
        return self.lines[-1] + line - len(self.lines)  # past the text's last line
