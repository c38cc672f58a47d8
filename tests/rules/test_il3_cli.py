"""IL301-IL304 through the real CLI: links across functions and files, fixes, thresholds (the corpus is in tests/test_corpus.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

from tests.cli.conftest import SIGMOID_SCORER
from tests.corpus import Finding

SIGMOID_MODEL = SIGMOID_SCORER

LOGIT_MODEL = SIGMOID_MODEL.replace("torch.sigmoid(self.body(x))", "self.body(x)")
SOFTMAX_MODEL = SIGMOID_MODEL.replace("torch.sigmoid(self.body(x)).squeeze(-1)", "torch.softmax(self.body(x), dim=-1)")
LOG_SOFTMAX_MODEL = SIGMOID_MODEL.replace("torch.sigmoid(self.body(x)).squeeze(-1)", "torch.log_softmax(self.body(x), dim=-1)")

TRAIN = """\
import torch
from torch import nn

{import_line}


def train(features, labels):
    model = Scorer(in_features=features.shape[1]).to("cpu")
    criterion = nn.{loss}()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(10):
        optimizer.zero_grad()
        loss = criterion(model(features), labels){comment}
        loss.backward()
        optimizer.step()
"""
LOSS_LINE = 13

SIGMOID_BCE = """\
import torch
from torch import nn


class ChurnClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x).squeeze(-1)


def fit(model, x, churned):
    criterion = nn.BCELoss()
    optimizer = torch.optim.Adam(model.parameters())
    for _ in range(20):
        optimizer.zero_grad()
        loss = criterion(model(x), churned)
        loss.backward()
        optimizer.step()
"""

FOUR_SIGMOIDS = """\
from torch import nn

net = nn.Sequential(
    nn.Linear(8, 32), nn.Sigmoid(),
    nn.Linear(32, 32), nn.Sigmoid(),
    nn.Linear(32, 32), nn.Sigmoid(),
    nn.Linear(32, 32), nn.Sigmoid(),
    nn.Linear(32, 1),
)
"""

TEN_TANH = """\
from torch import nn

layers = [nn.Linear(8, 32), nn.Tanh()]
for _ in range(9):
    layers += [nn.Linear(32, 32), nn.Tanh()]
net = nn.Sequential(*layers, nn.Linear(32, 1))
"""


def run(*args: str, cwd: Path) -> list[Finding]:
    proc = subprocess.run([sys.executable, "-m", "initlint", "--format", "json", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    findings: list[Finding] = json.loads(proc.stdout)
    return findings


def il3(findings: list[Finding]) -> list[tuple[str, str, int]]:
    return sorted((f["code"], f["path"], f["line"]) for f in findings if f["code"].startswith("IL3"))


def write_project(root: Path, model: str, loss: str, import_line: str = "from model import Scorer",
                  train_path: str = "train.py", model_path: str = "model.py", comment: str = "") -> None:
    for rel, text in ((model_path, model), (train_path, TRAIN.format(import_line=import_line, loss=loss, comment=comment))):
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


@pytest.mark.parametrize(
    ("model", "loss", "code"),
    [
        (SIGMOID_MODEL, "MSELoss", "IL301"),
        (SIGMOID_MODEL, "BCELoss", "IL303"),
        (SIGMOID_MODEL, "BCEWithLogitsLoss", "IL304"),
        (SOFTMAX_MODEL, "CrossEntropyLoss", "IL304"),
        (LOGIT_MODEL, "MSELoss", None),
        (LOGIT_MODEL, "BCEWithLogitsLoss", None),
        (LOG_SOFTMAX_MODEL, "CrossEntropyLoss", None),
        (LOG_SOFTMAX_MODEL, "NLLLoss", None),
    ],
    ids=["sigmoid-mse", "sigmoid-bce", "sigmoid-bcelogits", "softmax-ce", "logit-mse", "logit-bcelogits", "logsoftmax-ce", "logsoftmax-nll"],
)
def test_loss_in_one_file_model_in_another(tmp_path: Path, model: str, loss: str, code: Optional[str]) -> None:
    write_project(tmp_path, model, loss)
    findings = run(".", cwd=tmp_path)
    expected = [(code, "train.py", LOSS_LINE)] if code else []
    assert il3(findings) == expected
    if code:
        (finding,) = [f for f in findings if f["code"] == code]
        (related,) = finding["related"]
        assert related["path"] == "model.py" and related["line"] == 11


def test_package_imports_absolute_and_relative(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    write_project(tmp_path, SIGMOID_MODEL, "MSELoss", "from .nets.scorer import Scorer", "pkg/train.py", "pkg/nets/scorer.py")
    (tmp_path / "pkg" / "nets" / "__init__.py").write_text("")
    write_project(tmp_path, SIGMOID_MODEL, "BCELoss", "from pkg.nets.scorer import Scorer", "scripts/fit.py", "pkg/nets/scorer.py")
    assert il3(run(".", cwd=tmp_path)) == [("IL301", "pkg/train.py", LOSS_LINE), ("IL303", "scripts/fit.py", LOSS_LINE)]


def test_a_star_import_gives_the_model_and_the_framework_names(tmp_path: Path) -> None:
    # `from model import *` is the only import of train.py: `nn` and `torch` are model.py's own
    # imports, re-exported by the star, and `Scorer` is model.py's class.
    write_project(tmp_path, SIGMOID_MODEL, "BCELoss", import_line="from model import *")
    train = tmp_path / "train.py"
    train.write_text(train.read_text().replace("import torch\nfrom torch import nn\n", ""))
    assert il3(run(".", cwd=tmp_path)) == [("IL303", "train.py", LOSS_LINE - 2)]
    # A name neither file binds stays unknown: no finding on a guess.
    train.write_text(train.read_text().replace("nn.BCELoss()", "nnx.BCELoss()"))
    assert il3(run(".", cwd=tmp_path)) == []


AGENT = """\
import torch.nn.functional as F


class Agent:
    def __init__(self, q_net, optimizer):
        self._q_net = q_net
        self._optimizer = optimizer

    def train(self, states, targets):
        loss = F.mse_loss(self._q_net(states).squeeze(), targets)
        self._optimizer.zero_grad()
        loss.backward()
        self._optimizer.step()
"""
AGENT_LOSS_LINE = 10

RUN_AGENT = """\
import torch

from agent import Agent
from networks import Scorer


def main():
    net = Scorer(in_features=4)
    agent = Agent({given}, optimizer=torch.optim.Rprop(net.parameters()))
    agent.train(torch.randn(8, 4), torch.rand(8))
"""


# The script calls main(): its analysis then reads both imported classes from their files.
CALLED_MAIN = '\n\nif __name__ == "__main__":\n    main()\n'


@pytest.mark.parametrize(("model", "given", "guard", "expected"), [
    (SIGMOID_MODEL, "net", "", [("IL301", "agent.py", AGENT_LOSS_LINE)]),
    (SIGMOID_MODEL, "q_net=net", "", [("IL301", "agent.py", AGENT_LOSS_LINE)]),
    (SIGMOID_MODEL, "net", CALLED_MAIN, [("IL301", "agent.py", AGENT_LOSS_LINE)]),
    (LOGIT_MODEL, "net", "", []),
    (LOGIT_MODEL, "net", CALLED_MAIN, []),
], ids=["positional", "keyword", "called-main", "logits", "logits-called-main"])
def test_a_network_handed_to_an_agent_in_a_third_file(tmp_path: Path, model: str, given: str, guard: str,
                                                      expected: list[tuple[str, str, int]]) -> None:
    # networks.py defines the sigmoid network, agent.py computes the loss on whatever network it is
    # given, run.py hands the one to the other.
    (tmp_path / "networks.py").write_text(model)
    (tmp_path / "agent.py").write_text(AGENT)
    (tmp_path / "run.py").write_text(RUN_AGENT.format(given=given) + guard)
    findings = run(".", cwd=tmp_path)
    assert il3(findings) == expected
    if expected:
        (finding,) = [f for f in findings if f["code"] == "IL301"]
        assert [(r["path"], r["line"]) for r in finding["related"]] == [("networks.py", 11), ("run.py", 9)]


def test_unresolved_or_unchecked_model_file_stays_quiet(tmp_path: Path) -> None:
    write_project(tmp_path, SIGMOID_MODEL, "MSELoss")
    # The model's file is not part of the run: the link is uncertain.
    assert il3(run("train.py", cwd=tmp_path)) == []
    # A third-party class of the same name is not the project's.
    write_project(tmp_path, SIGMOID_MODEL, "MSELoss", import_line="from scorers import Scorer")
    assert il3(run(".", cwd=tmp_path)) == []


def test_cross_file_finding_honours_noqa_and_ignore(tmp_path: Path) -> None:
    write_project(tmp_path, SIGMOID_MODEL, "MSELoss", comment="  # noqa: IL301")
    assert il3(run(".", cwd=tmp_path)) == []
    write_project(tmp_path, SIGMOID_MODEL, "MSELoss")
    assert il3(run(".", "--ignore", "IL3", cwd=tmp_path)) == []
    assert il3(run(".", "--select", "IL301", cwd=tmp_path)) == [("IL301", "train.py", LOSS_LINE)]


def apply_fix(text: str, fix: Finding) -> str:
    lines = text.splitlines(keepends=True)
    for edit in sorted(fix["edits"], key=lambda e: (e["line"], e["column"]), reverse=True):
        assert edit["line"] == edit["end_line"]
        line = lines[edit["line"] - 1]
        lines[edit["line"] - 1] = line[: edit["column"] - 1] + edit["text"] + line[edit["end_column"] - 1:]
    return "".join(lines)


def test_sigmoid_bce_fix_gives_logits_loss_and_a_clean_file(tmp_path: Path) -> None:
    (tmp_path / "churn.py").write_text(SIGMOID_BCE)
    (finding,) = run("churn.py", cwd=tmp_path)
    assert (finding["code"], finding["line"], finding["related"][0]["line"]) == ("IL303", 19, 8)
    fixed = apply_fix(SIGMOID_BCE, finding["fix"])
    assert "nn.BCEWithLogitsLoss()" in fixed and "nn.Sigmoid()" not in fixed and "nn.Identity()" in fixed
    (tmp_path / "churn.py").write_text(fixed)
    assert run("churn.py", cwd=tmp_path) == []


def test_no_fix_when_the_loss_object_is_shared(tmp_path: Path) -> None:
    shared = SIGMOID_BCE.replace("        loss = criterion(model(x), churned)\n",
                                 "        loss = criterion(model(x), churned) + criterion(x.mean(-1), churned)\n")
    (tmp_path / "churn.py").write_text(shared)
    (finding,) = run("churn.py", cwd=tmp_path)
    assert finding["code"] == "IL303" and finding["fix"] is None


def test_stack_thresholds_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "sig.py").write_text(FOUR_SIGMOIDS)
    (tmp_path / "tanh.py").write_text(TEN_TANH)
    found = [(f["path"], f["line"], f["column"]) for f in run(".", "--select", "IL302", cwd=tmp_path)]
    assert found == [("sig.py", 4, 23), ("tanh.py", 3, 29)]
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\nsaturating-stack-min = 5\ntanh-stack-min = 12\n")
    assert run(".", "--select", "IL302", cwd=tmp_path) == []
