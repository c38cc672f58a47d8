"""Many files through the pipeline: discover -> check each -> link across files -> confirm.

Kept separate from engine.py (one file) so that parallelism, the cache and
the project-level links have one home.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from initlint.config import Settings
from initlint.diagnostics import Diagnostic
from initlint.discover import discover, looks_like_model_code
from initlint.engine import FileResult, check_source
from initlint.facts.project import link_project
from initlint.source import read_source


@dataclass(frozen=True)
class RunResult:
    diagnostics: tuple[Diagnostic, ...]
    files_checked: int


def check_path(path: str, settings: Settings) -> FileResult:
    source = read_source(path)
    if isinstance(source, Diagnostic):
        return FileResult(path, (source,))
    if not looks_like_model_code(source.text):
        # No deep-learning token at all: skipped before parsing, no diagnostic (DESIGN.md, Budgets).
        return FileResult(path, ())
    return check_source(path, source.text, settings)


def run(paths: Sequence[str], settings: Settings) -> RunResult:
    files = discover(paths, settings)
    results = [check_path(p, settings) for p in files]
    diagnostics = [d for r in results for d in r.diagnostics]
    diagnostics.extend(link_project(results, settings))
    diagnostics.sort(key=Diagnostic.sort_key)
    if settings.confirm.enabled:
        # Imported here: the static path never loads the confirmation stage.
        from initlint.confirm import confirm_diagnostics

        diagnostics = confirm_diagnostics(diagnostics, settings, settings.project_root)
    return RunResult(tuple(diagnostics), len(files))
