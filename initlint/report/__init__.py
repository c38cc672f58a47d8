"""Reporters: pure functions from diagnostics to the text of one output format.

Each module has `render(diagnostics, files_checked) -> str`; the command line
picks one by name (`--format`). Only the chosen module is imported. The formats
people read (`HUMAN`) also take `color` and `summary`; `report` is the one place
that decides what each format gets.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Optional

from initlint.diagnostics import Diagnostic

FORMATS = {
    "text": "initlint.report.text",
    "full": "initlint.report.full",
    "json": "initlint.report.json_report",
    "sarif": "initlint.report.sarif",
    "github": "initlint.report.github",
    "gitlab": "initlint.report.gitlab",
    "junit": "initlint.report.junit",
    "lsp": "initlint.report.lsp",
}
HUMAN = frozenset({"text", "full"})

Renderer = Callable[[Sequence[Diagnostic], int], str]


def renderer(name: str) -> Renderer:
    module = importlib.import_module(FORMATS[name])
    render: Renderer = module.render
    return render


def report(
    name: str,
    diagnostics: Sequence[Diagnostic],
    files_checked: int,
    *,
    color: bool = False,
    quiet: bool = False,
    statistics: bool = False,
    sources: Optional[Mapping[str, str]] = None,
    fixed: int = 0,
    fixable: tuple[int, int] = (0, 0),
    partial: Sequence[tuple[str, tuple[str, ...]]] = (),
) -> str:
    """The whole report in format `name`. `quiet` drops the summary line of the human formats;
    `statistics` counts the findings by code instead of listing them (as JSON with `json`, as
    ruff does); `sources` stands in for files whose text is not on disk (stdin); `fixed` and `fixable` (safe,
    unsafe-only) go into the summary line, as ruff's hint; `partial` (files analysed in part, with
    the roots that ran out of budget) goes into SARIF's tool notifications."""
    if statistics:
        from initlint.report import statistics as stats

        if name == "json":
            return stats.render_json(diagnostics)
        return stats.render(diagnostics, files_checked, color=color, with_summary=not quiet)
    if name == "full":
        from initlint.report import full

        return full.render(diagnostics, files_checked, color=color, with_summary=not quiet, sources=sources,
                           fixed=fixed, fixable=fixable)
    if name == "text":
        from initlint.report import text

        return text.render(diagnostics, files_checked, color=color, with_summary=not quiet, fixed=fixed, fixable=fixable)
    if name == "sarif":
        from initlint.report import sarif

        return sarif.render(diagnostics, files_checked, partial=partial)
    return renderer(name)(diagnostics, files_checked)
