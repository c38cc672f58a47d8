"""A node's place is the same whether it is found by its own code in the source text or by the
pass over the whole module (libcst's PositionProvider positions, which the reports show)."""

from __future__ import annotations

import libcst as cst
import pytest

from initlint.diagnostics import Span
from initlint.positions import Positions

SOURCE = '''\
"""Doc."""
import torch.nn as nn; import torch


@decorated(  # a comment inside the parentheses
    x=1,
)
class Net(nn.Module):
    def __init__(self, width: int = 4, *args, **kwargs) -> None:
        super().__init__()
        self.a = nn.Linear(width, width); self.b = nn.Linear(width, width)
        self.c = nn.Linear(
            width,  # a comment
            width,
        )
        nn.init.zeros_(self.a.weight)
        nn.init.zeros_(self.a.weight)
        s = """two
lines"""; t = "naïve — ünïcode"
        if width > 2:\treturn

    def forward(self, x):
        y = self.a(x) * self.b(x)
        return {"k": y, **{}}[ "k" ] + [v for v in (y,)][0]
'''


def nodes(module: cst.Module) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            found.append(node)
            return True

    module.visit(Collect())
    return found


def spans(text: str) -> list[tuple[Span, Span]]:
    """(found in the text, from the whole pass) for each node the text places by itself."""
    module = cst.parse_module(text)
    whole = Positions(module)
    by_text = Positions(module)
    by_text.use_source(text)
    pairs = []
    for node in nodes(module):
        located = by_text._located(node) if by_text._source is not None else None
        if located is not None:
            pairs.append((located, whole.span(node)))
    return pairs


@pytest.mark.parametrize("text", [SOURCE, SOURCE.rstrip("\n"), SOURCE.replace("\n", "\r\n"), "\ufeff" + SOURCE],
                         ids=["lf", "no-final-newline", "crlf", "bom"])
def test_every_node_is_placed_as_the_whole_pass_places_it(text: str) -> None:
    pairs = spans(text)
    assert len(pairs) > 30 or "\r" in text or text.startswith("\ufeff")  # these two take the pass
    assert [found for found, _ in pairs] == [whole for _, whole in pairs]


def test_a_line_written_twice_is_placed_where_each_stands() -> None:
    module = cst.parse_module("f(a)\nf(a)\ng(f(a))\n")
    calls = [node for node in nodes(module) if isinstance(node, cst.Call) and cst.ensure_type(node.func, cst.Name).value == "f"]
    positions = Positions(module)
    positions.use_source(module.code)
    assert [positions.span(call) for call in calls] == [Span(1, 1, 1, 5), Span(2, 1, 2, 5), Span(3, 3, 3, 7)]


def test_a_node_with_unique_code_is_placed_without_the_pass() -> None:
    module = cst.parse_module(SOURCE)
    call = next(node for node in nodes(module) if isinstance(node, cst.BinaryOperation))
    positions = Positions(module)
    positions.use_source(SOURCE)
    assert positions.span(call) == Span(23, 13, 23, 34)
    assert positions._ranges is None  # the module's code was not generated
