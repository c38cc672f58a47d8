"""Exclude patterns: bare names are matched without pathspec, and exactly as pathspec would."""

from __future__ import annotations

import os
from pathlib import Path

import pathspec
import pytest

from initlint.config import DEFAULT_EXCLUDE, Settings
from initlint.discover import _Excludes

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
