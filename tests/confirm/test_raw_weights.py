"""Weights a script creates as plain tensors and applies by hand (`w1 = torch.randn(1000, 100)`,
`x.mm(w1)`): `--confirm` measures each weight's own gain on unit-variance rows of the fan-in the
static stage named, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = """\
import torch

x = torch.randn(64, 1000)
y = torch.randn(64, 10)
w1 = torch.randn(1000, 100, requires_grad=True)
w2 = torch.randn(10, 100, requires_grad=True)

for step in range(500):
    y_pred = torch.nn.functional.linear(x.mm(w1).clamp(min=0), w2)
    loss = (y_pred - y).pow(2).sum()
    loss.backward()
"""


def confirmations(tmp_path: Path) -> dict[int, dict[str, object]]:
    (tmp_path / "manual.py").write_text(SCRIPT)
    proc = subprocess.run([sys.executable, "-m", "initlint", "--no-cache", "--confirm", "--format", "json", "manual.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    return {f["line"]: f["confirmation"] for f in json.loads(proc.stdout) if f["code"] == "IL401"}


def test_an_unscaled_hand_applied_weight_is_confirmed_by_its_own_gain(tmp_path: Path) -> None:
    found = confirmations(tmp_path)
    assert found[5]["status"] == "confirmed", found[5]
    evidence = found[5]["evidence"]
    assert isinstance(evidence, dict)
    # x @ w1 with fan-in 1000: N(0, 1) multiplies the RMS by sqrt(1000) = 31.6.
    assert 28 < evidence["first_layer_gain"] < 35 and evidence["inputs"] == [[64, 1000]]
    # F.linear applies w2 as [out, in]: its fan-in is its second dimension, 100.
    assert found[6]["status"] == "confirmed", found[6]
    assert found[6]["evidence"]["inputs"] == [[64, 100]]  # type: ignore[index]
