"""A file whose analysis runs out of its step budget is said to be analysed in part."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run, write

# A forward long enough to spend a root's whole step budget (facts/interpret.py MAX_STEPS),
# beside a small model that is analysed in full.
LINES = 20_000
HUGE = (
    "import torch\nfrom torch import nn\n\n\nclass Huge(nn.Module):\n"
    "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 4)\n\n"
    "    def forward(self, x):\n"
    + "".join(f"        x = x + self.fc(x) * {i} + torch.relu(x) - torch.sigmoid(x) * (x + 1) * (x - 2)\n" for i in range(LINES))
    + "        return x\n"
)
SMALL = "import torch\nfrom torch import nn\n\n\nclass Small(nn.Module):\n    def forward(self, x):\n        return x\n"


def test_a_file_analysed_in_part_is_named_cold_and_warm(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "huge.py", HUGE)
    write(tmp_path, "small.py", SMALL)

    cold = initlint(".", "--format", "json")
    assert json.loads(cold.stdout) == []  # the JSON report stays a plain array of findings
    assert "initlint: 1 file was analysed in part; --verbose names them" in cold.stderr

    warm = initlint(".", "--verbose")  # from the cache: it must say the same
    assert (tmp_path / ".initlint_cache").is_dir()
    notes = [line for line in warm.stderr.splitlines() if "analysed in part" in line]
    assert notes == ["initlint: huge.py: analysed in part: class `Huge` ran out of analysis budget"]

    sarif = json.loads(initlint(".", "--format", "sarif").stdout)
    notifications = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notifications] == ["huge.py"]
    assert "class `Huge`" in notifications[0]["message"]["text"]


def test_a_file_analysed_in_full_says_nothing(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "small.py", SMALL)
    result = initlint(".", "--verbose", "--no-cache", "--format", "sarif")
    assert "analysed in part" not in result.stderr
    assert "invocations" not in json.loads(result.stdout)["runs"][0]


# A loop the analysis unrolls, whose value refers to itself twice per step (`x - lr * 2 * x`):
# its structure doubles with every step unless shared parts are visited once (it took 24 GB).
GRADIENT_DESCENT = (
    "from numpy import asarray\nfrom numpy.random import rand\n\n\n"
    "def descend(derivative, bounds, steps, rate):\n"
    "    x = bounds[:, 0] + rand(len(bounds)) * (bounds[:, 1] - bounds[:, 0])\n"
    "    for _ in range(steps):\n        x = x - rate * derivative(x)\n    return x\n\n\n"
    "best = descend(lambda x: x * 2.0, asarray([[-1.0, 1.0]]), 40, 0.1)\n"
)


def test_an_unrolled_self_referring_loop_is_analysed_in_bounded_time_and_memory(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "descent.py", GRADIENT_DESCENT)
    run = initlint("--no-cache", "descent.py")  # the suite's per-test timeout catches the blow-up
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
