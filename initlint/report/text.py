"""`--format text`: `path:line:col: CODE message`, one finding a line, and a summary line.

In a notebook the cell comes first, as in ruff: `nb.ipynb:cell 3:5:9: CODE message`.

A confirmation verdict follows the message on the same line. Colour is the
caller's decision (a TTY, and no NO_COLOR); `render` stays plain.
"""

from __future__ import annotations

from collections.abc import Sequence

from initlint.diagnostics import Diagnostic, Severity

RESET = "\033[0m"
BOLD = "\033[1m"
DIM = "\033[2m"
COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
VERDICT_COLORS = {"confirmed": "\033[31m", "refuted": "\033[32m", "unverified": "\033[2m"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(diagnostics: Sequence[Diagnostic], files_checked: int, fixed: int = 0, fixable: int = 0, hidden: int = 0) -> str:
    """`fixed`: findings `--fix` removed; `fixable` / `hidden`: fixes `--fix` would apply,
    and those it applies only with `--unsafe-fixes` (ruff's hint)."""
    files = _plural(files_checked, "file")
    if fixed:
        return f"Found {_plural(fixed + len(diagnostics), 'finding')} ({fixed} fixed, {len(diagnostics)} remaining) in {files}."
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
    # On the summary line itself: scripts read the last line as the summary.
    if fixable:
        more = f" ({hidden} more with `--unsafe-fixes`)" if hidden else ""
        line += f" {fixable} fixable with `--fix`{more}."
    elif hidden:
        line += f" {hidden} {'fix' if hidden == 1 else 'fixes'} available with `--fix --unsafe-fixes`."
    return line


def verdict(d: Diagnostic, color: bool = False) -> str:
    """The confirmation verdict that follows a finding's message (empty when none)."""
    if d.confirmation is None:
        return ""
    c = d.confirmation
    text = f"[{c.status}: {c.detail}]" if c.detail else f"[{c.status}]"
    return " " + (f"{VERDICT_COLORS.get(c.status, '')}{text}{RESET}" if color else text)


def location(d: Diagnostic) -> str:
    """`line:column`, or `cell N:line:column` in a notebook (as ruff writes it)."""
    return f"{d.line}:{d.column}" if d.cell is None else f"cell {d.cell}:{d.line}:{d.column}"


def format_line(d: Diagnostic, color: bool = False) -> str:
    verdict_text = verdict(d, color)
    where = location(d)
    if not color:
        return f"{d.path}:{where}: {d.code} {d.message}{verdict_text}"
    return (
        f"{BOLD}{d.path}{RESET}:{where}: "
        f"{BOLD}{COLORS[d.severity]}{d.code}{RESET} {d.message}{verdict_text}"
    )


def render(
    diagnostics: Sequence[Diagnostic],
    files_checked: int = 0,
    color: bool = False,
    with_summary: bool = True,
    fixed: int = 0,
    fixable: tuple[int, int] = (0, 0),
) -> str:
    """`fixed`: findings --fix removed; `fixable`: (safe, unsafe-only) fixes still on offer."""
    lines = [format_line(d, color) for d in diagnostics]
    if with_summary:
        lines.append(summary(diagnostics, files_checked, fixed, *fixable))
    return "".join(line + "\n" for line in lines)
