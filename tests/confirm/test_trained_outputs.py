"""Which outputs of a several-output model the script's loss takes (confirm/trained.py): answered
only when the file leaves no doubt, since the verdict then rests on those outputs alone."""

from __future__ import annotations

import ast
import textwrap
from typing import Optional

import pytest

from initlint.confirm.trained import Selector, trained_outputs

CASES = {
    # The loss takes the logits; the features are never read.
    "tuple": ("logits, _ = model(x)\nloss = F.cross_entropy(logits, y)\n", ([0], 2)),
    "subscript": ("loss = criterion(model(x)[0], y)\n", ([0], 1)),
    "dict": ('out = model(x)\nloss = loss_fn(out["logits"], y)\n', (["logits"], 2)),
    # A monitoring loss under no_grad does not train.
    "no_grad": ("logits, _ = model(x)\nloss = F.cross_entropy(logits, y)\nwith torch.no_grad():\n"
                "    _, feats = model(xv)\n    probe = F.mse_loss(feats, hv)\n", ([0], 2)),
    # An auxiliary loss on the second output: both are trained.
    "both": ("a, b = model(x)\nloss = F.cross_entropy(a, y) + 0.4 * F.cross_entropy(b, y)\n", ([0, 1], 2)),
    # Not known: a hand-written term, a loss object not named as one, nested unpacking, a rebound
    # name, a part handed to a helper, a debug read, the whole output.
    "hand_written_term": ("logits, feats = model(x)\nloss = F.cross_entropy(logits, y) + (feats - t).pow(2).mean()\n", None),
    "unnamed_loss_object": ("mse = nn.MSELoss()\nlogits, feats = model(x)\nloss = F.cross_entropy(logits, y) + mse(feats, t)\n", None),
    "nested": ("logits, (aux, _) = model(x)\nloss = F.cross_entropy(logits, y) + F.cross_entropy(aux, y)\n", None),
    "rebound": ("logits, feats = model(x)\nlogits = probe(feats)\nloss = F.cross_entropy(logits, y)\n", None),
    "helper": ("def objective(out, y):\n    logits, feats = out\n    return F.cross_entropy(logits, y) + F.mse_loss(feats, t)\n\n"
               "logits, _ = model(x0)\nprint(logits.shape)\nloss = objective(model(x), y)\n", None),
    "whole": ("loss = criterion(model(x), y)\n", None),
    "no_loss": ("logits, _ = model(x)\npred = logits.argmax(1)\n", None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_trained_outputs(name: str) -> None:
    source, expected = CASES[name]
    got: Optional[tuple[list[Selector], int]] = trained_outputs(ast.parse(textwrap.dedent(source)), "model")
    assert got == expected, (name, got)
