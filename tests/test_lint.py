"""The project lints itself: ruff and mypy with the settings in pyproject.toml, as CI runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF_PATHS = ["."]  # the whole project; [tool.ruff] excludes the fixtures that are bad code on purpose


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=540)


@pytest.mark.timeout(600)
def test_ruff_passes() -> None:
    proc = run("ruff", "check", "--no-cache", *RUFF_PATHS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.timeout(600)
def test_mypy_passes() -> None:
    # The files, strictness and overrides come from [tool.mypy]; the cache lives in .mypy_cache (gitignored).
    proc = run("mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success" in proc.stdout
