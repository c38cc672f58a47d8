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


# Grayscale after ToTensor only mixes the channels: the images stay in [0, 1], not normalized.
GRAYSCALE_PIPELINE = """\
from torch import nn
from torchvision import datasets, transforms

pipeline = transforms.Compose([
    transforms.ToTensor(),  # scales the pixels to [0, 1]
    transforms.Grayscale(1),
])
train = datasets.ImageFolder("train", transform=pipeline)
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


def train_step(images, labels):
    return nn.CrossEntropyLoss()(model(images), labels)
"""


def test_grayscale_after_totensor_is_not_a_normalization_and_messages_quote_no_comment(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(GRAYSCALE_PIPELINE)
    (finding,) = run("train.py", cwd=tmp_path)
    assert (finding["code"], finding["line"]) == ("IL403", 4)
    assert "`transforms.Compose([ transforms.ToTensor(), trans…`" in finding["message"]
    assert "scales the pixels" not in finding["message"]


def test_a_stack_longer_than_the_remembered_chain_is_counted_as_at_least(tmp_path: Path) -> None:
    (tmp_path / "deep.py").write_text(
        "import torch\nfrom torch import nn\n\n"
        "net = nn.Sequential(*[nn.Linear(64, 64) for _ in range(100)])\n"
        "shallow = nn.Sequential(*[nn.Linear(64, 64) for _ in range(20)])\n"
    )
    messages = {f["line"]: f["message"] for f in run("deep.py", cwd=tmp_path)}
    assert messages[4].startswith("at least 64 weight layers run in sequence"), messages
    assert messages[5].startswith("20 weight layers run in sequence"), messages
