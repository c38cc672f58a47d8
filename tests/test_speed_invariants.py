"""What the speed machinery must never change: the findings.

Through the real command line on a small tree: the results are the same
with and without the cache, with one job or several, and with the
pre-filter off; a warm run is served from the cache (no libcst import);
and a stale cache never hides a finding — not after an edit that keeps
the file's size and mtime, not after a configuration change, not after
initlint itself changes (a copy of the package with an edited rule and a
new version).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

import pytest

import initlint
from initlint.runner import POOL_MIN_BYTES

MODEL = """\
import torch
from torch import nn


class ConversionScorer(nn.Module):
    def __init__(self, in_features=24, hidden=32):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return torch.sigmoid(self.body(x)).squeeze(-1)
"""

# A loss in another file on the model above: a cross-file IL301 at 10:12.
TRAIN = """\
import torch
from torch import nn

from model import ConversionScorer


def main(features, converted):
    model = ConversionScorer()
    criterion = nn.MSELoss()
    loss = criterion(model(features), converted)
    loss.backward()
"""

# IL101 at 14:17 while both towers start at zero.
TOWERS = """\
import torch
from torch import nn


class TwoTower{n}(nn.Module):
    def __init__(self, n_items=1000, dim=16):
        super().__init__()
        self.user = nn.Embedding(n_items, dim)
        self.item = nn.Embedding(n_items, dim)
        nn.init.zeros_(self.user.weight)
        nn.init.zeros_(self.item.weight)  # the item tower

    def forward(self, u, i):
        return (self.user(u) * self.item(i)).sum(-1)
"""
ZERO_ITEM = "nn.init.zeros_(self.item.weight)  #"
RANDOM_ITEM = "nn.init.normal_(self.item.weight) #"  # same length: size and mtime can stay

CLEAN_BLOCK = """

class Block{n}(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(self.norm(x))))
"""


def write_tree(root: Path) -> None:
    (root / "model.py").write_text(MODEL)
    (root / "train.py").write_text(TRAIN)
    for k in range(6):  # enough source for the process pool
        (root / f"towers_{k}.py").write_text(TOWERS.format(n=k) + "".join(CLEAN_BLOCK.format(n=i) for i in range(12)))
    (root / "broken.py").write_text("import torch\n\ndef forward(self, x)\n    return x\n")
    (root / "notes.py").write_text("print('no deep learning here')\n")


def initlint_json(cwd: Path, *args: str, env: Optional[dict[str, str]] = None, python_path: Optional[Path] = None) -> list[dict[str, Any]]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("INITLINT_CACHE_DIR", "INITLINT_NO_PREFILTER")}
    full_env.update(env or {})
    if python_path is not None:
        full_env["PYTHONPATH"] = str(python_path)
    proc = subprocess.run(
        [sys.executable, "-m", "initlint", "--format", "json", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    data: list[dict[str, Any]] = json.loads(proc.stdout)
    return data


def where(findings: list[dict[str, Any]]) -> list[tuple[str, int, int, str]]:
    return [(d["path"], d["line"], d["column"], d["code"]) for d in findings]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    write_tree(root)
    return root


def test_same_findings_with_or_without_cache_one_or_many_jobs_and_without_the_prefilter(tree: Path) -> None:
    assert sum(p.stat().st_size for p in tree.glob("towers_*.py")) > POOL_MIN_BYTES  # --jobs 2 really forks
    reference = initlint_json(tree, "--no-cache", "--jobs", "1")
    codes = {(d["path"], d["code"]) for d in reference}
    assert ("train.py", "IL301") in codes  # the cross-file link
    assert {("towers_0.py", "IL101"), ("towers_5.py", "IL101"), ("broken.py", "IL001")} <= codes
    assert not any(d["path"] == "notes.py" for d in reference)
    assert where(reference) == sorted(where(reference))  # path, line, column order

    assert initlint_json(tree, "--no-cache", "--jobs", "2") == reference
    assert not (tree / ".initlint_cache").exists()  # --no-cache writes nothing
    assert initlint_json(tree, "--jobs", "2") == reference  # fills the cache
    assert (tree / ".initlint_cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert initlint_json(tree, "--jobs", "1") == reference  # from the cache
    assert initlint_json(tree, "--jobs", "2") == reference

    # With the pre-filter off, notes.py is parsed too; it has nothing to find.
    assert initlint_json(tree, "--no-cache", env={"INITLINT_NO_PREFILTER": "1"}) == reference


def test_a_warm_run_neither_imports_libcst_nor_parses(tree: Path) -> None:
    initlint_json(tree)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "initlint", "--format", "json", "."],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
    )
    imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert imported and "libcst" not in imported and "initlint.engine" not in imported
    assert ("train.py", 10, 12, "IL301") in where(json.loads(proc.stdout))


def test_cache_dir_flag_and_environment_variable(tree: Path, tmp_path: Path) -> None:
    reference = initlint_json(tree, "--no-cache")
    assert initlint_json(tree, "--cache-dir", str(tmp_path / "flag")) == reference
    assert (tmp_path / "flag" / ".gitignore").exists()
    assert initlint_json(tree, env={"INITLINT_CACHE_DIR": str(tmp_path / "env")}) == reference
    assert (tmp_path / "env" / ".gitignore").exists()
    assert not (tree / ".initlint_cache").exists()


def test_an_edit_that_keeps_size_and_mtime_is_seen(tree: Path) -> None:
    path = tree / "towers_3.py"
    assert ("towers_3.py", 14, 17, "IL101") in where(initlint_json(tree))
    before = path.stat()
    edited = path.read_text().replace(ZERO_ITEM, RANDOM_ITEM)
    path.write_text(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    assert not any(d["path"] == "towers_3.py" for d in initlint_json(tree))
    path.write_text(edited.replace(RANDOM_ITEM, ZERO_ITEM))
    assert ("towers_3.py", 14, 17, "IL101") in where(initlint_json(tree))


def test_a_configuration_change_is_seen(tree: Path) -> None:
    assert ("train.py", 10, 12, "IL301") in where(initlint_json(tree))
    (tree / "pyproject.toml").write_text('[tool.initlint]\nignore = ["IL301"]\n')
    assert not any(d["code"] == "IL301" for d in initlint_json(tree))
    (tree / "pyproject.toml").write_text('[tool.initlint]\nper-file-ignores = {"towers_*.py" = ["IL101"]}\n')
    findings = where(initlint_json(tree))
    assert ("train.py", 10, 12, "IL301") in findings and not any(f[3] == "IL101" for f in findings)
    (tree / "pyproject.toml").unlink()
    assert ("towers_1.py", 14, 17, "IL101") in where(initlint_json(tree))
    assert not any(d["code"] == "IL101" for d in initlint_json(tree, "--ignore", "IL101"))


def test_a_new_initlint_version_is_seen(tree: Path, tmp_path: Path) -> None:
    """A copy of the package whose IL101 says something else, with a new version number."""
    copy = tmp_path / "site"
    package = Path(initlint.__file__).parent
    shutil.copytree(package, copy / "initlint", ignore=shutil.ignore_patterns("__pycache__"))
    spec = importlib.util.find_spec("initlint.rules")
    assert spec is not None and spec.submodule_search_locations
    rules = Path(list(spec.submodule_search_locations)[0])
    shutil.copytree(rules, copy / "initlint" / "rules", dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    rule = next((copy / "initlint" / "rules").glob("il101_*.py"))
    source = rule.read_text()
    assert "message = " in source
    rule.write_text(source.replace('message = "', 'message = "UPGRADED: ', 1))
    init = copy / "initlint" / "__init__.py"
    init.write_text(init.read_text().replace(f'__version__ = "{initlint.__version__}"', '__version__ = "99.0.0"'))

    def il101_messages(python_path: Optional[Path] = None) -> list[str]:
        return [d["message"] for d in initlint_json(tree, python_path=python_path) if d["code"] == "IL101"]

    old = il101_messages()
    assert old and not any(m.startswith("UPGRADED") for m in old)
    new = il101_messages(copy)
    assert len(new) == len(old) and all(m.startswith("UPGRADED: ") for m in new)
    assert il101_messages() == old  # and back


def test_a_read_only_project_gets_no_cache_and_the_same_findings(tree: Path) -> None:
    reference = initlint_json(tree, "--no-cache")
    tree.chmod(0o555)
    try:
        assert initlint_json(tree) == reference
        assert not (tree / ".initlint_cache").exists()
    finally:
        tree.chmod(0o755)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers through /proc")
def test_a_worker_that_dies_does_not_stop_the_run(tree: Path) -> None:
    """The kernel's OOM killer (or a crash in native code) takes a pool worker down mid-run:
    the files it had not finished are checked again, each in a process of its own."""
    # A big file keeps the workers busy long enough to kill one of them.
    slow = TOWERS.format(n=99) + "".join(CLEAN_BLOCK.format(n=i) for i in range(400))
    (tree / "big.py").write_text(slow)
    reference = initlint_json(tree, "--no-cache", "--jobs", "1")
    assert ("big.py", "IL101") in {(d["path"], d["code"]) for d in reference}
    proc = subprocess.Popen(
        [sys.executable, "-m", "initlint", "--format", "json", "--no-cache", "--jobs", "2", "."],
        cwd=tree,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        if children:
            killed = int(children[0])
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.005)
    out, err = proc.communicate(timeout=300)
    assert killed is not None, "the run ended before a worker could be killed"
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "BrokenProcessPool" not in err, err
    assert json.loads(out) == reference
