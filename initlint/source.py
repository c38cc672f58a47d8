"""Read a file's bytes and decode them as Python does (PEP 263 cookie, BOM).

A notebook (.ipynb) is UTF-8 JSON; its text is the program of its code cells
(initlint/notebook.py), and the source keeps the map back to the cells.

Anything that cannot be read or decoded becomes an IL002 diagnostic; this
stage never raises for bad input.
"""

from __future__ import annotations

import io
import os
import tokenize
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Union

from initlint.diagnostics import Diagnostic, Span
from initlint.rule import pipeline_diagnostic

if TYPE_CHECKING:
    from initlint.notebook import NotebookMap

# Larger files are generated or data, not model code; reading them would
# only make the run slow.
MAX_FILE_BYTES = 10 * 1024 * 1024
NOTEBOOK_SUFFIX = ".ipynb"


@dataclass(frozen=True)
class SourceFile:
    """A file's program text (a notebook's code cells joined), ready to parse."""

    path: str  # as given by the user (relative stays relative)
    text: str  # of a notebook: the program of its code cells
    notebook: Optional[NotebookMap] = None  # a notebook's program lines -> cells


def is_notebook(path: str) -> bool:
    """Whether `path` is read as a Jupyter notebook (initlint/notebook.py, imported only then)."""
    return path.lower().endswith(NOTEBOOK_SUFFIX)


def unreadable(path: str, message: str, line: int = 1, column: int = 1) -> Diagnostic:
    return pipeline_diagnostic("IL002", path, Span(line, column, line, column), message)


def decode_source(path: str, data: bytes) -> Union[SourceFile, Diagnostic]:
    """Decode bytes as CPython would, or explain why they cannot be."""
    if b"\x00" in data:
        return unreadable(path, "binary file (contains NUL bytes), not Python source")
    if is_notebook(path):
        return _decode_notebook(path, data)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # unknown codec in the cookie, or BOM + other cookie
        return unreadable(path, f"cannot decode: {exc.msg if hasattr(exc, 'msg') else exc}")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            line = data.count(b"\n", 0, exc.start) + 1
            column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            return unreadable(
                path,
                f"cannot decode as {encoding}: byte 0x{data[exc.start]:02x} at line {line} is invalid; "
                "add a coding cookie (e.g. `# -*- coding: latin-1 -*-`) or save the file as UTF-8",
                line,
                column,
            )
        return unreadable(path, f"cannot decode: {exc}")
    if text.startswith("\ufeff"):
        text = text[1:]
    return SourceFile(path=path, text=text)


def _decode_notebook(path: str, data: bytes) -> Union[SourceFile, Diagnostic]:
    from initlint.notebook import InvalidNotebook, read_program

    try:
        program = read_program(data.decode("utf-8-sig"))  # JSON is UTF-8 (RFC 8259)
    except UnicodeDecodeError as exc:
        return unreadable(path, f"cannot decode as UTF-8, as a notebook must be: byte 0x{data[exc.start]:02x} is invalid")
    except InvalidNotebook as exc:
        return unreadable(path, str(exc))
    return SourceFile(path=path, text=program.text, notebook=program.map)


def read_source(path: str) -> Union[SourceFile, Diagnostic]:
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            return unreadable(path, f"file too large to check ({size / 1e6:.1f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)")
        with open(path, "rb") as handle:
            data = handle.read()
    except IsADirectoryError:
        return unreadable(path, "is a directory, not a file")
    except OSError as exc:
        return unreadable(path, f"cannot read: {exc.strerror or exc}")
    return decode_source(path, data)


def write_source(path: str, text: str) -> None:
    """Write edited source text (as `decode_source` returned it) back to `path`, in the file's
    own encoding and with its BOM, so that an edit changes nothing but the edited text.

    The one place that rewrites a checked file (`--fix`, `--add-noqa`). Raises OSError when
    the file cannot be read or written; a caller reports it.

    A notebook gets the edited program back into its code cells (notebook.rewrite_notebook:
    outputs, metadata and JSON layout kept); one that is no longer a valid notebook raises
    ValueError (notebook.InvalidNotebook).
    """
    with open(path, "rb") as handle:
        original = handle.read()
    if is_notebook(path):
        from initlint.notebook import rewrite_notebook

        marker = b"\xef\xbb\xbf" if original.startswith(b"\xef\xbb\xbf") else b""
        notebook = rewrite_notebook(original.decode("utf-8-sig"), text)
        _replace(path, marker + notebook.encode("utf-8"))
        return
    encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    bom = "\ufeff" if original.startswith(b"\xef\xbb\xbf") else ""
    if encoding == "utf-8-sig":  # detect_encoding's name when there is a BOM; the BOM is added below
        encoding = "utf-8"
    _replace(path, (bom + text).encode(encoding))


def _replace(path: str, data: bytes) -> None:
    tmp = f"{path}.initlint-tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)  # a reader sees the old file or the new one, never half of one
