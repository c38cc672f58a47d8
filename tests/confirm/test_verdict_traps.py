"""Programs on which a confirmation verdict was once wrong, each a mechanism of its own: another
operation on the flagged line, outputs no loss takes, fused recurrent layers. Through the real CLI,
one run over all the programs, so one worker serves the module."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

pytest.importorskip("torch")

# The wide part's product on the same line as the dead interaction: the interaction is judged.
SAME_LINE_LINEAR = '''\
import torch
import torch.nn as nn


class FM(nn.Module):
    def __init__(self):
        super().__init__()
        self.user, self.item, self.linear = nn.Embedding(100, 8), nn.Embedding(50, 8), nn.Linear(4, 1)
        nn.init.zeros_(self.user.weight)
        nn.init.zeros_(self.item.weight)

    def forward(self, uid, iid, dense):
        u = self.user(uid)
        v = self.item(iid)
        return self.linear(dense).squeeze(-1) + (u * v).sum(-1)


if __name__ == "__main__":
    model = FM()
    loss = nn.BCEWithLogitsLoss()(model(torch.randint(0, 100, (8,)), torch.randint(0, 50, (8,)), torch.randn(8, 4)), torch.ones(8))
'''
SAME_LINE_RELUS = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.out = nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 1)
        nn.init.zeros_(self.b.weight)
        nn.init.zeros_(self.b.bias)

    def forward(self, x):
        h = F.relu(self.a(x)) + F.relu(self.b(x))
        return self.out(h)


if __name__ == "__main__":
    net = Net()
    print(net(torch.randn(2, 16)))
'''
# One ReLU line runs once per layer; the layer after the zero one learns through its bias alone.
RELU_LOOP = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self, depth=4):
        super().__init__()
        self.hidden = nn.ModuleList(nn.Linear(16, 16) for _ in range(depth))
        self.head = nn.Linear(16, 2)
        nn.init.zeros_(self.hidden[2].weight)
        nn.init.zeros_(self.hidden[2].bias)

    def forward(self, x):
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.head(x)


if __name__ == "__main__":
    net = MLP()
    print(net(torch.randn(2, 16)))
'''
# The model also returns its embeddings / features, which the script's loss never takes.
RETURNED_EMBEDDINGS = '''\
import torch
import torch.nn as nn


class TwoTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.u, self.v = nn.Embedding(100, 8), nn.Embedding(50, 8)
        nn.init.zeros_(self.u.weight)
        nn.init.zeros_(self.v.weight)

    def forward(self, uid, iid):
        u, v = self.u(uid), self.v(iid)
        return (u * v).sum(-1), u, v
'''
RETURNED_FEATURES = '''\
import torch
import torch.nn as nn


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(32, 64), nn.Linear(64, 64), nn.Linear(64, 4)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.constant_(m.weight, 0.05)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        feats = torch.tanh(self.fc2(torch.tanh(self.fc1(x))))
        return self.out(feats), feats
'''
LSTM_CONSTANT = '''\
import torch
import torch.nn as nn


class LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm, self.fc = nn.LSTM(8, 16, batch_first=True), nn.Linear(16, 20)
        for p in (self.lstm.weight_ih_l0, self.lstm.weight_hh_l0, self.fc.weight):
            nn.init.constant_(p, 0.02)

    def forward(self, x):
        return self.fc(self.lstm(x)[0])
'''
# Two constant layers before a random head: the second one's rows part, its columns (one per unit of
# the first) stay equal, so the first stays symmetric.
TWO_CONSTANT_LAYERS = '''\
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.head = nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 3)
        for fc in (self.fc1, self.fc2):
            nn.init.constant_(fc.weight, 0.05)
            nn.init.zeros_(fc.bias)

    def forward(self, x):
        return self.head(self.fc2(self.fc1(x).tanh()).tanh())
'''
# The first registered weight is a head the forward pass never uses: the trunk is measured.
AUX_HEAD_FIRST = '''\
import torch.nn as nn
import torch.nn.functional as F


class MultiTask(nn.Module):
    def __init__(self, d=48, n_cls=8):
        super().__init__()
        self.aux_head = nn.Linear(128, 1)
        self.trunk = nn.Sequential(nn.Linear(d, 128), nn.ReLU())
        self.cls = nn.Linear(128, n_cls)

    def forward(self, x):
        return F.softmax(self.cls(self.trunk(x)), dim=-1)


model = MultiTask()
loss = nn.CrossEntropyLoss()(model(x), y)
'''
# The loss is computed by a generic runner class of another file: the model is still what is built.
RUNNER = '''\
class Runner:
    def __init__(self, model, optimizer, loss_fn):
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn

    def train_step(self, x, y):
        loss = self.loss_fn(self.model(x), y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
'''
TRAINED_BY_RUNNER = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F
from runner import Runner


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(2, 8), nn.Linear(8, 1)

    def forward(self, x):
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(x))))


model = Net()
loss_fn = F.binary_cross_entropy
runner = Runner(model, torch.optim.SGD(model.parameters(), lr=0.1), loss_fn)
for x, y in loader:
    runner.train_step(x, y)
'''
# The loss's related activation is a lone `nn.Sigmoid()` bound on its own line: the Sequential it
# goes into is the model.
LONE_SIGMOID = '''\
import torch

linear = torch.nn.Linear(8, 1, bias=True)
sigmoid = torch.nn.Sigmoid()
model = torch.nn.Sequential(linear, sigmoid)
for x, y in loader:
    hypothesis = model(x)
    cost = -(y * torch.log(hypothesis) + (1 - y) * torch.log(1 - hypothesis)).mean()
    cost.backward()
'''
# The first returned value is an argmax (no gradient): the prediction is the first floating output.
ARGMAX_FIRST = '''\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)
        nn.init.constant_(self.fc1.weight, 0.1)

    def forward(self, x):
        h = torch.tanh(self.fc1(x))
        logits = self.fc2(h)
        return logits.argmax(-1), logits, h
'''
# Too small: std 0.001 Linear layers. Their default biases keep every layer's output RMS near
# 0.04, so first-to-last stays within 10x; each weight alone shrinks what it reads ~100x.
TOO_SMALL_WITH_BIASES = '''\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
for m in model:
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, std=0.001)
'''
# Each layer only 5x too small (0.19x gain): together they keep 0.04 of the signal.
TOO_SMALL_RUN = '''\
import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(256, 256), nn.Linear(256, 256), nn.Linear(256, 10)
        for m in (self.fc1, self.fc2):
            nn.init.normal_(m.weight, std=0.012)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))
'''
# Constant fc1 and out with zero biases: the units stay identical under any loss on the logits; the
# features the model also returns part them. Which output the loss takes decides the verdict.
_SYMMETRIC_TWO_OUTPUTS = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 16)
        self.out = nn.Linear(16, 3)
        for layer in (self.fc1, self.out):
            nn.init.constant_(layer.weight, 0.1)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        return {RETURN}
'''
_TRAINED_ON = '''

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(64, 20), torch.randint(0, 3, (64,))
for _ in range(50):
    {CALL}
    loss = F.cross_entropy({TAKES}, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
'''
# Features first, and nothing in the file says which output trains.
FEATURES_FIRST = _SYMMETRIC_TWO_OUTPUTS.replace("{RETURN}", "h, self.out(h)")
# The script trains on the logits alone, taken from a tuple or from a dict.
LOGITS_TRAINED = (_SYMMETRIC_TWO_OUTPUTS.replace("{RETURN}", "self.out(h), h")
                  + _TRAINED_ON.replace("{CALL}", "logits, _ = model(x)").replace("{TAKES}", "logits"))
DICT_LOGITS_TRAINED = (_SYMMETRIC_TWO_OUTPUTS.replace("{RETURN}", '{"h": h, "logits": self.out(h)}')
                       + _TRAINED_ON.replace("{CALL}", "out = model(x)").replace("{TAKES}", 'out["logits"]'))
# fc1's random biases part its outputs, so fc2's weights on fc1's units part in the first step: fc1's
# units, still identical after it, get different gradients at the next one.
FEEDS_PARTED = '''\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(10, 16), nn.Linear(16, 16), nn.Linear(16, 3)
        nn.init.constant_(self.fc1.weight, 0.1)
        nn.init.constant_(self.fc2.weight, 0.1)

    def forward(self, x):
        return self.out(torch.tanh(self.fc2(self.fc1(x))))
'''
# The same, with a side branch on the input used in between: the layer that reads fc1's units is fc2.
FEEDS_PARTED_SIDE = FEEDS_PARTED.replace(
    "nn.Linear(16, 3)\n", "nn.Linear(16, 3)\n        self.side = nn.Linear(10, 3)\n", 1).replace(
    "        return self.out(torch.tanh(self.fc2(self.fc1(x))))",
    "        a, s = self.fc1(x), self.side(x)\n        return self.out(torch.tanh(self.fc2(a))) + s")
# A dead product the script's loss never takes (it trains on the head's logits alone): the linear
# head on the same line learns, which says nothing of the product.
UNTRAINED_PRODUCT = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F


class TwoTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.u, self.v = nn.Embedding(10, 8), nn.Embedding(10, 8)
        self.head = nn.Linear(4, 3)
        nn.init.zeros_(self.u.weight)
        nn.init.zeros_(self.v.weight)

    def forward(self, uid, iid, x):
        return self.head(x), (self.u(uid) * self.v(iid)).sum(-1)


model = TwoTower()
for _ in range(5):
    logits, _ = model(torch.randint(0, 10, (4,)), torch.randint(0, 10, (4,)), torch.randn(4, 4))
    loss = F.cross_entropy(logits, torch.randint(0, 3, (4,)))
    loss.backward()
'''
# The same stack returning fc1's output too: through the logits alone fc1's units part at the second
# step, as through fc1's output; no output keeps them together.
FEEDS_PARTED_TWO_OUTPUTS = FEEDS_PARTED.replace(
    "        return self.out(torch.tanh(self.fc2(self.fc1(x))))",
    "        h = self.fc1(x)\n        return h, self.out(torch.tanh(self.fc2(h)))")
PROGRAMS = {
    "feeds_parted_two_outputs.py": FEEDS_PARTED_TWO_OUTPUTS,
    "untrained_product.py": UNTRAINED_PRODUCT,
    "feeds_parted.py": FEEDS_PARTED,
    "feeds_parted_side.py": FEEDS_PARTED_SIDE,
    "features_first.py": FEATURES_FIRST,
    "logits_trained.py": LOGITS_TRAINED,
    "dict_logits_trained.py": DICT_LOGITS_TRAINED,
    "too_small_with_biases.py": TOO_SMALL_WITH_BIASES,
    "too_small_run.py": TOO_SMALL_RUN,
    "argmax_first.py": ARGMAX_FIRST,
    "lone_sigmoid.py": LONE_SIGMOID,
    "runner.py": RUNNER,
    "trained_by_runner.py": TRAINED_BY_RUNNER,
    "aux_head_first.py": AUX_HEAD_FIRST,
    "same_line_linear.py": SAME_LINE_LINEAR,
    "same_line_relus.py": SAME_LINE_RELUS,
    "relu_loop.py": RELU_LOOP,
    "returned_embeddings.py": RETURNED_EMBEDDINGS,
    "returned_features.py": RETURNED_FEATURES,
    "lstm_constant.py": LSTM_CONSTANT,
    "two_constant_layers.py": TWO_CONSTANT_LAYERS,
}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, int], dict[str, Any]]:
    root = tmp_path_factory.mktemp("traps")
    for name, text in PROGRAMS.items():
        (root / name).write_text(text)
    proc = subprocess.run([sys.executable, "-m", "initlint", "--no-cache", "--confirm", "--format", "json", *PROGRAMS],
                          cwd=root, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr
    return {(f["path"], f["code"], f["line"]): f["confirmation"] for f in json.loads(proc.stdout)}


def got(verdicts: dict[tuple[str, str, int], dict[str, Any]], *key: Any) -> dict[str, Any]:
    assert key in verdicts, sorted(verdicts)
    return verdicts[key]


def test_another_operation_on_the_flagged_line_does_not_refute(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    linear = got(verdicts, "same_line_linear.py", "IL101", 15)
    assert linear["status"] == "confirmed" and "linear" not in linear["detail"], linear
    relus = got(verdicts, "same_line_relus.py", "IL102", 14)
    assert relus["status"] == "confirmed" and "b.weight" in relus["detail"], relus


def test_a_relu_line_in_a_loop_is_judged_per_layer(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    assert got(verdicts, "relu_loop.py", "IL102", 16)["status"] == "confirmed"


def test_outputs_no_loss_may_take_do_not_settle_the_verdict(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    zero = got(verdicts, "returned_embeddings.py", "IL101", 14)
    assert zero["status"] == "unverified" and "other outputs it returns" in zero["detail"], zero
    symmetric = got(verdicts, "returned_features.py", "IL201", 11)
    assert symmetric["status"] == "unverified" and "first output alone" in symmetric["detail"], symmetric


def test_a_recurrent_layer_s_constant_init_is_not_judged_on_the_head(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    lstm = got(verdicts, "lstm_constant.py", "IL201", 10)
    assert lstm["status"] == "unverified" and "recurrent layer" in lstm["detail"], lstm


def test_a_layer_still_symmetric_beside_one_that_parts_is_unverified(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    first = got(verdicts, "two_constant_layers.py", "IL201", 9)
    assert first["status"] == "unverified" and "still identical" in first["detail"], first


def test_an_unused_first_weight_does_not_stand_for_the_model(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    found = [v for (path, code, _), v in verdicts.items() if path == "aux_head_first.py" and code == "IL304"]
    assert [v["status"] for v in found] == ["confirmed"], found
    assert found[0]["evidence"]["layer"] == "trunk.0.weight", found[0]["evidence"]


def test_a_loss_in_another_file_s_runner_confirms_on_the_model(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    # Reported where the script chooses the loss (`loss_fn = ...`), built at the activation.
    found = got(verdicts, "trained_by_runner.py", "IL303", 17)
    assert found["status"] == "confirmed", found


def test_a_lone_activation_is_built_with_the_sequential_it_goes_into(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    found = got(verdicts, "lone_sigmoid.py", "IL303", 8)
    assert found["status"] == "confirmed", found


def test_an_argmax_returned_first_is_not_the_prediction(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    # fc1's random biases part its units through the logits, whatever else the model returns.
    assert got(verdicts, "argmax_first.py", "IL201", 10)["status"] == "refuted"


def test_too_small_weights_are_judged_by_their_own_gain_not_their_biases(
    verdicts: dict[tuple[str, str, int], dict[str, Any]]
) -> None:
    found = got(verdicts, "too_small_with_biases.py", "IL401", 7)
    assert found["status"] == "confirmed" and "below 1/10" in found["detail"], found


def test_a_run_of_too_small_layers_is_judged_by_their_gains_together(
    verdicts: dict[tuple[str, str, int], dict[str, Any]]
) -> None:
    found = got(verdicts, "too_small_run.py", "IL401", 10)
    assert found["status"] == "confirmed" and "together" in found["detail"], found


def test_a_model_returning_features_first_is_not_judged_on_them(
    verdicts: dict[tuple[str, str, int], dict[str, Any]]
) -> None:
    # Through the logits alone fc1 stays symmetric; only the features part it. Nothing says which trains.
    found = got(verdicts, "features_first.py", "IL201", 12)
    assert found["status"] == "unverified" and "second output alone" in found["detail"], found


@pytest.mark.parametrize("path", ["logits_trained.py", "dict_logits_trained.py"])
def test_the_output_the_script_s_loss_takes_decides(verdicts: dict[tuple[str, str, int], dict[str, Any]], path: str) -> None:
    found = got(verdicts, path, "IL201", 12)
    assert found["status"] == "confirmed" and "which the script's loss takes (line 25)" in found["detail"], found


def test_units_still_identical_whose_next_layer_parted_are_judged_a_step_later(
    verdicts: dict[tuple[str, str, int], dict[str, Any]]
) -> None:
    for path, line in (("feeds_parted.py", 9), ("feeds_parted_side.py", 10)):
        found = got(verdicts, path, "IL201", line)
        assert found["status"] == "refuted" and "after two SGD steps the rows of fc1.weight differ" in found["detail"], found
    # Each output alone gets the second step too, so none of them is left "still identical".
    assert got(verdicts, "feeds_parted_two_outputs.py", "IL201", 9)["status"] == "refuted"


def test_an_operation_the_script_s_loss_does_not_reach_is_unverified(
    verdicts: dict[tuple[str, str, int], dict[str, Any]]
) -> None:
    found = got(verdicts, "untrained_product.py", "IL101", 15)
    assert found["status"] == "unverified" and "which the script's loss takes (line 21)" in found["detail"], found
