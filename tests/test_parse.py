"""The parse stage's shortcuts must build exactly libcst's tree and leave libcst as it was.

cst_parser.py builds parser nodes without re-validating them and with lean
constructors; these tests compare its trees with libcst's own on varied
syntax and on this repository's sources, and check that nodes built by
hand afterwards are validated again, also when threads parse at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

import libcst as cst
import pytest

from initlint import cst_parser as parse
from initlint.cst_parser import LEAN_INITS_MIN_CHARS
from initlint.parse import parse_source

REPO = Path(__file__).resolve().parents[1]

VARIED_SYNTAX = '''\
"""Module docstring."""
from __future__ import annotations
import torch as t, torch.nn as nn
from . import sibling
from ..pkg import (a as b, c)

@decorator(arg=1)
class Model(nn.Module, metaclass=Meta):
    x: int = 3
    def __init__(self, *args, dim: int = 4, **kwargs) -> None:
        super().__init__()
        self.w = nn.Parameter(t.zeros(dim, dim))  # a comment
        self.layers = [nn.Linear(dim, dim) for _ in range(3) if dim > 1]
        lookup = {k: v for k, v in kwargs.items()}
        other = {**lookup, "key": [1, 2.5, 3j, 0x1F, 1_000]}

    async def run(self, x, /, y=None, *, z):
        async with ctx() as c, other() as d:
            async for item in stream():
                await c.send(item)
        return (yield x)

def f(a, b):
    global g
    if (n := len(a)) > 10 and not b or a is None:
        pass
    elif a in b:
        raise ValueError(f"bad {a!r:>10} {b=}") from None
    else:
        del a[0], b
    while True:
        break
    for i, (j, k) in enumerate(zip(a, b)):
        continue
    try:
        x = a[1:2, ::3] @ b ** -1 // 2 % 3 << 1 >> 2 & 3 | 4 ^ ~5
    except (TypeError, ValueError) as exc:
        x += 1; y -= 2
    finally:
        assert x, "message"
    lam = lambda q, *r, s=1: (q, r, s)
    return x if x else lam, ..., b"bytes", r"raw\\d", \'\'\'triple\'\'\'

match command.split():
    case [action, *rest] if action:
        pass
    case {"key": value, **others}:
        pass
    case Point(x=0, y=0) | None:
        pass
    case _:
        pass
'''


def _sources() -> list[tuple[str, str]]:
    files = sorted((REPO / "initlint").rglob("*.py")) + sorted((REPO / "rules").glob("*.py"))
    files += sorted((REPO / "tests" / "fixtures").glob("*.py"))
    return [("varied", VARIED_SYNTAX)] + [(str(p.relative_to(REPO)), p.read_text(encoding="utf-8")) for p in files]


def _lean_parse(text: str) -> cst.Module:
    with parse._parser_built_nodes(LEAN_INITS_MIN_CHARS):  # as for any file after a run's first
        return cst.parse_module(text)


def test_lean_construction_builds_libcst_own_tree() -> None:
    sources = _sources()
    assert len(sources) > 40
    for name, text in sources:
        lean = _lean_parse(text)
        assert parse._lean_inits, "the lean constructors were not used"
        assert lean.deep_equals(cst.parse_module(text)), name
        assert lean.code == text, name


def test_parse_source_returns_the_tree_or_the_syntax_error() -> None:
    module = parse_source("m.py", VARIED_SYNTAX)
    assert isinstance(module, cst.Module) and module.code == VARIED_SYNTAX
    error = parse_source("m.py", "import torch\n\ndef forward(self, x)\n    return x\n")
    assert not isinstance(error, cst.Module)
    assert (error.code, error.span.line, error.message) == ("IL001", 3, "syntax error: expected ':'")


def test_nodes_built_by_hand_after_a_parse_are_validated() -> None:
    _lean_parse(VARIED_SYNTAX)
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")
    with pytest.raises(cst.CSTValidationError):
        cst.Attribute(value=cst.Name("a"), attr=cst.Name("b"), lpar=[cst.LeftParen()])  # unbalanced
    assert cst.Name("ok").value == "ok"


def test_threads_parsing_at_once_get_correct_trees_and_leave_libcst_restored() -> None:
    text = (REPO / "initlint" / "facts" / "interpret.py").read_text(encoding="utf-8")
    expected = cst.parse_module(text)
    originals = {cls: cls.__dict__["__init__"] for cls in (cst.Name, cst.Call, cst.SimpleWhitespace)}
    failures: list[str] = []

    def work() -> None:
        for _ in range(3):
            module = parse_source("interpret.py", text)
            if not isinstance(module, cst.Module) or not module.deep_equals(expected):
                failures.append("different tree")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert {cls: cls.__dict__["__init__"] for cls in originals} == originals
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")
