"""Fixes, with ruff's semantics: verify them, choose them, apply them, write the files.

A fix is a set of non-overlapping edits on the text the engine checked
(1-based lines and columns, end exclusive, columns counting characters as
Python strings do). Each fix is `safe` (`--fix` applies it) or `unsafe`
(`--fix --unsafe-fixes`). A fix is offered only when it verifies: the fixed
text parses and a rerun of the engine no longer reports the finding.
`--fix` applies the chosen fixes, skipping any that overlap one already taken,
and checks again until nothing more applies (a few passes at most; the run
level drives it: runner.fix_files); `--diff` shows the same result as a
unified diff and writes nothing.

Files are written only through `source.write_source`, the one place that
knows each file's encoding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Optional

from initlint.diagnostics import Diagnostic, Edit, Fix

# ruff stops after 100 passes; a rule here fixes in one, so a few are plenty
# (a second pass takes fixes that overlapped one applied in the first).
MAX_PASSES = 4
_NEWLINE = re.compile(r"\r\n|\r|\n")  # the line ends libcst (and so our positions) count


class EditError(ValueError):
    """Edits that overlap or point outside the text."""


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _NEWLINE.finditer(text)]


def _offset(starts: list[int], text: str, line: int, column: int) -> int:
    if not 1 <= line <= len(starts):
        raise EditError(f"line {line} is outside the text")
    offset = starts[line - 1] + column - 1
    if column < 1 or offset > len(text):
        raise EditError(f"column {column} of line {line} is outside the text")
    return offset


def _ranges(text: str, edits: Iterable[Edit]) -> list[tuple[int, int, str]]:
    """Edits as sorted (start, end, text) offsets; raises EditError when two overlap."""
    starts = _line_starts(text)
    ranges = sorted(
        (_offset(starts, text, e.span.line, e.span.column), _offset(starts, text, e.span.end_line, e.span.end_column), e.text)
        for e in edits
    )
    for (start, end, _), (next_start, _, _) in zip(ranges, ranges[1:]):
        if next_start < end or (next_start == start == end):
            raise EditError("edits overlap")
    if any(end < start for start, end, _ in ranges):
        raise EditError("an edit ends before it starts")
    return ranges


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """The text with every edit applied; the edits must not overlap."""
    out: list[str] = []
    position = 0
    for start, end, new in _ranges(text, edits):
        out.append(text[position:start])
        out.append(new)
        position = end
    out.append(text[position:])
    return "".join(out)


def _moved(text: str, edits: Sequence[Edit], line: int, column: int) -> tuple[int, int]:
    """Where (line, column) of `text` lies after the edits (inside an edit: at its start)."""
    starts = _line_starts(text)
    offset = _offset(starts, text, line, column)
    new = offset
    for start, end, replacement in _ranges(text, edits):
        if end <= offset:
            new += len(replacement) - (end - start)
        elif start < offset:
            new += start - offset
    fixed = apply_edits(text, edits)
    fixed_starts = _line_starts(fixed)
    index = max(i for i, s in enumerate(fixed_starts) if s <= new)
    return index + 1, new - fixed_starts[index] + 1


def applies(fix: Optional[Fix], unsafe: bool) -> bool:
    return fix is not None and bool(fix.edits) and (fix.safe or unsafe)


# ---------------------------------------------------------------------------- verification
# The engine's check of a fixed text, without fix verification of its own: the diagnostics it reports.
Recheck = Callable[[str], Sequence[Diagnostic]]


def verifies(path: str, text: str, d: Diagnostic, recheck: Recheck) -> bool:
    """The fix of `d` parses and removes the finding (at its place, moved by the edits)."""
    from initlint.parse import parse_source

    assert d.fix is not None
    try:
        fixed = apply_edits(text, d.fix.edits)
        place = _moved(text, d.fix.edits, d.span.line, d.span.column)
    except EditError:
        return False
    if fixed == text or isinstance(parse_source(path, fixed), Diagnostic):
        return False
    return not any(a.code == d.code and (a.span.line, a.span.column) == place for a in recheck(fixed))


def verified(path: str, text: str, diagnostics: Sequence[Diagnostic], recheck: Recheck) -> list[Diagnostic]:
    """The diagnostics with every fix that does not verify taken away (the finding stays).

    `recheck` is the engine's check of a fixed text, passed in so that this module stays
    below the engine (which calls it)."""
    return [
        d if d.fix is None or verifies(path, text, d, recheck) else replace(d, fix=None) for d in diagnostics
    ]


# ---------------------------------------------------------------------------- applying
def apply_fixes(text: str, diagnostics: Sequence[Diagnostic], unsafe: bool) -> tuple[str, int]:
    """One pass: the applicable fixes in source order, each skipped if it overlaps one taken."""
    taken: list[Edit] = []
    count = 0
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        if not applies(d.fix, unsafe):
            continue
        assert d.fix is not None
        try:
            _ranges(text, [*taken, *d.fix.edits])
        except EditError:
            continue  # overlaps a fix already taken: the next pass sees it again
        taken.extend(d.fix.edits)
        count += 1
    return (apply_edits(text, taken), count) if count else (text, 0)


def unified_diff(path: str, before: str, after: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), fromfile=path, tofile=path
    )
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n" for line in lines)


def fixable_counts(diagnostics: Sequence[Diagnostic], unsafe: bool) -> tuple[int, int]:
    """(fixable with `--fix`, hidden until `--unsafe-fixes`), as ruff's summary counts them."""
    fixable = sum(1 for d in diagnostics if applies(d.fix, unsafe))
    hidden = 0 if unsafe else sum(1 for d in diagnostics if applies(d.fix, True) and not applies(d.fix, False))
    return fixable, hidden
