"""Parse source text once with libcst, or explain where it does not parse (IL001)."""

from __future__ import annotations

import ast
import warnings
from typing import Union

import libcst as cst

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


def _cpython_position(text: str) -> Union[tuple[str, int, int], None]:
    """CPython's own message and position, which users know from tracebacks."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as exc:
        return exc.msg, exc.lineno or 1, exc.offset or 1
    except (RecursionError, MemoryError, ValueError):
        return None
    return None


def parse_source(path: str, text: str) -> Union[cst.Module, Diagnostic]:
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        cpython = _cpython_position(text)
        if cpython is not None:
            msg, line, column = cpython
            return syntax_error(path, f"syntax error: {msg}", line, column)
        detail = str(exc.message).strip().splitlines()[0] if exc.message else "invalid syntax"
        return syntax_error(path, f"syntax error: {detail}", exc.raw_line, exc.raw_column + 1)
    except RecursionError:
        return syntax_error(path, "code is nested too deeply to analyse", 1, 1)
    except MemoryError:
        return syntax_error(path, "file is too large to analyse", 1, 1)
