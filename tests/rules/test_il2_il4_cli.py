"""IL201/IL401/IL402/IL403 through the real CLI: thresholds from pyproject, locations (the corpus is in tests/test_corpus.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.corpus import Finding

SEVEN_LAYERS = """\
from torch import nn

net = nn.Sequential(
    nn.Linear(8, 32), nn.ReLU(),
    nn.Linear(32, 32), nn.ReLU(),
    nn.Linear(32, 32), nn.ReLU(),
    nn.Linear(32, 32), nn.ReLU(),
    nn.Linear(32, 32), nn.ReLU(),
    nn.Linear(32, 32), nn.ReLU(),
    nn.Linear(32, 1),
)
"""

KERAS_CONSTANT = """\
from tensorflow import keras

model = keras.Sequential([
    keras.layers.Dense(16, input_shape=(4,), kernel_initializer=keras.initializers.Constant(0.2)),
    keras.layers.Dense(3),
])
"""


def run(*args: str, cwd: Path) -> list[Finding]:
    proc = subprocess.run([sys.executable, "-m", "initlint", "--format", "json", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    findings: list[Finding] = json.loads(proc.stdout)
    return findings


def test_plain_stack_min_is_read_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(SEVEN_LAYERS)
    assert [(f["code"], f["line"]) for f in run("net.py", cwd=tmp_path)] == [("IL402", 4)]
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\nplain-stack-min = 8\n")
    assert run("net.py", cwd=tmp_path) == []


def test_keras_constant_kernel_points_at_the_keyword(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(KERAS_CONSTANT)
    (finding,) = run("model.py", cwd=tmp_path)
    assert (finding["code"], finding["line"], finding["column"]) == ("IL201", 4, 46)
    assert finding["severity"] == "warning"
    assert "0.2" in finding["message"]
