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

import io
import re
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Optional

from initlint.config import Settings
from initlint.diagnostics import Diagnostic, Span
from initlint.selection import is_selected, matches_selector

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
        return self.first <= diagnostic.line <= self.last and silences(self.codes, diagnostic.code)


def silences(codes: frozenset[str], code: str) -> bool:
    """Whether a comment's codes silence `code`: codes are prefixes, none at all silences every code."""
    return not codes or any(code.startswith(c) for c in codes)


def _codes_in(comment: str) -> Optional[frozenset[str]]:
    for pattern in (IGNORE, NOQA):
        match = pattern.search(comment)
        if match:
            codes = match.group("codes") or ""
            return frozenset(c.upper() for c in _SPLIT.split(codes.strip()) if c)
    return None


def _tokens(text: str, layout: Layout) -> Iterator[tokenize.TokenInfo]:
    """The file's tokens up to the first tokenizer error (a file that does not parse still
    has its suppressions read up to that point)."""
    try:
        yield from tokenize.generate_tokens(io.StringIO(text).readline)
    except (tokenize.TokenError, SyntaxError):
        layout.complete = False


@dataclass(frozen=True)
class LogicalLine:
    """One statement as the tokenizer sees it: its lines and its code tokens (no comments)."""

    first: int
    last: int
    tokens: tuple[tokenize.TokenInfo, ...]


@dataclass
class Layout:
    """Where a file's comments are and can go, from one pass of the tokenizer."""

    # Every comment token with the lines it covers: the whole statement from the statement's
    # first line, its own line anywhere else.
    comments: list[tuple[tokenize.TokenInfo, int, int]] = field(default_factory=list)
    statements: list[LogicalLine] = field(default_factory=list)  # kept only when asked for
    in_token: set[int] = field(default_factory=set)  # lines that end inside a string
    complete: bool = True  # False: the tokenizer stopped early (a file that does not parse)


def scan_layout(text: str, keep_statements: bool = False) -> Layout:
    """The file's comments and (with `keep_statements`) its statements, in one tokenizer pass."""
    layout = Layout()
    start: Optional[int] = None  # first line of the logical line being read
    pending: list[tokenize.TokenInfo] = []  # comments of that logical line
    tokens: list[tokenize.TokenInfo] = []
    ignorable = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)
    for tok in _tokens(text, layout):
        if tok.start[0] < tok.end[0] and tok.type not in (tokenize.NEWLINE, tokenize.NL):
            layout.in_token.update(range(tok.start[0], tok.end[0]))
        if tok.type == tokenize.COMMENT:
            if start is None:  # a comment on a line of its own covers only that line
                layout.comments.append((tok, tok.start[0], tok.start[0]))
            else:
                pending.append(tok)
            continue
        if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            end = tok.start[0]
            for comment in pending:
                line = comment.start[0]
                layout.comments.append((comment, line, end if line == start else line))
            if start is not None and keep_statements:
                layout.statements.append(LogicalLine(start, end, tuple(tokens)))
            pending, tokens, start = [], [], None
            continue
        if tok.type not in ignorable:
            if start is None:
                start = tok.start[0]
            if keep_statements:
                tokens.append(tok)
    for comment in pending:  # the tokenizer stopped inside a statement
        layout.comments.append((comment, comment.start[0], comment.start[0]))
    return layout


def read_suppression_comments(text: str) -> list[Suppression]:
    """Every suppression comment, with the range of lines it covers."""
    if "noqa" not in text.lower() and "initlint" not in text.lower():
        return []  # the common case: no need to tokenize
    found: list[Suppression] = []
    for tok, first, last in scan_layout(text).comments:
        codes = _codes_in(tok.string)
        if codes is not None:
            found.append(_suppression(tok, codes, first, last))
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
    return codes is not None and silences(codes, diagnostic.code)


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
    return is_selected("IL003", settings, path)


def _unused(
    path: str, diagnostics: Sequence[Diagnostic], comments: Sequence[Suppression], settings: Settings
) -> Iterator[Diagnostic]:
    from initlint.codes import rule_codes

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
            and (c not in rule_codes() or matches_selector(c, settings.selectors))
        )
        if unused:
            yield _il003(path, s, f"unused suppression of {', '.join(unused)}: no such finding here")


def _il003(path: str, s: Suppression, message: str) -> Diagnostic:
    from initlint.rule import pipeline_diagnostic

    return pipeline_diagnostic("IL003", path, Span(s.line, s.column, s.line, s.end_column), message)


# Writing suppression comments: the language server's quick fix and `--add-noqa`.


def noqa_edit(text: str, line: int, code: str) -> Optional[tuple[int, int, str]]:
    """Where `# noqa: CODE` goes for a finding on `line` (1-based): (start, end, new text), columns of that line.

    An existing `# noqa: ...` or `# initlint: ignore[...]` comment gets the code
    added; a line that ends inside a string or with a backslash cannot hold one.
    """
    layout = scan_layout(text)
    if not layout.complete:
        return None
    lines = _bodies(io.StringIO(text).readlines())
    return _comment_edit(lines, layout, _comments_by_line(layout).get(line), line, [code])


def _bodies(lines: Sequence[str]) -> list[str]:
    # The lines as the tokenizer splits them (a form feed is not a line break), without their endings.
    return [line.rstrip("\r\n") for line in lines]


def _comments_by_line(layout: Layout) -> dict[int, tokenize.TokenInfo]:
    return {tok.start[0]: tok for tok, _, _ in layout.comments}


def _holds_comment(lines: Sequence[str], layout: Layout, comment: Optional[tokenize.TokenInfo], line: int) -> bool:
    """Whether a comment can end `line`: not inside a string, not after a line-continuation backslash."""
    if line in layout.in_token or not 1 <= line <= len(lines):
        return False
    return comment is not None or not lines[line - 1].rstrip().endswith("\\")


def _comment_edit(
    lines: Sequence[str], layout: Layout, comment: Optional[tokenize.TokenInfo], line: int, codes: Sequence[str]
) -> Optional[tuple[int, int, str]]:
    """The edit that makes `line` carry a suppression of `codes`, or None when it cannot or need not."""
    if not _holds_comment(lines, layout, comment, line):
        return None
    if comment is not None:
        for pattern in (IGNORE, NOQA):
            match = pattern.search(comment.string)
            if match is None:
                continue
            if not match.group("codes"):
                return None  # a bare noqa silences the line already
            present = _codes_in(comment.string) or frozenset()
            missing = [c for c in codes if not any(c.startswith(p) for p in present)]
            if not missing:
                return None
            # Other tools' codes stay: a noqa comment for E501 gains IL101 after it (E501, IL101).
            end = comment.start[1] + match.end("codes")
            return end, end, ", " + ", ".join(missing)
    body = lines[line - 1]
    content = body.rstrip()
    return len(content), len(body), "  # noqa: " + ", ".join(codes)


def add_noqa_to_text(text: str, diagnostics: Sequence[Diagnostic]) -> tuple[str, int, list[Diagnostic]]:
    """`text` with a `# noqa: CODE` comment for each diagnostic, the number of lines given or
    extended one, and the diagnostics that no comment can silence.

    A comment goes on the finding's line; where that line ends inside a string or with a
    backslash, on the first line of its statement (which covers the whole statement). The
    result is read back as suppressions, so a diagnostic counted as silenced really is.
    """
    layout = scan_layout(text, keep_statements=True)
    if not layout.complete:
        return text, 0, list(diagnostics)
    lines = io.StringIO(text).readlines()
    bodies = _bodies(lines)
    comments = _comments_by_line(layout)
    first_lines = {line: s.first for s in layout.statements for line in range(s.first, s.last + 1)}
    wanted: dict[int, list[str]] = {}
    for d in diagnostics:
        target = d.line if _holds_comment(bodies, layout, comments.get(d.line), d.line) else first_lines.get(d.line, d.line)
        codes = wanted.setdefault(target, [])
        if d.code not in codes:
            codes.append(d.code)
    edited = 0
    for target, codes in sorted(wanted.items()):
        edit = _comment_edit(bodies, layout, comments.get(target), target, sorted(codes))
        if edit is None:
            continue
        start, end, new = edit
        body = bodies[target - 1]
        lines[target - 1] = body[:start] + new + body[end:] + lines[target - 1][len(body):]
        edited += 1
    new_text = "".join(lines)
    read_back = read_suppression_comments(new_text)
    return new_text, edited, [d for d in diagnostics if not any(s.covers(d) for s in read_back)]


@dataclass(frozen=True)
class NoqaResult:
    """What `--add-noqa` did."""

    added: int  # lines that got a comment or a code
    unsilenced: tuple[str, ...]  # findings no comment can silence (a warning)
    errors: tuple[str, ...]  # files that could not be read or written


def add_noqa(diagnostics: Sequence[Diagnostic]) -> NoqaResult:
    """`--add-noqa`: write into each file the comments that silence its findings."""
    from initlint.rule import rule_by_code
    from initlint.source import read_source, write_source

    by_path: dict[str, list[Diagnostic]] = {}
    unsilenced: list[str] = []
    errors: list[str] = []
    for d in diagnostics:
        rule = rule_by_code(d.code)
        if rule is not None and rule.emitted_by_pipeline:  # IL001-IL003 are decided before comments are read
            unsilenced.append(f"{d.path}:{d.line}:{d.column}: {d.code} cannot be silenced by a comment")
        else:
            by_path.setdefault(d.path, []).append(d)
    added = 0
    for path, found in sorted(by_path.items()):
        source = read_source(path)
        if isinstance(source, Diagnostic):
            errors.append(f"{path}: {source.message}")
            continue
        text, edited, missed = add_noqa_to_text(source.text, found)
        unsilenced.extend(f"{d.path}:{d.line}:{d.column}: {d.code} cannot be silenced by a comment here" for d in missed)
        if not edited:
            continue
        try:
            write_source(path, text)
        except (OSError, UnicodeEncodeError) as exc:
            errors.append(f"{path}: cannot write: {getattr(exc, 'strerror', None) or exc}")
            continue
        added += edited
    return NoqaResult(added, tuple(unsilenced), tuple(errors))
