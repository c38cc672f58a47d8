"""IL403 under `--confirm`: the script's own literal data replayed through ten steps of its own
optimizer, raw against standardized, in the real worker process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

from initlint.config import ConfirmSettings, Settings
from initlint.confirm import confirm_diagnostics
from initlint.diagnostics import Diagnostic, Related, Severity, Span
from tests.corpus import CORPUS

RAW = """\
import torch
from torch import nn

x = torch.arange(0, 100, dtype=torch.float32).unsqueeze(1)
y = 3.0 * x + 2.0
model = nn.Sequential(nn.Linear(1, 16), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
loss_fn = nn.MSELoss()
for epoch in range(50):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
"""

# The same data standardized before it reaches the model (the static rule does not flag it).
STANDARDIZED = RAW.replace(
    "y = 3.0 * x + 2.0\n",
    "y = 3.0 * x + 2.0\nx = (x - x.mean()) / x.std(); y = (y - y.mean()) / y.std()\n")

# Raw data, but Adam at its default learning rate: small steps whatever the data's scale.
ADAM = RAW.replace("torch.optim.SGD(model.parameters(), lr=0.01)", "torch.optim.Adam(model.parameters())")

# The data reaches fit through a tf.data pipeline, batched by a top-level constant.
TF_DATA = """\
import numpy as np
import tensorflow as tf

BATCH = 20
x = np.linspace(0, 4, 100, dtype=np.float32)
z = x + np.random.normal(0, 0.1, x.shape).astype(np.float32)
ds = tf.data.Dataset.from_tensor_slices((z, x))
ds = ds.shuffle(100).batch(BATCH)
model = tf.keras.Sequential([tf.keras.layers.Dense(32, input_shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(loss="mse", optimizer=tf.keras.optimizers.SGD(learning_rate=0.1))
model.fit(ds, epochs=20)
"""

DOWNLOADED = """\
import torch
from torch import nn
from torchvision import datasets, transforms

train = datasets.MNIST("data", train=True, download=True, transform=transforms.Compose([transforms.ToTensor()]))
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
for images, labels in torch.utils.data.DataLoader(train, batch_size=64):
    loss = nn.CrossEntropyLoss()(model(images), labels)
"""


def run(cwd: Path, *files: str) -> list[dict[str, Any]]:
    env = dict(os.environ, KERAS_BACKEND="torch")
    proc = subprocess.run([sys.executable, "-m", "initlint", "--no-cache", "--confirm", "--select", "IL403",
                           "--format", "json", *files], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    return findings


def test_raw_literal_data_is_confirmed_and_pipeline_data_stays_unverified(tmp_path: Path) -> None:
    (tmp_path / "raw.py").write_text(RAW)
    (tmp_path / "downloaded.py").write_text(DOWNLOADED)
    (tmp_path / "keras_linspace.py").write_text((CORPUS / "il403_pos_keras_linspace.py").read_text())
    (tmp_path / "tf_data.py").write_text(TF_DATA)
    found = {f["path"]: f for f in run(tmp_path, "raw.py", "downloaded.py", "keras_linspace.py", "tf_data.py")}
    assert set(found) == {"raw.py", "downloaded.py", "keras_linspace.py", "tf_data.py"}

    raw = found["raw.py"]["confirmation"]
    assert raw["status"] == "confirmed", raw
    assert not all(v == v and abs(v) != float("inf") for v in raw["evidence"]["raw_loss"])  # reaches inf or nan
    assert all(v < 1.0 for v in raw["evidence"]["standardized_loss"])
    assert "SGD(lr=0.01), batch 100 of 100 samples" in raw["detail"]

    downloaded = found["downloaded.py"]["confirmation"]
    assert downloaded["status"] == "unverified"
    assert "MNIST" in downloaded["detail"] and "only data the script builds from literals" in downloaded["detail"]

    keras = found["keras_linspace.py"]["confirmation"]  # tf.keras measured on Keras over torch
    assert keras["status"] == "confirmed", keras
    assert "SGD(lr=0.05), batch 20 of 200 samples" in keras["detail"]

    pipeline = found["tf_data.py"]["confirmation"]
    assert pipeline["status"] == "confirmed", pipeline
    assert "SGD(lr=0.1), batch 20 of 100 samples" in pipeline["detail"]


def _at_data(path: Path, text: str) -> Diagnostic:
    """An IL403 finding on the `x = ...` line, fed to the model on the loss line, as the rule reports it."""
    lines = text.splitlines()
    data = next(k for k, ln in enumerate(lines, 1) if ln.startswith("x = torch.arange"))
    fed = next(k for k, ln in enumerate(lines, 1) if "loss_fn(model(x), y)" in ln)
    return Diagnostic(str(path), Span(data, 1, data, 2), "IL403", "unnormalized-input", Severity.INFO, "finding",
                      related=(Related(str(path), Span(fed, 12, fed, 33), "the raw data is fed to the model here"),))


@pytest.mark.parametrize("text", [STANDARDIZED, ADAM], ids=["standardized", "adam"])
def test_data_that_trains_raw_is_refuted(tmp_path: Path, text: str) -> None:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(text))
    (done,) = confirm_diagnostics([_at_data(path, text)], Settings(confirm=ConfirmSettings(enabled=True)),
                                  str(tmp_path))
    assert done.confirmation is not None
    assert done.confirmation.status == "refuted", done.confirmation
    raw = done.confirmation.evidence["raw_loss"]
    assert all(abs(v) < float("inf") for v in raw) and raw[-1] <= raw[0]
    assert "does not grow" in done.confirmation.detail


def test_data_read_from_a_file_stays_unverified(tmp_path: Path) -> None:
    text = RAW.replace("x = torch.arange(0, 100, dtype=torch.float32).unsqueeze(1)",
                       "x = torch.arange(0, 100, dtype=torch.float32).unsqueeze(1)\nx = torch.load('x.pt')")
    path = tmp_path / "script.py"
    path.write_text(text)
    (done,) = confirm_diagnostics([_at_data(path, text)], Settings(confirm=ConfirmSettings(enabled=True)),
                                  str(tmp_path))
    assert done.confirmation is not None and done.confirmation.status == "unverified"
    assert "`x` comes from load, line 5" in done.confirmation.detail
