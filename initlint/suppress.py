"""Suppression comments (`# noqa: IL101`, `# initlint: ignore[IL101]`) and per-file ignores.

Comments are read from tokens, never by a regex over code.
"""

from __future__ import annotations

import fnmatch
import io
import re
import tokenize
from typing import Sequence

import libcst as cst

from initlint.config import Settings
from initlint.diagnostics import Diagnostic

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
IGNORE = re.compile(r"#\s*initlint:\s*ignore\[(?P<codes>[^\]]*)\]", re.IGNORECASE)


def read_suppressions(text: str) -> dict[int, frozenset[str]]:
    """line -> codes suppressed on it (an empty set silences every code).

    A comment on the first line of a multi-line statement covers every line
    of that statement.
    """
    by_line: dict[int, frozenset[str]] = {}
    statement_start = 1
    statement_lines: list[int] = []
    pending: dict[int, frozenset[str]] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return {}
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            codes = _codes_in(tok.string)
            if codes is not None:
                line = tok.start[0]
                by_line[line] = _merge(by_line.get(line), codes)
        if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            if tok.type == tokenize.NEWLINE:
                start_codes = by_line.get(statement_start)
                if start_codes is not None:
                    for line in range(statement_start + 1, tok.start[0] + 1):
                        pending[line] = _merge(pending.get(line), start_codes)
                statement_start = tok.end[0] + 1
            elif tok.type == tokenize.NL and tok.line.strip() in ("", ) or tok.type in (tokenize.INDENT, tokenize.DEDENT):
                pass
            continue
        if tok.type not in (tokenize.ENCODING, tokenize.ENDMARKER) and not statement_lines:
            pass
    for line, codes in pending.items():
        by_line[line] = _merge(by_line.get(line), codes)
    del statement_lines
    return by_line


def _merge(old: frozenset[str] | None, new: frozenset[str]) -> frozenset[str]:
    if old is None:
        return new
    if not old or not new:
        return frozenset()
    return old | new


def _codes_in(comment: str) -> frozenset[str] | None:
    for pattern in (IGNORE, NOQA):
        match = pattern.search(comment)
        if match:
            codes = match.group("codes")
            if not codes:
                return frozenset()
            return frozenset(c.upper() for c in re.split(r"[\s,]+", codes.strip()) if c)
    return None


def is_suppressed(diagnostic: Diagnostic, suppressions: dict[int, frozenset[str]]) -> bool:
    codes = suppressions.get(diagnostic.line)
    if codes is None:
        return False
    return not codes or any(diagnostic.code.startswith(c) for c in codes)


def apply_suppressions(
    diagnostics: Sequence[Diagnostic], module: cst.Module, text: str, settings: Settings
) -> tuple[list[Diagnostic], dict[int, frozenset[str]]]:
    suppressions = read_suppressions(text) if ("noqa" in text or "initlint:" in text) else {}
    kept = [d for d in diagnostics if not is_suppressed(d, suppressions)]
    return kept, suppressions


def per_file_ignored(settings: Settings, path: str) -> tuple[str, ...]:
    codes: list[str] = []
    normalized = path.replace("\\", "/")
    for pattern, pattern_codes in settings.per_file_ignores:
        if fnmatch.fnmatch(normalized, pattern) or fnmatch.fnmatch(normalized.rsplit("/", 1)[-1], pattern):
            codes.extend(pattern_codes)
    return tuple(codes)
