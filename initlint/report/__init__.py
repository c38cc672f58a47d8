"""Reporters: pure functions from diagnostics to the text of one output format.

Each module has `render(diagnostics, files_checked) -> str`; the command line
picks one by name (`--format`). Only the chosen module is imported.
"""

from __future__ import annotations

import importlib
from typing import Callable, Sequence

from initlint.diagnostics import Diagnostic

FORMATS = {
    "text": "initlint.report.text",
    "json": "initlint.report.json_report",
    "sarif": "initlint.report.sarif",
    "github": "initlint.report.github",
    "lsp": "initlint.report.lsp",
}

Renderer = Callable[[Sequence[Diagnostic], int], str]


def renderer(name: str) -> Renderer:
    module = importlib.import_module(FORMATS[name])
    render: Renderer = module.render
    return render
