"""`--confirm` where Python has no `resource` module (Windows): no memory limit, said in the evidence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ZERO_RELU_MLP = """\
import torch
from torch import nn


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 1)
        nn.init.zeros_(self.fc1.weight)
        nn.init.zeros_(self.fc1.bias)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""


def _confirm(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "model.py").write_text(ZERO_RELU_MLP)
    return subprocess.run([sys.executable, "-m", "initlint", "--confirm", "--no-cache", "--format", "json", "model.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.timeout(300)
def test_confirm_without_resource_module_measures_without_a_memory_limit(tmp_path: Path) -> None:
    # sitecustomize runs at start-up in every interpreter, the worker's included:
    # `import resource` then raises ImportError there, as on Windows.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['resource'] = None\n")
    project = tmp_path / "project"
    project.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    proc = _confirm(project, env)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "ImportError" not in proc.stdout
    zero_relu = [f for f in json.loads(proc.stdout) if f["code"] == "IL102"]
    assert len(zero_relu) == 1
    confirmation = zero_relu[0]["confirmation"]
    assert confirmation["status"] == "confirmed", confirmation
    assert "no `resource` module" in confirmation["evidence"]["memory_limit"]


@pytest.mark.timeout(300)
def test_confirm_with_resource_module_applies_the_limit_without_a_note(tmp_path: Path) -> None:
    proc = _confirm(tmp_path, dict(os.environ))
    assert proc.returncode == 1, proc.stderr
    (zero_relu,) = [f for f in json.loads(proc.stdout) if f["code"] == "IL102"]
    assert zero_relu["confirmation"]["status"] == "confirmed"
    assert "memory_limit" not in zero_relu["confirmation"]["evidence"]
