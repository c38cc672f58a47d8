"""`--statistics`: the findings counted by code instead of listed, as ruff's table.

    2	IL303	[*] sigmoid-bce
    1	IL101	[ ] zero-product

Tab-separated: count (right-aligned), code, a fixable marker when any code has a
fix (`[*]` when a finding of that code has one), the rule's name. Most frequent
first. `--format json` gets the same rows as a JSON array.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from initlint.diagnostics import Diagnostic
from initlint.report.text import BOLD, COLORS, RESET, summary


@dataclass(frozen=True)
class Row:
    """One line of `--statistics`: a code and how many findings it has."""

    code: str
    name: str
    count: int
    fixable: bool


def rows(diagnostics: Sequence[Diagnostic]) -> list[Row]:
    by_code: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_code.setdefault(d.code, []).append(d)
    out = [Row(code, ds[0].name, len(ds), any(d.fix is not None for d in ds)) for code, ds in by_code.items()]
    return sorted(out, key=lambda r: (-r.count, r.code))


def render(diagnostics: Sequence[Diagnostic], files_checked: int = 0, color: bool = False, with_summary: bool = True) -> str:
    table = rows(diagnostics)
    severity = {d.code: d.severity for d in diagnostics}
    any_fixable = any(r.fixable for r in table)
    count_width = max((len(str(r.count)) for r in table), default=0)
    code_width = max((len(r.code) for r in table), default=0)
    lines = []
    for r in table:
        code = f"{r.code:<{code_width}}"
        if color:
            code = f"{BOLD}{COLORS[severity[r.code]]}{code}{RESET}"
        marker = ("[*] " if r.fixable else "[ ] ") if any_fixable else ""
        lines.append(f"{r.count:>{count_width}}\t{code}\t{marker}{r.name}")
    if with_summary:
        lines.append(summary(diagnostics, files_checked))
    return "".join(line + "\n" for line in lines)


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    data = [{"code": r.code, "name": r.name, "count": r.count, "fixable": r.fixable} for r in rows(diagnostics)]
    return json.dumps(data, indent=2) + "\n"
