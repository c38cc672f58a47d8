"""`initlint --confirm` on a loss that receives one element of a model's tuple output: the
loss-pairing probe follows the element the script passes to the loss, and says `unverified`
when the script does not show which one it is, never `refuted`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

AUTOENCODER = """\
import torch
import torch.nn as nn


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))
        self.decoder = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 16), nn.Sigmoid())

    def forward(self, x):
        encoded = self.encoder(x)
        decoded = self.decoder(encoded)
        return encoded, decoded


model = AutoEncoder()
loss_func = nn.MSELoss()
x = torch.rand(4, 16)
{call}
loss = loss_func({pred}, x)
"""
# How the script takes the decoder's output (element 1), and the verdict on the IL301 finding.
CASES = {
    "unpacked.py": ("encoded, decoded = model(x)", "decoded", "confirmed"),
    "indexed.py": ("decoded = model(x)[1]", "decoded", "confirmed"),
    "indexed_inline.py": ("pass", "model(x)[1]", "confirmed"),
    # `out[1]` of a name is not followed: the output the sigmoid reaches stands for it.
    "unknown.py": ("out = model(x)", "out[1]", "confirmed"),
}


def test_loss_pairing_follows_the_tuple_element_the_loss_receives(tmp_path: Path) -> None:
    for name, (call, pred, _) in CASES.items():
        (tmp_path / name).write_text(AUTOENCODER.format(call=call, pred=pred))
    proc = subprocess.run([sys.executable, "-m", "initlint", "--no-cache", "--confirm", "--format", "json",
                           *CASES], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    found = {f["path"]: f["confirmation"] for f in json.loads(proc.stdout) if f["code"] == "IL301"}
    assert set(found) == set(CASES), proc.stdout
    for name, (_, _, want) in CASES.items():
        assert found[name]["status"] == want, (name, found[name])
    assert found["unknown.py"]["evidence"]["output_reached"].startswith("output 1 of 2")


def test_an_activation_that_reaches_none_of_several_outputs_is_not_refuted() -> None:
    from initlint.confirm.checks import loss_pairing

    verdict = loss_pairing({"activation": "sigmoid", "outputs": 2, "lines": [9, 9]}, None)
    assert verdict.status == "unverified"
    assert "which one the loss receives" in verdict.detail


@pytest.mark.parametrize(("classes", "ratio", "status"), [(2, 0.526, "confirmed"), (2, 0.9, "refuted"),
                                                          (5, 0.526, "refuted"), (5, 0.2, "confirmed")])
def test_a_two_class_softmax_before_cross_entropy_halves_the_gradient_by_itself(classes: int, ratio: float, status: str) -> None:
    # IL304: with two classes the softmax's own Jacobian gives ~0.5 at init, so 0.5 cannot be the line there.
    from initlint.confirm.checks import loss_pairing

    m = {"activation": "softmax", "on_path": True, "lines": [9, 9], "layer": "fc1.weight", "ratio": ratio,
         "grad_with": ratio, "grad_without": 1.0, "loss_floor": 0.313, "classes": classes}
    assert loss_pairing(m, None).status == status


@pytest.mark.parametrize(("source", "expected"), [
    ("loss = loss_fn(y, model(x))", True),
    ("probs = self.model(x, training=True)\nloss = loss_fn(y, probs)", True),
    ("probs = tf.reshape(model(x), [-1, 5])\nloss = loss_fn(y, probs)", False),
    ("loss = loss_fn(y_true=y, y_pred=tf.squeeze(model(x)))", False),
    ("model.compile(loss=loss_fn)", None),
])
def test_whether_a_keras_loss_receives_the_model_s_own_output(source: str, expected: object) -> None:
    # Keras on TensorFlow takes the logits back only from the model's own output tensor.
    import ast

    from initlint.confirm.slices import keras_loss_takes_model_output

    tree = ast.parse(source)
    assert keras_loss_takes_model_output(tree, len(source.splitlines())) is expected


def test_a_recovered_keras_loss_behind_an_op_is_not_refuted() -> None:
    from initlint.confirm.checks import loss_pairing

    m = {"activation": "softmax", "on_path": True, "lines": [9, 9], "layer": "dense/kernel", "ratio": 1.0,
         "grad_with": 1.0, "grad_without": 1.0, "loss_floor": 0.9, "classes": 5, "recovered": True}
    assert loss_pairing(dict(m, model_output=True), None).status == "refuted"
    assert loss_pairing(dict(m, model_output=False), None).status == "unverified"
