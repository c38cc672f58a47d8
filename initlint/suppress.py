"""Suppression comments and per-file ignores.

`# noqa: IL101`, a bare `# noqa` and `# initlint: ignore[IL101]` silence a
finding on their own line, and a comment on the first line of a statement
silences the whole statement (a finding on line 3 of a call that starts on
line 1). Codes are prefixes: `# noqa: IL1` silences the family. Comments
are read from the tokenizer's COMMENT tokens, so `"# noqa"` inside a string
is not a suppression. With `report-unused-suppressions`, a comment (or a
code in it) that silences nothing is reported as IL003.
"""

from __future__ import annotations

import fnmatch
import io
import re
import tokenize
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence

from initlint.config import Settings
from initlint.diagnostics import Diagnostic, Severity, Span

# Both patterns are applied to one comment token's text, never to code.
# `codes` is absent for a bare suppression (which silences every code).
NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:(?:\s*,\s*|\s+)[A-Z]+[0-9]+)*))?", re.IGNORECASE)
IGNORE = re.compile(r"#\s*initlint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
_SPLIT = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Suppression:
    """One suppression comment: where it is, what it silences, which lines it covers."""

    line: int
    column: int  # 1-based column of the `#`
    end_column: int
    codes: frozenset[str]  # empty = every code
    first: int  # the lines it covers, inclusive
    last: int

    def covers(self, diagnostic: Diagnostic) -> bool:
        return self.first <= diagnostic.line <= self.last and (
            not self.codes or any(diagnostic.code.startswith(c) for c in self.codes)
        )


def _codes_in(comment: str) -> Optional[frozenset[str]]:
    for pattern in (IGNORE, NOQA):
        match = pattern.search(comment)
        if match:
            codes = match.group("codes") or ""
            return frozenset(c.upper() for c in _SPLIT.split(codes.strip()) if c)
    return None


def _tokens(text: str) -> Iterator[tokenize.TokenInfo]:
    """The file's tokens up to the first tokenizer error (a file that does not parse still
    has its suppressions read up to that point)."""
    try:
        yield from tokenize.generate_tokens(io.StringIO(text).readline)
    except (tokenize.TokenError, SyntaxError):
        return


def read_suppression_comments(text: str) -> list[Suppression]:
    """Every suppression comment, with the range of lines it covers."""
    if "noqa" not in text.lower() and "initlint" not in text.lower():
        return []  # the common case: no need to tokenize
    found: list[Suppression] = []
    statement_start: Optional[int] = None  # first line of the logical line being read
    pending: list[tuple[tokenize.TokenInfo, frozenset[str]]] = []  # comments of that logical line
    ignorable = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)
    for tok in _tokens(text):
        if tok.type == tokenize.COMMENT:
            codes = _codes_in(tok.string)
            if codes is not None:
                if statement_start is None:  # a comment on a line of its own covers only that line
                    found.append(_suppression(tok, codes, tok.start[0], tok.start[0]))
                else:
                    pending.append((tok, codes))
            continue
        if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            end = tok.start[0]
            for comment, codes in pending:
                line = comment.start[0]
                # On the statement's first line: the whole statement; elsewhere: its own line.
                last = end if line == statement_start else line
                found.append(_suppression(comment, codes, line, last))
            pending = []
            statement_start = None
            continue
        if tok.type not in ignorable and statement_start is None:
            statement_start = tok.start[0]
    for comment, codes in pending:  # the tokenizer stopped inside a statement
        found.append(_suppression(comment, codes, comment.start[0], comment.start[0]))
    return found


def _suppression(tok: tokenize.TokenInfo, codes: frozenset[str], first: int, last: int) -> Suppression:
    return Suppression(tok.start[0], tok.start[1] + 1, tok.end[1] + 1, codes, first, last)


def suppressions_by_line(comments: Sequence[Suppression]) -> dict[int, frozenset[str]]:
    """line -> codes suppressed on it (an empty set silences every code)."""
    by_line: dict[int, frozenset[str]] = {}
    for s in comments:
        for line in range(s.first, s.last + 1):
            old = by_line.get(line)
            by_line[line] = s.codes if old is None else (frozenset() if not old or not s.codes else old | s.codes)
    return by_line


def is_suppressed(diagnostic: Diagnostic, suppressions: dict[int, frozenset[str]]) -> bool:
    codes = suppressions.get(diagnostic.line)
    if codes is None:
        return False
    return not codes or any(diagnostic.code.startswith(c) for c in codes)


def apply_suppressions(
    diagnostics: Sequence[Diagnostic],
    text: str,
    settings: Settings,
    path: str = "",
    pending: bool = False,
) -> tuple[list[Diagnostic], dict[int, frozenset[str]]]:
    """The diagnostics no comment silences (plus IL003 for comments that silence nothing, when
    asked for), and the line -> codes map for findings added later (cross-file links).

    `pending`: the file computes losses on imported models, so the link step may report in it.
    Comments are tokenized once, and only when something can need them: a file with no
    finding, no pending link and no IL003 to report is left untokenized (on diffusers, whose
    files carry other linters' `# noqa`, tokenizing them twice was 4.5% of a cold run's CPU).
    """
    unused_wanted = settings.report_unused_suppressions and _reports_unused(settings, path)
    if not diagnostics and not pending and not unused_wanted:
        return [], {}
    comments = read_suppression_comments(text)
    kept = [d for d in diagnostics if not any(s.covers(d) for s in comments)]
    if unused_wanted and comments:
        kept.extend(_unused(path, diagnostics, comments, settings))
        kept.sort(key=Diagnostic.sort_key)
    return kept, suppressions_by_line(comments)


def _reports_unused(settings: Settings, path: str) -> bool:
    from initlint.rule import matches_selector

    ignored = settings.ignore + per_file_ignored(settings, path)
    return matches_selector("IL003", settings.selectors) and not matches_selector("IL003", ignored)


def _unused(
    path: str, diagnostics: Sequence[Diagnostic], comments: Sequence[Suppression], settings: Settings
) -> Iterator[Diagnostic]:
    from initlint.rule import matches_selector, rule_by_code

    for s in comments:
        hits = [d for d in diagnostics if s.covers(d)]
        if not s.codes:
            if not hits:
                yield _il003(path, s, "unused `noqa`: no finding to silence here")
            continue
        unused = sorted(
            c for c in s.codes
            if c.startswith("IL") and not any(d.code.startswith(c) for d in hits)
            # a code of a rule that is switched off here is not "unused", it is idle
            and (rule_by_code(c) is None or matches_selector(c, settings.selectors))
        )
        if unused:
            yield _il003(path, s, f"unused suppression of {', '.join(unused)}: no such finding here")


def _il003(path: str, s: Suppression, message: str) -> Diagnostic:
    return Diagnostic(
        path=path,
        span=Span(s.line, s.column, s.line, s.end_column),
        code="IL003",
        name="unused-suppression",
        severity=Severity.WARNING,
        message=message,
    )


def per_file_ignored(settings: Settings, path: str) -> tuple[str, ...]:
    """Codes `per-file-ignores` switches off for `path` (glob against the path or its file name)."""
    codes: list[str] = []
    normalized = path.replace("\\", "/")
    while normalized.startswith("./"):
        normalized = normalized[2:]
    for pattern, pattern_codes in settings.per_file_ignores:
        if fnmatch.fnmatch(normalized, pattern) or fnmatch.fnmatch(normalized.rsplit("/", 1)[-1], pattern):
            codes.extend(pattern_codes)
    return tuple(codes)
