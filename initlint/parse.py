"""Parse source text once with libcst, or explain where it does not parse (IL001)."""

from __future__ import annotations

import ast
import re
import warnings
from contextlib import contextmanager
from typing import Iterator, Union

import libcst as cst
from libcst import CSTNode

from initlint.diagnostics import Diagnostic, Severity, Span


def syntax_error(path: str, message: str, line: int, column: int) -> Diagnostic:
    return Diagnostic(
        path=path,
        span=Span(line, column, line, column + 1),
        code="IL001",
        name="syntax-error",
        severity=Severity.ERROR,
        message=message,
    )


def _cpython_error(text: str) -> Union[tuple[str, int, int, bool], None]:
    """CPython's own verdict, which users know from tracebacks: None when it parses, else
    (message, line, column, too_deep). CPython's parser refuses deep nesting cleanly where
    libcst's native parser overflows the C stack and kills the process, so libcst never sees
    a file CPython finds too deep (measured: 3,000 nested parentheses or 10,000 unary minus
    signs crash libcst 1.x; CPython reports them)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as exc:
        too_deep = "too many" in exc.msg or "too deeply" in exc.msg
        return exc.msg, exc.lineno or 1, exc.offset or 1, too_deep
    except (RecursionError, MemoryError):
        return "code is nested too deeply to analyse", 1, 1, True
    except ValueError as exc:  # null bytes; source.py reports binary files before this
        return str(exc), 1, 1, True
    return None


@contextmanager
def _parser_built_nodes() -> Iterator[None]:
    """Skip re-validating each node while libcst's own parser builds them.

    Every node's `__post_init__` runs `_validate()`, which checks invariants
    that matter for hand-built nodes; the parser's output satisfies them by
    construction, and the check costs a quarter of a parse (libcst notes this
    itself in `CSTNode.__post_init__`: "PERF: ... avoid validating the tree
    when parsing a file"). Nodes built outside the parse are still validated.
    """
    validating = CSTNode.__dict__["__post_init__"]
    CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]
    try:
        yield
    finally:
        CSTNode.__post_init__ = validating  # type: ignore[method-assign]


def _no_validation(self: CSTNode) -> None:
    return None


# Far below the nesting that crashes libcst's native parser (about 3,000), far above real code.
SUSPICIOUS_DEPTH = 200
# Every byte but the six brackets. UTF-8 never uses an ASCII byte inside a multi-byte
# character, so the brackets left in the encoded text are exactly those of the text.
_NOT_BRACKET_BYTES = bytes(b for b in range(256) if b not in b"()[]{}")
# Starts with a character class, so the regex engine can skip ahead to candidates.
_UNARY_RUN = re.compile(r"[-+~](?:\s*[-+~]){%d}" % (SUSPICIOUS_DEPTH - 1))


def _long_unary_run(text: str) -> bool:
    if text.count("-") + text.count("+") + text.count("~") < SUSPICIOUS_DEPTH:
        return False
    return _UNARY_RUN.search(text) is not None


def _could_crash_libcst(text: str) -> bool:
    """A cheap test for the nesting that overflows libcst's native parser.

    Only a file that fails it pays for CPython's full parse before libcst
    sees it (a full `ast.parse` of every file costs ~5% of a run). Peeling
    matched bracket pairs one level per round stops after a few rounds on
    real code.
    """
    brackets = text.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKET_BYTES)
    for _ in range(SUSPICIOUS_DEPTH):
        if not brackets:
            return _long_unary_run(text)
        peeled = brackets.replace(b"()", b"").replace(b"[]", b"").replace(b"{}", b"")
        if peeled == brackets:  # unbalanced leftovers: only a long run is a risk
            return len(brackets) > SUSPICIOUS_DEPTH or _long_unary_run(text)
        brackets = peeled
    return True


def parse_source(path: str, text: str) -> Union[cst.Module, Diagnostic]:
    cpython = _cpython_error(text) if _could_crash_libcst(text) else None
    if cpython is not None and cpython[3]:
        msg, line, column, _ = cpython
        return syntax_error(path, f"syntax error: {msg}", line, column)
    try:
        with _parser_built_nodes():
            return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        cpython = cpython or _cpython_error(text)
        if cpython is not None:
            msg, line, column, _ = cpython
            return syntax_error(path, f"syntax error: {msg}", line, column)
        detail = str(exc.message).strip().splitlines()[0] if exc.message else "invalid syntax"
        return syntax_error(path, f"syntax error: {detail}", exc.raw_line, exc.raw_column + 1)
    except RecursionError:
        return syntax_error(path, "code is nested too deeply to analyse", 1, 1)
    except MemoryError:
        return syntax_error(path, "file is too large to analyse", 1, 1)
