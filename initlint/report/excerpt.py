"""The source lines a finding points at, for the reporters that show or fingerprint them.

Files are read (with `read_source`, so as the checker decoded them) only when a
finding in them asks, and once each; a file that cannot be read has no lines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Optional

from initlint.diagnostics import Span
from initlint.notebook import NotebookMap
from initlint.source import SourceFile, read_source

# The line breaks Python's tokenizer (and so libcst's positions) counts; str.splitlines
# would also split on form feeds and other separators and shift every line after them.
LINE_BREAK = re.compile(r"\r\n|\r|\n")


class SourceLines:
    """Each file's lines, read on first use; `sources` stands in for text not on disk (stdin)."""

    def __init__(self, sources: Optional[Mapping[str, str]] = None) -> None:
        self._lines: dict[str, Optional[list[str]]] = {
            path: LINE_BREAK.split(text) for path, text in (sources or {}).items()
        }
        self._maps: dict[str, NotebookMap] = {}

    def lines(self, path: str, cell: Optional[int] = None) -> Optional[list[str]]:
        """The file's lines; for a notebook finding (`cell` set, its span within the cell),
        that cell's lines of the checked program."""
        if path not in self._lines:
            source = read_source(path)
            self._lines[path] = LINE_BREAK.split(source.text) if isinstance(source, SourceFile) else None
            if isinstance(source, SourceFile) and source.notebook is not None:
                self._maps[path] = source.notebook
        lines = self._lines[path]
        if cell is None or lines is None:
            return lines
        where = next((c for c in self._maps[path].cells if c.cell == cell), None) if path in self._maps else None
        return None if where is None else lines[where.first - 1 : where.first - 1 + where.count]

    def span_text(self, path: str, span: Span, cell: Optional[int] = None) -> Optional[str]:
        """The text inside `span`, or None when the file (or those lines) cannot be read: it
        changed since the check, or never was on disk."""
        lines = self.lines(path, cell)
        end_line = max(span.line, span.end_line)
        if lines is None or not 1 <= span.line <= end_line <= len(lines):
            return None
        if end_line == span.line:
            return lines[span.line - 1][span.column - 1 : max(span.column, span.end_column) - 1]
        inner = lines[span.line - 1 : end_line]
        inner[0] = inner[0][span.column - 1 :]
        inner[-1] = inner[-1][: span.end_column - 1]
        return "\n".join(inner)
