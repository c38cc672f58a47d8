"""`initlint --confirm` on a model file that imports modules which are not installed: a module
only a data or plotting method uses does not stop the model from being built; one the model's
construction uses leaves the finding unverified with the module's name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

NET = """\
import torch.nn as nn
import no_such_data_library as ndl
from no_such_plot_library.pyplot import show


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(16, 8)
        nn.init.constant_(self.hidden.weight, 0.5)
        nn.init.zeros_(self.hidden.bias)  # nothing feeds the hidden units apart
        self.out = nn.Linear(8, {width})
        nn.init.constant_(self.out.weight, 0.5)

    def forward(self, x):
        return self.out(self.hidden(x).relu())

    def load(self, path):
        show()
        return ndl.read_csv(path)
"""


def test_missing_modules_the_model_does_not_use(tmp_path: Path) -> None:
    (tmp_path / "unused.py").write_text(NET.format(width="1"))
    (tmp_path / "needed.py").write_text(NET.format(width="ndl.WIDTH"))
    proc = subprocess.run([sys.executable, "-m", "initlint", "--no-cache", "--confirm", "--format", "json",
                           "unused.py", "needed.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    found = {(f["path"], f["line"]): f["confirmation"] for f in json.loads(proc.stdout) if f["code"] == "IL201"}
    assert found[("unused.py", 10)]["status"] == "confirmed", found
    needed = found[("needed.py", 10)]
    assert needed["status"] == "unverified"
    assert "No module named 'no_such_data_library'" in needed["detail"]
