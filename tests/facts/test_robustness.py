"""The facts stage owns its failures: an interpreter error abandons one root, never the file."""

from __future__ import annotations

from typing import NoReturn

import libcst as cst
import pytest

from initlint.config import Settings
from initlint.engine import check_source
from initlint.facts import python
from initlint.facts.analysis import build_facts

SOURCE = """
import torch
from torch import nn


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        nn.init.zeros_(self.emb.weight)

    def forward(self, a, b):
        return self.emb(a) * self.emb(b)
"""


def test_an_interpreter_error_drops_the_root_and_keeps_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INITLINT_TRACEBACK", raising=False)

    def broken(*args: object, **kwargs: object) -> NoReturn:
        raise ValueError("simulated interpreter bug")

    monkeypatch.setattr(python, "product", broken)  # `a * b` of two tensors
    facts = build_facts(cst.parse_module(SOURCE), "pair.py", Settings())
    assert facts.analysis_errors and "simulated interpreter bug" in facts.analysis_errors[0]
    assert facts.products == []
    assert check_source("pair.py", SOURCE, Settings()).diagnostics == ()


def test_deep_recursion_in_user_code_is_bounded() -> None:
    source = "import torch\n\ndef f(x):\n    return f(x) + torch.zeros(3)\n\ny = f(1)\n"
    assert check_source("rec.py", source, Settings()).diagnostics == ()


def test_huge_loop_is_capped() -> None:
    source = "import torch.nn as nn\nlayers = []\nfor i in range(10**9):\n    layers.append(nn.Linear(4, 4))\nnet = nn.Sequential(*layers)\n"
    assert check_source("loop.py", source, Settings()).diagnostics == ()


def test_isinstance_of_a_builtin_tuple_is_decided() -> None:
    # `isinstance(size, tuple)` on a constant once raised inside the interpreter, abandoning the model.
    source = SOURCE.replace(
        "        self.emb = nn.Embedding(10, 4)\n",
        "        size = 4\n        if isinstance(size, (list, tuple)):\n            size = size[0]\n        self.emb = nn.Embedding(10, size)\n",
    )
    facts = build_facts(cst.parse_module(source), "pair.py", Settings())
    assert facts.analysis_errors == []
    assert [d.code for d in check_source("pair.py", source, Settings()).diagnostics] == ["IL101"]
