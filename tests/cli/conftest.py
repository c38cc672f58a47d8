"""The real command line in a subprocess: `python -m initlint ...` in a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional, Protocol

import pytest

# A real finding: two zero towers multiplied (IL101 at 19:17).
TWO_TOWER = '''import torch
from torch import nn


class TwoTower(nn.Module):
    def __init__(self, n_items=1000, dim=16):
        super().__init__()
        self.item_emb = nn.Embedding(n_items, dim)
        self.proj = nn.Linear(dim, dim)
        nn.init.zeros_(self.item_emb.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, a, b):
        vec_a = self.proj(self.item_emb(a))
        vec_b = self.proj(self.item_emb(b))
        return self.score(vec_a, vec_b)

    def score(self, vec_a, vec_b):
        return (vec_a * vec_b).sum(-1)
'''
TWO_TOWER_AT = (19, 17)

# A warning-level finding: sigmoid into BCELoss (IL303).
SIGMOID_BCE = '''import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(32, 1)

    def forward(self, x):
        return torch.sigmoid(self.fc(x))


def train_step(model: Classifier, x, y):
    loss = nn.BCELoss()(model(x), y)
    loss.backward()
'''

# A model whose output is a sigmoid: an MSE loss on it in another file is a cross-file IL301.
SIGMOID_SCORER = """\
import torch
from torch import nn


class Scorer(nn.Module):
    def __init__(self, in_features=24):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_features, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x):
        return torch.sigmoid(self.body(x)).squeeze(-1)
"""

CLEAN = '''import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
'''

class Run(Protocol):
    """The `initlint` fixture: the real command in a subprocess, its output decoded."""

    def __call__(self, *args: str, cwd: Optional[Path] = None, stdin: Optional[bytes] = None,
                 env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture
def initlint(tmp_path: Path) -> Run:
    def run(*args: str, cwd: Optional[Path] = None, stdin: Optional[bytes] = None, env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        full_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "initlint", *args],
            cwd=cwd or tmp_path,
            input=stdin if stdin is not None else b"",
            capture_output=True,
            env=full_env,
            timeout=300,
        )
        result = subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())
        assert "Traceback" not in result.stderr, result.stderr
        assert proc.returncode in (0, 1, 2), (proc.returncode, result.stderr)
        return result

    return run


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def findings(stdout: str) -> list[tuple[str, str, int, int]]:
    """(path, code, line, column) of each text-format finding line."""
    out = []
    for line in stdout.splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit():
            out.append((parts[0], parts[3].split()[0], int(parts[1]), int(parts[2])))
    return out


def notebook_text(*cells: str, kinds: Optional[list[str]] = None) -> str:
    """A notebook as Jupyter writes it (nbformat 4, indent 1, `source` as a list of lines)."""
    kinds = kinds or ["code"] * len(cells)
    items = []
    for kind, source in zip(kinds, cells):
        cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
        if kind == "code":
            cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": cell["source"]}
        items.append(cell)
    data = {
        "cells": items,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


# TWO_TOWER as a notebook: a markdown cell, the imports with IPython lines, the class in cell 3.
TWO_TOWER_IMPORTS = "%matplotlib inline\n!pip install torch\n" + TWO_TOWER[: TWO_TOWER.index("class ")]
TWO_TOWER_CLASS = TWO_TOWER[TWO_TOWER.index("class ") :]
TWO_TOWER_NOTEBOOK = notebook_text("# Two towers\n", TWO_TOWER_IMPORTS, TWO_TOWER_CLASS, kinds=["markdown", "code", "code"])
# Where IL101 is in cell 3: the product's line within the class's text.
TWO_TOWER_NOTEBOOK_AT = (3, TWO_TOWER_AT[0] - TWO_TOWER[: TWO_TOWER.index("class ")].count("\n"), TWO_TOWER_AT[1])
