"""`--format full`: each finding with the source it points at, as ruff's `full` output.

    model.py:19:17: error[IL101] every factor of ...
       |
    18 |     def score(self, vec_a, vec_b):
    19 |         return (vec_a * vec_b).sum(-1)
       |                 ^^^^^^^^^^^^^ IL101
       |
       = note: model.py:10:9: ...
       = help: ...

The severity is in the text (`error[...]`), not only in the colour. Source is
read only for files with findings; a file that cannot be read (or that changed
so that the lines are gone) gets the header and notes without a snippet.
Colour is the caller's decision, as for `text`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Optional

from initlint.diagnostics import Diagnostic
from initlint.report.excerpt import SourceLines
from initlint.report.text import BOLD, COLORS, RESET, location, summary, verdict

GUTTER = "\033[1;34m"
CONTEXT = 2  # lines shown before and after the span, as ruff does
MAX_SPAN_LINES = 6  # a longer span shows its first lines, `...` and its last line
TAB = "    "


def _display(text: str) -> str:
    return text.replace("\t", TAB)


def _width(text: str) -> int:
    """Terminal columns of `text` once tabs are expanded: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in _display(text))


def _underline(line: str, start: int, end: int) -> tuple[int, int]:
    """Indent and caret count (in terminal columns) under characters [start, end) of `line`, 0-based."""
    start = min(max(start, 0), len(line))
    end = min(max(end, start), len(line))
    indent = _width(line[:start])
    return indent, max(1, _width(line[start:end]))


def _snippet(d: Diagnostic, lines: list[str], color: bool) -> tuple[list[str], int]:
    """The gutter-numbered rows and the gutter's width (the notes below align with it)."""
    span = d.span
    last = min(max(span.line, span.end_line), len(lines))
    shown = list(range(span.line, last + 1))
    if len(shown) > MAX_SPAN_LINES:
        shown = shown[: MAX_SPAN_LINES - 1] + [0, shown[-1]]  # 0: the `...` row
    before = list(range(max(1, span.line - CONTEXT), span.line))
    after = list(range(last + 1, min(len(lines), last + CONTEXT) + 1))
    while before and not lines[before[0] - 1].strip():
        before.pop(0)
    while after and not lines[after[-1] - 1].strip():
        after.pop()
    width = len(str(after[-1] if after else last))
    gutter = (lambda s: f"{GUTTER}{s}{RESET}") if color else (lambda s: s)
    mark = (lambda s: f"{BOLD}{COLORS[d.severity]}{s}{RESET}") if color else (lambda s: s)
    empty = gutter(" " * width + " |")

    def row(number: int) -> str:
        return (gutter(f"{number:>{width}} |") + " " + _display(lines[number - 1])).rstrip()

    out = [empty, *(row(n) for n in before)]
    for n in shown:
        if n == 0:
            out.append(gutter(f"{'...':>{width}}"))
            continue
        text = lines[n - 1]
        start = span.column - 1 if n == span.line else len(text) - len(text.lstrip())
        end = span.end_column - 1 if n == span.end_line else len(text)
        indent, count = _underline(text, start, end)
        label = f" {d.code}" if n == last else ""
        out.append(row(n))
        out.append(empty + " " + " " * indent + mark("^" * count + label))
    out.extend(row(n) for n in after)
    out.append(empty)
    return out, width


def format_finding(d: Diagnostic, source: SourceLines, color: bool = False) -> str:
    kind = f"{d.severity.label}[{d.code}]"
    where = location(d)
    if color:
        header = f"{BOLD}{d.path}{RESET}:{where}: {BOLD}{COLORS[d.severity]}{kind}{RESET} {BOLD}{d.message}{RESET}"
    else:
        header = f"{d.path}:{where}: {kind} {d.message}"
    out = [header + verdict(d, color)]
    lines = source.lines(d.path, d.cell)
    width = 0
    if lines is not None and 1 <= d.span.line <= len(lines):
        rows, width = _snippet(d, lines, color)
        out.extend(rows)
    pad = " " * (width + 1)
    label = (lambda s: f"{BOLD}{s}{RESET}") if color else (lambda s: s)
    out.extend(
        f"{pad}= {label('note')}: {r.path}:{'' if r.cell is None else f'cell {r.cell}:'}{r.span.line}:{r.span.column}: {r.message}"
        for r in d.related
    )
    if d.fix is not None:
        out.append(f"{pad}= {label('help')}: {d.fix.message}")
    return "\n".join(out) + "\n"


def render(
    diagnostics: Sequence[Diagnostic],
    files_checked: int = 0,
    color: bool = False,
    with_summary: bool = True,
    fixed: int = 0,
    fixable: tuple[int, int] = (0, 0),
    sources: Optional[Mapping[str, str]] = None,
) -> str:
    source = SourceLines(sources)
    parts = [format_finding(d, source, color) for d in diagnostics]
    if with_summary:
        parts.append(summary(diagnostics, files_checked, fixed, *fixable) + "\n")
    return "\n".join(parts)
