"""The sdist and the wheel built from this tree: what a user installs and what a packager unpacks."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import pytest

pytest.importorskip("build")

ROOT = Path(__file__).resolve().parents[1]
# Directories of a working tree that must never reach an archive.
JUNK_PARTS = {".venv", "venv", ".ci-venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".initlint_cache",
              ".git", "build", "dist"}


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    # A copy of the tree: setuptools reuses an old *.egg-info/SOURCES.txt as the file list,
    # which would hide a missing MANIFEST.in entry; the planted junk is what a checkout holds.
    src = tmp_path_factory.mktemp("tree") / "initlint"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*JUNK_PARTS, "*.egg-info", "*.pyc"))
    for junk in (".venv/lib/site.py", ".ci-venv/bin/activate", "tests/__pycache__/conftest.cpython-311.pyc",
                 "initlint/__pycache__/cli.cpython-311.pyc", ".pytest_cache/README.md"):
        (src / junk).parent.mkdir(parents=True, exist_ok=True)
        (src / junk).write_text("junk\n")
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the test extra provides setuptools and build, so nothing is fetched;
    # the wheel is built from the unpacked sdist, which proves the sdist is complete.
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (sdist,) = out.glob("initlint-*.tar.gz")
    (wheel,) = out.glob("initlint-*.whl")
    return sdist, wheel


def _junk(names: list[str]) -> list[str]:
    return [n for n in names if JUNK_PARTS & set(PurePosixPath(n).parts) or n.endswith((".pyc", ".pyo"))]


@pytest.mark.timeout(300)
def test_wheel_ships_the_package_with_its_rules_and_license(dists: tuple[Path, Path]) -> None:
    _, wheel = dists
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = zf.read(metadata).decode("utf-8")
        licenses = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert licenses, names
        assert zf.read(licenses[0]) == (ROOT / "LICENSE").read_bytes()
    assert "initlint/__init__.py" in names and "initlint/confirm/worker.py" in names
    # Every module of the source tree, sub-packages included (a package missing from
    # pyproject's list installs fine and fails on first import).
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "initlint").rglob("*.py") if "__pycache__" not in p.parts}
    assert modules - set(names) == set()
    shipped_rules = {n.split("/", 2)[2] for n in names if n.startswith("initlint/rules/")}
    assert shipped_rules == {p.name for p in (ROOT / "rules").glob("*.py")}
    # rules/ is shipped as initlint.rules only: a top-level `rules` package would shadow users' own.
    assert not [n for n in names if n.split("/", 1)[0] == "rules"]
    assert _junk(names) == []
    headers = meta.split("\n\n", 1)[0].splitlines()
    assert "License-Expression: MIT" in headers
    assert "License-File: LICENSE" in headers
    # PEP 639: no license classifier next to an SPDX expression.
    assert not [h for h in headers if h.startswith("Classifier: License ::")]
    assert any(h.startswith("Project-URL: Documentation, ") and h.endswith("docs/rules.md") for h in headers)


@pytest.mark.timeout(300)
def test_sdist_ships_license_readme_docs_and_the_whole_test_suite(dists: tuple[Path, Path]) -> None:
    sdist, _ = dists
    with tarfile.open(sdist) as tf:
        names = [m.name.split("/", 1)[1] for m in tf.getmembers() if "/" in m.name]
    for needed in ("LICENSE", "README.md", "pyproject.toml", "docs/rules.md", "initlint/__init__.py",
                   "rules/il101_zero_product.py", "examples/two_tower_zero_init.py", ".pre-commit-hooks.yaml"):
        assert needed in names, needed
    tests = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("*")
             if p.suffix in (".py", ".json") and "__pycache__" not in p.parts}
    assert tests <= set(names), sorted(tests - set(names))
    assert _junk(names) == []
