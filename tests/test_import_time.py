"""The static path never imports torch, TensorFlow or Keras (`python -X importtime` shows it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "tensorflow", "keras", "jax", "numpy")
ROOT = Path(__file__).resolve().parents[1]


def imported_modules(*args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "initlint", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert names, "no import-time report"
    return names


def test_version_imports_nothing_heavy() -> None:
    names = imported_modules("--version")
    assert not {n for n in names if n.split(".")[0] in HEAVY}
    assert "libcst" not in names  # --version does not even load the parser


def test_a_full_static_run_imports_no_framework() -> None:
    names = imported_modules("examples/", "--format", "json", "--no-cache")
    assert "libcst" in names  # the check really ran
    assert not {n for n in names if n.split(".")[0] in HEAVY}
