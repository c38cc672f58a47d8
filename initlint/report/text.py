"""`--format text`: `path:line:col: CODE message`, one finding a line, and a summary line.

In a notebook the cell comes first, as in ruff: `nb.ipynb:cell 3:5:9: CODE message`.

A confirmation verdict follows the message on the same line. Colour is the
caller's decision (a TTY, and no NO_COLOR); `render` stays plain.
"""

from __future__ import annotations

from typing import Sequence

from initlint.diagnostics import Diagnostic, Severity

RESET = "\033[0m"
BOLD = "\033[1m"
DIM = "\033[2m"
COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
VERDICT_COLORS = {"confirmed": "\033[31m", "refuted": "\033[32m", "unverified": "\033[2m"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(diagnostics: Sequence[Diagnostic], files_checked: int) -> str:
    files = _plural(files_checked, "file")
    if not diagnostics:
        return f"No findings in {files}."
    counts = [
        _plural(sum(1 for d in diagnostics if d.severity == severity), severity.label)
        for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)
        if any(d.severity == severity for d in diagnostics)
    ]
    line = f"Found {_plural(len(diagnostics), 'finding')} ({', '.join(counts)}) in {files}."
    refuted = sum(1 for d in diagnostics if d.confirmation is not None and d.confirmation.status == "refuted")
    if refuted:
        line += f" {refuted} refuted by confirmation (kept, not failing)."
    return line


def format_line(d: Diagnostic, color: bool = False) -> str:
    verdict = ""
    if d.confirmation is not None:
        c = d.confirmation
        text = f"[{c.status}: {c.detail}]" if c.detail else f"[{c.status}]"
        verdict = " " + (f"{VERDICT_COLORS.get(c.status, '')}{text}{RESET}" if color else text)
    where = f"{d.line}:{d.column}" if d.cell is None else f"cell {d.cell}:{d.line}:{d.column}"
    if not color:
        return f"{d.path}:{where}: {d.code} {d.message}{verdict}"
    return (
        f"{BOLD}{d.path}{RESET}:{where}: "
        f"{BOLD}{COLORS[d.severity]}{d.code}{RESET} {d.message}{verdict}"
    )


def render(diagnostics: Sequence[Diagnostic], files_checked: int = 0, color: bool = False) -> str:
    lines = [format_line(d, color) for d in diagnostics]
    lines.append(summary(diagnostics, files_checked))
    return "\n".join(lines) + "\n"
