"""A model class whose constructor takes arguments, built with literal values in another project file:
the class's own file is analysed with those values, as if it had built the model itself
(initlint/facts/callsites.py), and only there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Run, write

NET = '''import torch.nn as nn


class Net(nn.Module):
    def __init__(self, d_in, d_hidden, n_layers, use_bn):
        super().__init__()
        layers = [nn.Linear(d_in, d_hidden), nn.Sigmoid()]
        for _ in range(n_layers):
            layers += [nn.Linear(d_hidden, d_hidden)]
            if use_bn:
                layers.append(nn.BatchNorm1d(d_hidden))
            layers.append(nn.Sigmoid())
        layers.append(nn.Linear(d_hidden, 10))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
'''
# Where the 10-layer, 9-sigmoid stack starts: the first Linear (IL402) and the first Sigmoid (IL302).
NET_FINDINGS = [("IL302", 7, 46), ("IL402", 7, 19)]

TRAIN = '''import torch
{import_line}

model = {call}
opt = torch.optim.SGD(model.parameters(), lr=0.1)
'''

# The stack's depth and activation come from the arguments; its width has a default.
MLP = '''import torch.nn as nn


class MLP(nn.Module):
    def __init__(self, depth, act, width=64, dropout=0.0):
        super().__init__()
        act_layer = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}[act]
        layers = [nn.Linear(32, width), act_layer(), nn.Dropout(dropout)]
        for _ in range(depth):
            layers += [nn.Linear(width, width), act_layer()]
        layers.append(nn.Linear(width, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)
'''
MLP_FINDINGS = [("IL302", 8, 41), ("IL402", 8, 19)]


def _found(initlint: Run, *args: str) -> list[tuple[str, str, int, int]]:
    proc = initlint("--format", "json", *args, ".")
    assert proc.returncode in (0, 1), proc.stderr
    return sorted((d["path"], d["code"], d["line"], d["column"]) for d in json.loads(proc.stdout))


def _at(path: str, found: list[tuple[str, int, int]]) -> list[tuple[str, str, int, int]]:
    return sorted((path, code, line, column) for code, line, column in found)


@pytest.mark.parametrize(("layout", "model_path", "train_path", "import_line", "call"), [
    ("flat", "model.py", "train.py", "from model import Net", "Net(784, 128, 8, False)"),
    ("module", "model.py", "train.py", "import model as models", "models.Net(784, 128, n_layers=8, use_bn=False)"),
    ("package", "pkg/model.py", "train.py", "from pkg.model import Net", "Net(d_in=784, d_hidden=HIDDEN, n_layers=8, use_bn=False)"),
    ("relative", "pkg/model.py", "pkg/train.py", "from .model import Net", "Net(784, 128, 8, False)"),
])
def test_literal_arguments_in_another_file_are_used_at_the_class(
    initlint: Run, tmp_path: Path, layout: str, model_path: str, train_path: str, import_line: str, call: str
) -> None:
    if "/" in model_path:
        write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, model_path, NET)
    write(tmp_path, train_path, TRAIN.format(import_line=import_line + "\n\nHIDDEN = 128", call=call))
    # Reported once, at model.py's lines, as if model.py built it; nothing in train.py.
    assert _found(initlint, "--no-cache") == _at(model_path, NET_FINDINGS)


def test_a_flag_argument_that_adds_normalization_silences_the_default_configuration(initlint: Run, tmp_path: Path) -> None:
    defaulted = NET.replace("d_in, d_hidden, n_layers, use_bn", "d_in=784, d_hidden=128, n_layers=8, use_bn=False")
    write(tmp_path, "model.py", defaulted)
    assert _found(initlint, "--no-cache") == _at("model.py", NET_FINDINGS)  # alone: its defaults
    write(tmp_path, "train.py", TRAIN.format(import_line="from model import Net", call="Net(use_bn=True)"))
    assert _found(initlint, "--no-cache") == []


def test_a_dict_lookup_and_a_module_constant_select_the_activation(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "mlp.py", MLP)
    write(tmp_path, "train.py", TRAIN.format(import_line="from mlp import MLP as Model\n\nACT = 'sigmoid'",
                                              call="Model(depth=5, act=ACT)"))
    assert _found(initlint, "--no-cache") == _at("mlp.py", MLP_FINDINGS)


@pytest.mark.parametrize("call", [
    "Net(args.d_in, args.hidden, args.depth, args.bn)",  # argparse: unknown, as today
    "Net(784, 128, DEPTH, False)",  # DEPTH is bound twice: not a constant
    "Net(*SIZES)",
])
def test_arguments_that_are_not_literals_stay_unknown(initlint: Run, tmp_path: Path, call: str) -> None:
    write(tmp_path, "model.py", NET)
    write(tmp_path, "train.py", TRAIN.format(
        import_line="import argparse\nfrom model import Net\n\nDEPTH = 8\nDEPTH = 2\nSIZES = (784, 128, 8, False)\n"
                    "args = argparse.ArgumentParser().parse_args()",
        call=call))
    assert _found(initlint, "--no-cache") == []


def test_call_sites_that_disagree_give_only_what_they_agree_on(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "mlp.py", MLP)
    write(tmp_path, "train.py", TRAIN.format(import_line="from mlp import MLP", call='MLP(5, "sigmoid", dropout=0.1)'))
    write(tmp_path, "evaluate.py", TRAIN.format(import_line="from mlp import MLP", call='MLP(depth=5, act="sigmoid", width=32)'))
    # Tests build models small on purpose: not call sites.
    write(tmp_path, "tests/test_mlp.py", TRAIN.format(import_line="from mlp import MLP", call='MLP(1, "relu")'))
    write(tmp_path, "test_tiny.py", TRAIN.format(import_line="from mlp import MLP", call='MLP(1, "relu")'))
    # Depth and activation agree; the dropout and the width differ and keep their defaults.
    assert _found(initlint, "--no-cache") == _at("mlp.py", MLP_FINDINGS)
    # A third site with another activation: the activation is unknown, and nothing is claimed.
    write(tmp_path, "tune.py", TRAIN.format(import_line="from mlp import MLP", call='MLP(5, "relu")'))
    assert _found(initlint, "--no-cache") == []


def test_a_warm_run_sees_edited_and_new_call_sites(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "model.py", NET)
    train = write(tmp_path, "train.py", TRAIN.format(import_line="from model import Net", call="Net(784, 128, 8, False)"))
    expected = _at("model.py", NET_FINDINGS)
    steps = [
        ("cold", None, expected),
        ("warm", None, expected),
        ("batch norm", "Net(784, 128, 8, True)", []),
        ("back", "Net(784, 128, 8, False)", expected),
        ("no call here", "None", []),
    ]
    for step, call, want in steps:
        if call is not None:
            train.write_text(TRAIN.format(import_line="from model import Net", call=call), encoding="utf-8")
        assert _found(initlint) == want, step
        assert _found(initlint) == want, f"{step}, warm"
    # A new file that builds the model: model.py's cached record is analysed again.
    write(tmp_path, "run.py", "from model import Net as Model\n\nnet = Model(784, 128, 8, False)\n")
    assert _found(initlint) == expected == _found(initlint, "--no-cache")
    assert _found(initlint) == expected


def test_callers_that_do_not_parse_or_decode_are_skipped(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "model.py", NET)
    write(tmp_path, "broken.py", "import torch\nfrom model import Net\n\nmodel = Net(784, 128, 8, True\n")
    (tmp_path / "latin.py").write_bytes(b"from model import Net\n# caf\xe9\nnet = Net(784, 128, 8, True)\n")
    write(tmp_path, "train.py", TRAIN.format(import_line="from model import Net", call="Net(784, 128, 8, False)"))
    # Their own IL001 / IL002; their calls (with batch norm) say nothing, train.py's call counts.
    assert _found(initlint, "--no-cache") == sorted(
        [("broken.py", "IL001", 4, 12), ("latin.py", "IL002", 2, 6), *_at("model.py", NET_FINDINGS)])


def test_stdin_is_checked_with_the_call_sites_on_disk(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/model.py", NET)
    write(tmp_path, "train.py", TRAIN.format(import_line="from pkg.model import Net", call="Net(784, 128, 8, False)"))
    proc = initlint("--format", "json", "-", "--stdin-filename", "pkg/model.py", stdin=NET.encode())
    assert sorted((d["path"], d["code"], d["line"], d["column"]) for d in json.loads(proc.stdout)) == _at("pkg/model.py", NET_FINDINGS)


INIT_MLP = '''import torch


class MLP(torch.nn.Module):
    def __init__(self, d_in, d_hidden):
        super().__init__()
        self.fc1 = torch.nn.Linear(d_in, d_hidden)
        self.fc2 = torch.nn.Linear(d_hidden, 1, bias=False)
        self.activation = torch.nn.Sigmoid()

    def init_zeros(self):
        torch.nn.init.zeros_(self.fc1.weight)
        torch.nn.init.zeros_(self.fc1.bias)
        torch.nn.init.zeros_(self.fc2.weight)

    def init_gaussian(self, seed):
        torch.manual_seed(seed)
        torch.nn.init.normal_(self.fc1.weight, std=0.1)

    def forward(self, x):
        return self.fc2(self.activation(self.fc1(x)))
'''

DRIVER = '''import argparse
from mlp import MLP

if __name__ == "__main__":
    args = argparse.ArgumentParser().parse_args()
    eta = MLP(1, args.width)
    {method}
'''


def test_an_init_method_another_file_runs_after_building_the_class_is_replayed_there(initlint: Run, tmp_path: Path) -> None:
    # mlp.py never calls init_zeros; the driver builds an MLP and calls it: every hidden unit of fc1 is
    # zero, weight and bias, and fc2's weights on them too, so they never part. Reported in mlp.py,
    # at the zeros_ of the method, and found again when the driver changes (a warm run).
    write(tmp_path, "mlp.py", INIT_MLP)
    driver = write(tmp_path, "driver.py", DRIVER.format(method="eta.init_zeros()"))
    assert _found(initlint, "--no-cache") == [("mlp.py", "IL201", 12, 9)]
    assert _found(initlint) == [("mlp.py", "IL201", 12, 9)]
    driver.write_text(DRIVER.format(method="eta.init_gaussian(0)"), encoding="utf-8")
    assert _found(initlint) == [] == _found(initlint, "--no-cache")


@pytest.mark.parametrize("method", [
    "print(eta)",  # no method run on it
    "eta = MLP(1, 8)\n    eta.init_gaussian(1)",  # the name holds another instance when the method runs
    "pass\nother = MLP(1, 8)\nother.init_gaussian(2)\neta.init_zeros()",  # out of the block that built it
    "eta, n = object(), 3\n    eta.init_zeros()",  # rebound by unpacking
    "for eta in [object()]:\n        pass\n    eta.init_zeros()",  # rebound by a loop
    "with open('f') as eta:\n        pass\n    eta.init_zeros()",  # rebound by `with`
    "def fresh(eta):\n        eta.init_zeros()",  # another scope's name
])
def test_methods_not_run_on_the_instance_a_call_site_built_are_not_replayed(initlint: Run, tmp_path: Path, method: str) -> None:
    write(tmp_path, "mlp.py", INIT_MLP)
    write(tmp_path, "driver.py", DRIVER.format(method=method))
    assert _found(initlint, "--no-cache") == []
