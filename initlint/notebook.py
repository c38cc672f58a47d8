"""Jupyter notebooks (.ipynb): one program made of the code cells, and the way back.

A notebook is checked as ONE program: its code cells in order, each ending
with a newline. IPython syntax is left out line by line so that every other
line keeps its program line and its columns:

- a line magic, shell or help line (`%matplotlib inline`, `!pip install x`,
  `files = !ls`, `np.zeros?`, `?np.zeros`, IPython's `/`, `,` and `;`
  autocall) becomes an empty line, or `pass` at its own indentation when it
  is indented (so a block holding only a magic stays valid); a line it
  continues with a trailing backslash goes with it. Only a line that starts
  a statement counts (not one inside brackets or a triple-quoted string);
- a cell magic that runs Python (`%%time`, `%%timeit`, `%%capture`,
  `%%prun`, `%%debug`, `%%python`, `%%python3`, `%%pypy`, as in ruff) has
  its `%%` line left out and its body checked; any other cell magic
  (`%%bash`, `%%writefile`, `%%html`, ...) runs something else, so the cell
  is not part of the program;
- a notebook whose kernel language is not Python has an empty program.

Diagnostics keep program positions (what `--fix` and `--add-noqa` edit); a
`NotebookMap` turns a program line into (cell, line in cell) at the report
boundary (`to_cells`). Cells are numbered by their 1-based position among
ALL the notebook's cells, markdown ones included (as ruff and Jupyter's own
cell counter do). `rewrite_notebook` writes an edited program back into the
code cells, leaving every other byte of the file as Jupyter wrote it.

Stdlib only (json): the cache decodes maps without importing the analysis.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Optional, Union

from initlint.diagnostics import Diagnostic, Edit, Related, Span

# Cell magics whose body is Python (ruff's list).
PYTHON_CELL_MAGICS = frozenset({"capture", "debug", "prun", "pypy", "python", "python3", "time", "timeit"})
# A line starting with one of these is IPython syntax, never Python.
_ESCAPES = ("%", "!", "?", "/", ",", ";")
# `x = !ls`, `out = %sx ls`: an assignment from a magic or the shell.
_ASSIGNED_MAGIC = re.compile(r"[\w.\[\]\s,]+=\s*[%!]")
_CELL_MAGIC = re.compile(r"%%([\w.]+)")


class InvalidNotebook(ValueError):
    """The file is not a notebook initlint can read (the message says why)."""


@dataclass(frozen=True)
class CellLines:
    """The program lines one code cell occupies."""

    cell: int  # 1-based position among all the notebook's cells
    first: int  # program line (1-based) of the cell's first line
    count: int


@dataclass(frozen=True)
class NotebookMap:
    """Where each program line comes from: the code cells in program order."""

    cells: tuple[CellLines, ...]

    def locate(self, line: int) -> tuple[int, int]:
        """(cell, 1-based line in that cell) of a program line. A line past the end (a syntax
        error at end of file) stays in the last cell; with no cells, cell 1."""
        found = None
        for cell in self.cells:
            if cell.first > line:
                break
            found = cell
        if found is None:
            return (self.cells[0].cell if self.cells else 1), max(line, 1)
        return found.cell, line - found.first + 1

    def span(self, span: Span) -> tuple[int, Span]:
        """The cell of a span's start and the span in that cell's lines (an end in a later
        cell, which no rule reports, is clipped to the start's line)."""
        cell, line = self.locate(span.line)
        end_cell, end_line = self.locate(span.end_line)
        if end_cell != cell:
            return cell, Span(line, span.column, line, span.column)
        return cell, Span(line, span.column, end_line, span.end_column)


@dataclass(frozen=True)
class _Line:
    """One line of a cell: the text the program shows, and the cell's own."""

    program: str
    original: str


def _split(source: str) -> list[str]:
    """A cell's lines, without line ends (only `\\n` ends a line, as for Python's tokenizer)."""
    lines = source.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _blank(line: str) -> str:
    indent = line[: len(line) - len(line.lstrip())]
    return indent + "pass" if indent else ""


class _Scanner:
    """Enough of Python's lexer to tell whether a line starts a statement: bracket depth,
    open triple-quoted strings, backslash continuations."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote: Optional[str] = None  # the open triple quote
        self.continued = False

    def at_statement(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.continued

    def feed(self, line: str) -> None:
        i, n = 0, len(line)
        self.continued = False
        while i < n:
            if self.quote is not None:
                if line[i] == "\\":
                    i += 2
                    continue
                if line.startswith(self.quote, i):
                    i += 3
                    self.quote = None
                    continue
                i += 1
                continue
            char = line[i]
            if char == "#":
                break
            if char in "\"'":
                if line.startswith(char * 3, i):
                    self.quote = char * 3
                    i += 3
                    continue
                i += 1  # a one-line string: skip to its end
                while i < n and line[i] != char:
                    i += 2 if line[i] == "\\" else 1
                i += 1
                continue
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            elif char == "\\" and i == n - 1:
                self.continued = True
            i += 1


def _is_ipython(stripped: str) -> bool:
    if stripped.startswith(_ESCAPES):
        return True
    if stripped.endswith("?") and "#" not in stripped:  # `obj?`, `obj??`: help
        return True
    return _ASSIGNED_MAGIC.match(stripped) is not None


def cell_lines(source: str) -> Optional[list[_Line]]:
    """The lines a code cell contributes to the program, or None for a cell that is not
    Python (a non-Python cell magic)."""
    lines = _split(source)
    out: list[_Line] = []
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None:
        magic = _CELL_MAGIC.match(lines[first].strip())
        if magic is not None and magic.group(1) not in PYTHON_CELL_MAGICS:
            return None
    scanner = _Scanner()
    in_magic = False  # on a line that a magic continues with a backslash
    for index, line in enumerate(lines):
        stripped = line.strip()
        if in_magic:  # the magic's own line already stands in for the statement
            out.append(_Line("", line))
            in_magic = line.rstrip().endswith("\\")
            continue
        if index == first and stripped.startswith("%%"):
            out.append(_Line(_blank(line), line))
            in_magic = line.rstrip().endswith("\\")
            continue
        if scanner.at_statement() and stripped and _is_ipython(stripped):
            out.append(_Line(_blank(line), line))
            in_magic = line.rstrip().endswith("\\")
            continue
        scanner.feed(line)
        out.append(_Line(line, line))
    return out


@dataclass(frozen=True)
class Program:
    """A notebook's program text, its map, and each program line's original cell line."""

    text: str
    map: NotebookMap
    lines: tuple[tuple[int, _Line], ...]  # (cell, line) per program line


def build_program(cells: Sequence[tuple[int, str]]) -> Program:
    """The program of a notebook's code cells, given as (1-based position, source)."""
    layout: list[CellLines] = []
    lines: list[tuple[int, _Line]] = []
    for position, source in cells:
        contributed = cell_lines(source)
        if contributed is None:
            continue
        layout.append(CellLines(position, len(lines) + 1, len(contributed)))
        lines.extend((position, line) for line in contributed)
    text = "".join(line.program + "\n" for _, line in lines)
    return Program(text, NotebookMap(tuple(layout)), tuple(lines))


def _cells(data: Any) -> list[dict[str, Any]]:
    """The cells of a parsed notebook, checked for the shape nbformat 4 writes."""
    if type(data) is not dict:
        raise InvalidNotebook("not a Jupyter notebook: the top level is not a JSON object")
    cells = data.get("cells")
    if type(cells) is not list:
        raise InvalidNotebook("not a Jupyter notebook: no `cells` list (nbformat 4)")
    for number, cell in enumerate(cells, 1):
        if type(cell) is not dict or type(cell.get("cell_type")) is not str:
            raise InvalidNotebook(f"invalid notebook: cell {number} is not an object with a `cell_type`")
        if cell["cell_type"] == "code":
            source = cell.get("source", "")
            if not (type(source) is str or (type(source) is list and all(type(s) is str for s in source))):
                raise InvalidNotebook(f"invalid notebook: cell {number}'s `source` is not a string or a list of strings")
    return cells


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _is_python(data: Mapping[str, Any]) -> bool:
    metadata = data.get("metadata")
    if type(metadata) is not dict:
        return True
    for key, field in (("language_info", "name"), ("kernelspec", "language")):
        value = metadata.get(key)
        if type(value) is dict and type(value.get(field)) is str:
            return bool(value[field].lower() == "python")
    return True


def _load(text: str) -> tuple[Any, list[dict[str, Any]]]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidNotebook(f"not a Jupyter notebook: invalid JSON ({exc})") from None
    return data, _cells(data)


def read_program(text: str) -> Program:
    """The program of a notebook file's text; raises InvalidNotebook."""
    data, cells = _load(text)
    if not _is_python(data):
        return build_program(())
    return build_program([(i, _source(c)) for i, c in enumerate(cells, 1) if c["cell_type"] == "code"])


def rewrite_notebook(original: str, program: str) -> str:
    """The notebook text `original` with its code cells holding the edited `program`.

    Lines are matched to the original program's (difflib): an unchanged line keeps
    its cell and its original text (a magic comes back); a changed line stays in the
    cell of the line it replaces; an inserted line joins the cell of the line before
    it (the first cell at the top). Cells whose lines are unchanged are not touched;
    outputs, metadata, key order, the JSON indentation and the final newline stay.
    Raises InvalidNotebook.
    """
    import difflib  # only where a notebook is written back

    data, cells = _load(original)
    before = read_program(original)
    new_lines = _split(program)
    old_text = [line.program for _, line in before.lines]
    owners: dict[int, list[str]] = {c.cell: [] for c in before.map.cells}
    if not owners:
        return original  # nothing of the notebook is in the program
    matcher = difflib.SequenceMatcher(None, old_text, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i in range(i1, i2):
                cell, line = before.lines[i]
                owners[cell].append(line.original)
            continue
        for offset, new in enumerate(new_lines[j1:j2]):
            if i1 + offset < i2:
                cell = before.lines[i1 + offset][0]
            elif i2 > i1:
                cell = before.lines[i2 - 1][0]
            elif i1 > 0:
                cell = before.lines[i1 - 1][0]
            else:
                cell = before.map.cells[0].cell
            owners[cell].append(new)
    changed = False
    for position, lines in owners.items():
        entry = cells[position - 1]
        old_source = _source(entry)
        if _split(old_source) == lines:
            continue
        text = "\n".join(lines)
        if lines and old_source.endswith("\n"):
            text += "\n"
        if isinstance(entry.get("source"), list):
            entry["source"] = text.splitlines(keepends=True)
        else:
            entry["source"] = text
        changed = True
    if not changed:
        return original
    return _dump(data, original)


def _dump(data: Any, original: str) -> str:
    """`data` as JSON in the layout of `original` (Jupyter's: indent 1, non-ASCII kept)."""
    match = re.match(r"\{\r?\n([ \t]*)\S", original)
    indent: Optional[Union[int, str]] = None
    if match is not None:
        whitespace = match.group(1)
        indent = len(whitespace) if set(whitespace) <= {" "} else whitespace
    ascii_only = "\\u" in original and original.isascii()
    text = json.dumps(data, indent=indent, ensure_ascii=ascii_only)
    if original.endswith("\n"):
        text += "\n"
    return text


def to_cells(diagnostics: Sequence[Diagnostic], maps: Mapping[str, NotebookMap]) -> list[Diagnostic]:
    """The report boundary: diagnostics (and their related places and fix edits) in notebooks
    get their cell and positions within it; all others stay as they are."""
    if not maps:
        return list(diagnostics)
    out = []
    for d in diagnostics:
        related = tuple(_related(r, maps) for r in d.related)
        nb = maps.get(d.path)
        if nb is None:
            out.append(replace(d, related=related) if related != d.related else d)
            continue
        cell, span = nb.span(d.span)
        fix = d.fix
        if fix is not None:
            fix = replace(fix, edits=tuple(Edit(nb.span(e.span)[1], e.text) for e in fix.edits))
        out.append(replace(d, span=span, cell=cell, related=related, fix=fix))
    return out


def _related(r: Related, maps: Mapping[str, NotebookMap]) -> Related:
    nb = maps.get(r.path)
    if nb is None:
        return r
    cell, span = nb.span(r.span)
    return replace(r, span=span, cell=cell)
