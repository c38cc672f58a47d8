"""The pre-commit hook for real: `pre-commit try-repo` this repository against a project with a staged file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pre_commit() -> list[str]:
    exe = shutil.which("pre-commit", path=os.path.dirname(sys.executable)) or shutil.which("pre-commit")
    if exe is None:
        pytest.skip("pre-commit is not installed")
    return [exe]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_hook_refuses_a_staged_buggy_model_and_accepts_a_clean_one(tmp_path: Path) -> None:
    pre_commit = _pre_commit()
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "dev")
    shutil.copy(ROOT / "examples" / "two_tower_zero_init.py", repo / "model.py")
    (repo / "notes.txt").write_text("not python\n")
    git(repo, "add", "model.py", "notes.txt")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run([*pre_commit, "try-repo", str(ROOT), "initlint"], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=900)

    refused = try_repo()
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "model.py:22:17: IL101" in refused.stdout
    assert "notes.txt" not in refused.stdout  # types: [python]

    shutil.copy(ROOT / "examples" / "clean_mlp.py", repo / "model.py")
    git(repo, "add", "model.py")
    accepted = try_repo()
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "initlint" in accepted.stdout and "Passed" in accepted.stdout
