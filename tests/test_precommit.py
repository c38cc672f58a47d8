"""The pre-commit hook for real: `pre-commit try-repo` and `pre-commit run` on throwaway projects.

The hook repository is a committed snapshot of this working tree, made once per test process,
so pre-commit installs the hook's environment once and every test reuses it (PRE_COMMIT_HOME).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import SIGMOID_SCORER, TWO_TOWER_NOTEBOOK, TWO_TOWER_NOTEBOOK_AT

ROOT = Path(__file__).resolve().parents[1]
BIN = os.path.dirname(sys.executable)

# A sigmoid model in one file and the MSE loss on it in another: IL301 only links across files.
MODEL = SIGMOID_SCORER
TRAIN = """\
import torch
from torch import nn

from model import Scorer


def train(features, labels):
    model = Scorer(in_features=features.shape[1])
    criterion = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(10):
        optimizer.zero_grad()
        loss = criterion(model(features), labels)
        loss.backward()
        optimizer.step()
"""
# Other model files of the project: checked (they name torch), clean.
OTHER = """\
import torch
from torch import nn


class Block{i}(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return torch.relu(self.fc(x))
"""


def _pre_commit() -> str:
    exe = shutil.which("pre-commit", path=BIN) or shutil.which("pre-commit")
    if exe is None:
        pytest.skip("pre-commit is not installed")
    return exe


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=120).stdout


def _init(repo: Path) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "dev")
    git(repo, "config", "commit.gpgsign", "false")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This working tree as it is (uncommitted edits included), committed in a repository of its own."""
    snapshot = tmp_path_factory.mktemp("hook-repo")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True, timeout=120).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    _init(snapshot)
    git(snapshot, "add", "-A")
    git(snapshot, "commit", "-q", "-m", "snapshot")
    return snapshot, git(snapshot, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("pre-commit-home")
    return {**os.environ, "PRE_COMMIT_HOME": str(home), "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}


def project(root: Path, files: dict[str, str]) -> Path:
    _init(root)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git(root, "add", "-A")
    return root


def try_repo(repo: Path, hook_repo: tuple[Path, str], env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_pre_commit(), "try-repo", str(hook_repo[0]), "initlint", *extra], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.timeout(900)
def test_hook_refuses_a_staged_buggy_model_and_accepts_a_clean_one(tmp_path: Path, hook_repo: tuple[Path, str],
                                                                    env: dict[str, str]) -> None:
    repo = project(tmp_path / "project", {"notes.txt": "not python\n"})
    shutil.copy(ROOT / "examples" / "two_tower_zero_init.py", repo / "model.py")
    git(repo, "add", "model.py")

    refused = try_repo(repo, hook_repo, env)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "model.py:22:17: IL101" in refused.stdout
    assert "notes.txt" not in refused.stdout  # types: [python]

    shutil.copy(ROOT / "examples" / "clean_mlp.py", repo / "model.py")
    git(repo, "add", "model.py")
    accepted = try_repo(repo, hook_repo, env)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert re.search(r"initlint\.+Passed", accepted.stdout), accepted.stdout


@pytest.mark.timeout(900)
@pytest.mark.parametrize("others", [10, 20, 40])
def test_a_cross_file_finding_survives_many_staged_files(tmp_path: Path, hook_repo: tuple[Path, str],
                                                          env: dict[str, str], others: int) -> None:
    """pre-commit splits a long file list across processes unless the hook is serial."""
    files = {"model.py": MODEL, "train.py": TRAIN}
    files.update({f"blocks/block_{i:02d}.py": OTHER.format(i=i) for i in range(others)})
    repo = project(tmp_path / "project", files)
    proc = try_repo(repo, hook_repo, env, "--all-files")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"^train\.py:13:\d+: IL301 ", proc.stdout, re.M), proc.stdout
    assert re.search(r"initlint\.+Failed", proc.stdout), proc.stdout


@pytest.mark.timeout(900)
def test_excluded_files_are_skipped_even_when_pre_commit_names_them(tmp_path: Path, hook_repo: tuple[Path, str],
                                                                     env: dict[str, str]) -> None:
    buggy = (ROOT / "examples" / "two_tower_zero_init.py").read_text(encoding="utf-8")
    repo = project(tmp_path / "project", {
        "pyproject.toml": '[tool.initlint]\nextend-exclude = ["legacy/"]\n',
        "legacy/old_model.py": buggy,
        "model.py": (ROOT / "examples" / "clean_mlp.py").read_text(encoding="utf-8"),
    })
    passed = try_repo(repo, hook_repo, env, "--all-files")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "legacy/old_model.py" not in passed.stdout

    # The same file outside the excluded folder is reported: the pass above is the exclusion's doing.
    shutil.copy(repo / "legacy" / "old_model.py", repo / "old_model.py")
    git(repo, "add", "old_model.py")
    failed = try_repo(repo, hook_repo, env, "--all-files")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "old_model.py:22:17: IL101" in failed.stdout
    assert "legacy/old_model.py" not in failed.stdout


@pytest.mark.timeout(900)
def test_the_hook_runs_the_static_check_where_the_configuration_asks_for_confirmation(
        tmp_path: Path, hook_repo: tuple[Path, str], env: dict[str, str]) -> None:
    """The hook's environment has no torch: `confirm = true` must not turn every commit into exit 2."""
    repo = project(tmp_path / "project", {"pyproject.toml": "[tool.initlint]\nconfirm = true\n"})
    shutil.copy(ROOT / "examples" / "two_tower_zero_init.py", repo / "model.py")
    git(repo, "add", "model.py")
    proc = try_repo(repo, hook_repo, env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "model.py:22:17: IL101" in proc.stdout
    assert "torch" not in proc.stdout


def _readme_hook_configs() -> list[str]:
    """The README's pre-commit section: its YAML blocks, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## pre-commit\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


@pytest.mark.timeout(900)
def test_the_readme_hooks_work_as_written(tmp_path: Path, hook_repo: tuple[Path, str], env: dict[str, str]) -> None:
    local, from_clone, published = _readme_hook_configs()
    assert "repo: local" in local and "rev: v0.1.0" in published
    snapshot, sha = hook_repo
    configs = {
        # initlint on PATH, as from `pip install` (this test's environment has it).
        "local": local,
        # The placeholders are the only edit: the clone's path and its commit.
        "from a clone": from_clone.replace("/path/to/initlint", str(snapshot)).replace("0" * 40, sha),
    }
    for label, config in configs.items():
        repo = project(tmp_path / label.replace(" ", "-"), {".pre-commit-config.yaml": config,
                                                            "model.py": MODEL, "train.py": TRAIN})
        proc = subprocess.run([_pre_commit(), "run", "--all-files"], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 1, (label, proc.stdout + proc.stderr)
        assert re.search(r"^train\.py:13:\d+: IL301 ", proc.stdout, re.M), (label, proc.stdout)


@pytest.mark.timeout(900)
def test_hook_checks_a_staged_notebook(tmp_path: Path, hook_repo: tuple[Path, str], env: dict[str, str]) -> None:
    """`types_or: [python, jupyter]`: a staged notebook reaches initlint, reported by cell."""
    repo = project(tmp_path / "project", {"analysis.ipynb": TWO_TOWER_NOTEBOOK})
    refused = try_repo(repo, hook_repo, env)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    cell, line, column = TWO_TOWER_NOTEBOOK_AT
    assert f"analysis.ipynb:cell {cell}:{line}:{column}: IL101" in refused.stdout
