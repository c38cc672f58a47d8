"""`initlint --confirm` end to end: the real CLI in a subprocess on files of the labelled corpus."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

from initlint.config import ConfirmSettings, Settings
from initlint.confirm import confirm_diagnostics
from initlint.confirm.plot import write_plots
from initlint.diagnostics import Diagnostic, Severity, Span
from tests.corpus import CORPUS, load_cases

FILES = ["il101_pos_answer_match.py", "il102_pos_zero_table_relu6.py", "il103_pos_softmax_module.py",
         "il201_refuted_constant_conv_random_head.py", "il101_neg_one_zero_factor.py"]


def initlint(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "initlint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_confirm_flag_adds_verdicts_to_json(tmp_path: Path) -> None:
    for name in FILES:
        shutil.copy(CORPUS / name, tmp_path / name)
    labels = {c["path"]: c["confirm"] for c in load_cases()}
    static = initlint("--format", "json", *FILES, cwd=tmp_path)
    assert all("confirmation" not in f for f in json.loads(static.stdout))
    proc = initlint("--confirm", "--format", "json", *FILES, cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    findings = json.loads(proc.stdout)
    checked = [f for f in findings if f["code"] in {"IL101", "IL102", "IL103", "IL201"}]
    assert {f["path"] for f in checked} == set(FILES) - {"il101_neg_one_zero_factor.py"}
    for f in checked:
        want = labels[f["path"]]
        assert f["confirmation"]["status"] == want, f
        if want == "confirmed":
            evidence = f["confirmation"]["evidence"]
            assert evidence.get("pass1_grad_norm") or evidence.get("units"), evidence
    assert not any(f["path"] == "il101_neg_one_zero_factor.py" for f in findings)


def test_plot_writes_a_bar_chart_for_confirmed_scale_findings(tmp_path: Path) -> None:
    name = "il401_pos_uniform_weights.py"
    shutil.copy(CORPUS / name, tmp_path / name)
    d = Diagnostic(str(tmp_path / name), Span(13, 13, 13, 41), "IL401", "unscaled-init", Severity.WARNING, "x")
    (done,) = confirm_diagnostics([d], Settings(confirm=ConfirmSettings(enabled=True)), str(tmp_path))
    assert done.confirmation is not None and done.confirmation.status == "confirmed"
    written = write_plots([done], str(tmp_path / "plots"))
    assert [Path(p).name for p in written] == [f"{str(tmp_path / name).strip('/').replace('/', '_')}_13_IL401.png"]
    assert Path(written[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _confirm_one(tmp_path: Path, name: str, source: str) -> dict[str, Any]:
    """The one finding of `initlint --confirm` on a file holding `source` (it fails the run)."""
    (tmp_path / name).write_text(source)
    proc = initlint("--confirm", "--format", "json", name, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    assert len(findings) == 1, findings
    return findings[0]


# d2l's library files: the model's base class is reached through the module itself
# (`d2l = sys.modules[__name__]`), and its layers are lazy, with no weights until a first batch.
D2L_LENET = """\
import sys

from torch import nn

d2l = sys.modules[__name__]


class Classifier(nn.Module):
    pass  # the base class of classification models


class LeNet(d2l.Classifier):
    def __init__(self, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5, padding=2), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.LazyLinear(120), nn.Sigmoid(),
            nn.LazyLinear(84), nn.Sigmoid(),
            nn.LazyLinear(num_classes))

    def forward(self, X):
        return self.net(X)
"""


def test_lazy_layers_behind_a_module_self_alias_are_built_and_measured(tmp_path: Path) -> None:
    finding = _confirm_one(tmp_path, "lenet.py", D2L_LENET)
    assert (finding["code"], finding["line"]) == ("IL302", 16), finding
    assert finding["confirmation"]["status"] == "confirmed", finding["confirmation"]
    assert "over 4 layers" in finding["confirmation"]["detail"]


# N(0, 1) weights on 784 inputs: the first layer takes the RMS from 1 to ~28, the second stays
# within 10x of that. Measured from the first layer's output only, this was refuted.
FIRST_LAYER_GROWTH = """\
import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 30)
        self.fc2 = nn.Linear(30, 10)
        for layer in (self.fc1, self.fc2):
            nn.init.normal_(layer.weight, std=1.0)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""


def test_a_first_layer_that_grows_the_input_beyond_the_ratio_is_confirmed(tmp_path: Path) -> None:
    finding = _confirm_one(tmp_path, "mlp.py", FIRST_LAYER_GROWTH)
    assert (finding["code"], finding["line"]) == ("IL401", 11), finding
    confirmation = finding["confirmation"]
    assert confirmation["status"] == "confirmed", confirmation
    assert confirmation["evidence"]["ratio_last_first"] < 10 < confirmation["evidence"]["output_rms"][0], confirmation


# One float64 layer of uniform(3, 5) weights (fan-in 30) before two default ones: the model builds
# (measured in float32), and one layer's growth over two probe samples is no ground for a refutation.
ONE_GROWING_LAYER = """\
import numpy as np
import torch
from torch import nn

net1 = nn.Sequential(
    nn.Linear(30, 40),
    nn.ReLU(),
    nn.Linear(40, 50),
    nn.ReLU(),
    nn.Linear(50, 10)
)

w1 = net1[0].weight
b1 = net1[0].bias


net1[0].weight.data = torch.from_numpy(np.random.uniform(3, 5, size=(40, 30)))
"""


def test_one_growing_first_layer_is_never_refuted(tmp_path: Path) -> None:
    finding = _confirm_one(tmp_path, "net.py", ONE_GROWING_LAYER)
    assert (finding["code"], finding["line"]) == ("IL401", 17), finding
    assert finding["confirmation"]["status"] == "unverified", finding["confirmation"]
    assert "its first layer alone scales what it reads by" in finding["confirmation"]["detail"]


# One weight layer: nothing to compare its output with but the model's input.
ONE_LAYER = """\
from torch import nn


class SoftmaxRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)
        nn.init.normal_(self.fc.weight, std=1.0)

    def forward(self, x):
        return self.fc(x)
"""


def test_a_single_unscaled_layer_is_confirmed_by_its_own_gain(tmp_path: Path) -> None:
    finding = _confirm_one(tmp_path, "one.py", ONE_LAYER)
    assert (finding["code"], finding["line"]) == ("IL401", 8), finding
    confirmation = finding["confirmation"]
    assert confirmation["status"] == "confirmed", confirmation
    assert confirmation["evidence"]["first_layer_gain"] > 10, confirmation


# A middle layer of N(0, 1) weights on 1024 inputs: first-to-last stays within 10x (fc3 is default),
# but the flagged layer itself multiplies what it reads ~30x (its own output, without its bias).
MIDDLE_LAYER = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 1024)
        self.fc2 = nn.Linear(1024, 1024)
        self.fc3 = nn.Linear(1024, 10)
        nn.init.normal_(self.fc2.weight, mean=0.0, std=1.0)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)
"""


def test_a_flagged_middle_layer_is_judged_by_its_own_gain(tmp_path: Path) -> None:
    finding = _confirm_one(tmp_path, "mid.py", MIDDLE_LAYER)
    assert (finding["code"], finding["line"]) == ("IL401", 11), finding
    confirmation = finding["confirmation"]
    assert confirmation["status"] == "confirmed", confirmation
    assert confirmation["evidence"]["ratio_last_first"] < 10 < confirmation["evidence"]["layer_gain"]["fc2.weight"]


# A constant layer left over from an experiment: forward never uses it, so it gets no gradient and
# its rows stay equal, which says nothing about training.
UNUSED_CONSTANT_LAYER = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.old_fc = nn.Linear(64, 64)
        nn.init.constant_(self.old_fc.weight, 0.1)
        self.fc2 = nn.Linear(64, 5)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""


def test_a_constant_layer_the_forward_pass_never_uses_is_not_confirmed(tmp_path: Path) -> None:
    finding = _confirm_one(tmp_path, "leftover.py", UNUSED_CONSTANT_LAYER)
    assert (finding["code"], finding["confirmation"]["status"]) == ("IL201", "unverified"), finding
    assert "does not use old_fc.weight" in finding["confirmation"]["detail"]


# The script's main block sets the sizes: `in_features` is read as a global by the class, `hidden`
# is passed to it; `.cuda()` stays on the CPU where the measurement runs.
MAIN_BLOCK_CONSTANTS = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, 1)
        nn.init.zeros_(self.fc1.weight)
        nn.init.zeros_(self.fc1.bias)

    def forward(self, x):
        noise = torch.randn(x.shape[0], in_features).cuda()
        return self.fc2(torch.relu(self.fc1(x + 0.01 * noise)))


if __name__ == "__main__":
    in_features = 20
    hidden = 32
    net = Net(hidden).cuda()
    print(net(torch.randn(4, in_features).cuda()))
"""


def test_constants_set_in_the_main_block_build_the_class(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(MAIN_BLOCK_CONSTANTS)
    proc = initlint("--confirm", "--format", "json", "net.py", cwd=tmp_path)
    verdicts = {f["code"]: f["confirmation"] for f in json.loads(proc.stdout)}
    assert {code: c["status"] for code, c in verdicts.items()} == {"IL201": "confirmed", "IL102": "confirmed"}, verdicts
    assert "(32 rows)" in verdicts["IL201"]["detail"]  # Net(hidden) with the script's hidden = 32, not a guess


# A script that builds `net` twice: the loss on line 7 is computed on the first one, whose
# sigmoid reaches BCELoss; the second `net` has no sigmoid, and judging it would refute.
REBOUND_SCRIPT = """\
import torch
from torch import nn

x, y = torch.randn(4, 8), torch.rand(4, 1)
net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
net = net.to("cpu")
loss = nn.BCELoss()(net(x), y)
net = nn.Sequential(nn.Linear(8, 1))
loss2 = nn.MSELoss()(net(x), y)
"""




# The second `net` is the one the script re-initializes: its own recipe is replayed, not the first's.
REBUILT_THEN_INITIALIZED = """\
import torch
from torch import nn

net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
print(net(torch.randn(4, 784)).shape)

net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
for m in net.modules():
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0.0, 1.0)
"""


@pytest.mark.parametrize(("source", "code"), [(REBOUND_SCRIPT, "IL303"), (REBUILT_THEN_INITIALIZED, "IL401")])
def test_a_script_model_is_judged_on_the_binding_the_finding_sees(tmp_path: Path, source: str, code: str) -> None:
    (tmp_path / "script.py").write_text(source)
    proc = initlint("--confirm", "--format", "json", "script.py", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    [finding] = [f for f in json.loads(proc.stdout) if f["code"] == code]
    assert finding["confirmation"]["status"] == "confirmed", finding
