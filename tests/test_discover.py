"""Exclude patterns: bare names are matched without pathspec, and exactly as pathspec would."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pathspec
import pytest

from initlint.config import DEFAULT_EXCLUDE, Settings
from initlint.discover import _Excludes, discover

PATHS = [
    "model.py", "build/model.py", "src/build/model.py", "src/builder/model.py", "src/build.py",
    "build", ".venv/lib/x.py", "venv2/x.py", "a/__pycache__/m.py", "node_modules/p/x.py",
    "my project/a b/x.py", "src/gen/x.py", "gen/x.py", "dist.py", "docs/dist/x.py",
]


@pytest.mark.parametrize(
    "patterns",
    [DEFAULT_EXCLUDE, ("a b", "builder"), ("src/gen", "*.py"), ("build", "src/gen/*.py", "!keep.py"), ()],
    ids=["defaults", "names-with-spaces", "globs", "mixed", "none"],
)
def test_excludes_agree_with_pathspec(tmp_path: Path, patterns: tuple[str, ...]) -> None:
    settings = Settings(exclude=patterns, project_root=str(tmp_path))
    excludes = _Excludes(settings)
    spec = pathspec.GitIgnoreSpec.from_lines(list(patterns))
    if all("/" not in p and "*" not in p and "!" not in p for p in patterns):
        assert excludes.spec is None  # bare names only: pathspec is not needed
    for relative in PATHS:
        for is_dir in (False, True):
            expected = bool(spec.match_file(relative + ("/" if is_dir else "")))
            assert excludes.excluded(os.path.join(str(tmp_path), relative), is_dir) is expected, (relative, is_dir)


def test_the_pre_filter_keeps_a_file_naming_any_table_entry() -> None:
    # A file that names only `nn.Mish`, `keras.losses.Huber`, `nn.init.eye_`... is analysed, not skipped.
    from initlint.discover import IN_CONTEXT_ONLY, looks_like_model_code
    from initlint.frameworks.tables import PREFILTER_NAMES

    assert "Mish" in PREFILTER_NAMES and "eye_" in PREFILTER_NAMES
    assert sorted(n for n in PREFILTER_NAMES if not looks_like_model_code(f"y = {n}(x)\n")) == sorted(IN_CONTEXT_ONLY)
    assert all(looks_like_model_code(f'Dense(3, activation="{n}")\n') for n in IN_CONTEXT_ONLY)
    assert not looks_like_model_code("def add(a, b):\n    return a + b\n")


def _write(root: Path, relative: str, text: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_gitignore_decisions_are_gits(tmp_path: Path) -> None:
    """Nested .gitignore files, negations, anchored and folder-only patterns: the files a walk
    keeps are the ones git itself does not ignore."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=120)
    _write(tmp_path, ".gitignore", "generated/\n*_tmp.py\n/anchored.py\nsub/deep/\n!keep_tmp.py\nbuild*\n**/x/y.py\n")
    _write(tmp_path, "pkg/.gitignore", "local_*.py\n!local_keep.py\n/only_here.py\n")
    _write(tmp_path, "pkg/inner/.gitignore", "!local_*.py\n")
    for relative in [
        "a.py", "anchored.py", "pkg/anchored.py", "generated/m.py", "pkg/generated/m.py", "x_tmp.py",
        "keep_tmp.py", "pkg/local_a.py", "pkg/local_keep.py", "pkg/only_here.py", "pkg/q/only_here.py",
        "pkg/inner/local_b.py", "sub/deep/a.py", "sub/a.py", "builder.py", "q/x/y.py", "x/y.py",
        "my dir/a b.py", "nb.ipynb",
    ]:
        _write(tmp_path, relative)
    git = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard"], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=120
    )
    expected = sorted(p for p in git.stdout.splitlines() if p.endswith((".py", ".ipynb")))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        found = discover(["."], Settings(project_root=str(tmp_path), exclude=()))
        below = discover(["pkg"], Settings(project_root=str(tmp_path), exclude=()))  # the root's .gitignore still applies
    finally:
        os.chdir(cwd)
    assert found == expected
    assert below == [p for p in expected if p.startswith("pkg/")]
