"""A model configured by the script's command line: `--confirm` builds it as `python file.py` would,
with the parser's defaults, and says so when the script cannot run without arguments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = """\
import argparse
import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--latent_dim", type=int, {option})
group = parser.add_argument_group("model")
group.add_argument("--hidden", type=int, default=64)
opt = parser.parse_args()


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(opt.latent_dim, opt.hidden), nn.ReLU(), nn.Linear(opt.hidden, 1), nn.Sigmoid())

    def forward(self, z):
        return self.model(z)


loss = torch.nn.BCELoss()(Discriminator()(torch.randn(4, 100)), torch.ones(4, 1))
"""


def il303(tmp_path: Path, option: str) -> dict[str, object]:
    (tmp_path / "gan.py").write_text(SCRIPT.format(option=option), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "initlint", "--confirm", "--format", "json", "gan.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    (finding,) = [f for f in json.loads(proc.stdout) if f["code"] == "IL303"]
    assert finding["line"] == 21
    confirmation = finding["confirmation"]
    assert isinstance(confirmation, dict)
    return confirmation


def test_the_parser_defaults_build_the_model(tmp_path: Path) -> None:
    confirmation = il303(tmp_path, "default=100")
    assert confirmation["status"] == "confirmed", confirmation


def test_a_required_argument_leaves_the_finding_unverified_and_says_why(tmp_path: Path) -> None:
    confirmation = il303(tmp_path, "required=True")
    assert confirmation["status"] == "unverified"
    assert "run without command-line arguments" in str(confirmation["detail"])
