"""Parse a checked file's text once with libcst, or explain where it does not parse (IL001)."""

from __future__ import annotations

from typing import Union

import libcst as cst

from initlint.cst_parser import parse_guarded
from initlint.diagnostics import Diagnostic, Span
from initlint.rule import pipeline_diagnostic


def syntax_error(path: str, message: str, line: int, column: int) -> Diagnostic:
    return pipeline_diagnostic("IL001", path, Span(line, column, line, column + 1), message)


def parse_source(path: str, text: str) -> Union[cst.Module, Diagnostic]:
    parsed = parse_guarded(text)
    if isinstance(parsed, cst.Module):
        return parsed
    return syntax_error(path, parsed.message, parsed.line, parsed.column)
