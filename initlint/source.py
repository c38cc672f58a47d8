"""Read a file's bytes and decode them as Python does (PEP 263 cookie, BOM).

Anything that cannot be read or decoded becomes an IL002 diagnostic; this
stage never raises for bad input.
"""

from __future__ import annotations

import io
import os
import tokenize
from dataclasses import dataclass
from typing import Union

from initlint.diagnostics import Diagnostic, Severity, Span

# Larger files are generated or data, not model code; reading them would
# only make the run slow.
MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    path: str  # as given by the user (relative stays relative)
    text: str


def unreadable(path: str, message: str, line: int = 1, column: int = 1) -> Diagnostic:
    return Diagnostic(
        path=path,
        span=Span(line, column, line, column),
        code="IL002",
        name="unreadable-file",
        severity=Severity.ERROR,
        message=message,
    )


def decode_source(path: str, data: bytes) -> Union[SourceFile, Diagnostic]:
    """Decode bytes as CPython would, or explain why they cannot be."""
    if b"\x00" in data:
        return unreadable(path, "binary file (contains NUL bytes), not Python source")
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
    """
    with open(path, "rb") as handle:
        original = handle.read()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    bom = "\ufeff" if original.startswith(b"\xef\xbb\xbf") else ""
    if encoding == "utf-8-sig":  # detect_encoding's name when there is a BOM; the BOM is added below
        encoding = "utf-8"
    data = (bom + text).encode(encoding)
    tmp = f"{path}.initlint-tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)  # a reader sees the old file or the new one, never half of one
