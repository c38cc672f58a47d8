"""Baselines: the findings a project has accepted for now, so that a run reports only new ones.

A baseline entry identifies a finding without its line number, so that it
survives code moving around it: the rule code, the file's path relative to
the project root ('/'-separated), the source of the statement the finding
starts in (its code tokens, so whitespace, re-indentation, line breaks and
comments do not count), and an occurrence index among identical entries of
the file. It is computed from the text and the diagnostic's span alone, and
the text is read only for files that have findings (a cached file's was not
read this run).

The file is JSON, one entry per line, sorted, so that a rewrite after lines
moved changes nothing and a review diff shows exactly the findings added or
fixed:

    {
      "version": 1,
      "findings": [
        {"code": "IL101", "path": "src/model.py", "source": "return(vec_a*vec_b).sum(-1)", "occurrence": 0}
      ]
    }

An entry no finding matches any more is stale; a run lists stale entries
(of the files and codes it checked) with --show-stale-baseline, and
--write-baseline rewrites the file without them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from initlint.config import Settings
from initlint.diagnostics import Diagnostic

VERSION = 1
# A baseline of a large legacy project is well under this; more is not a baseline.
MAX_BYTES = 64 * 1024 * 1024
# Longer statement sources are cut and completed with a digest of the whole.
MAX_SOURCE = 200
_CODE = re.compile(r"^IL[0-9]{3}$")
_KEYS = ("code", "path", "source", "occurrence")
# The f-string (and template-string) parts Python 3.12+ tokenizes separately; kept verbatim so
# that a baseline written on one Python version matches on another.
_STRING_START = {getattr(tokenize, n) for n in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, n)}
_STRING_END = {getattr(tokenize, n) for n in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, n)}


class BaselineError(Exception):
    """A baseline file that cannot be read or written; the message names it and says why."""


@dataclass(frozen=True, order=True)
class Entry:
    """One baselined finding, identified by its code and source line rather than its position."""

    path: str
    code: str
    source: str
    occurrence: int

    def to_json(self) -> str:
        return json.dumps(
            {"code": self.code, "path": self.path, "source": self.source, "occurrence": self.occurrence},
            ensure_ascii=False,
        )

    def describe(self) -> str:
        return _printable(f"{self.path}: {self.code} `{self.source}`" + (f" (#{self.occurrence + 1})" if self.occurrence else ""))


def _printable(text: str) -> str:
    # A baseline is data from a file: nothing in it reaches the terminal as a control character.
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def project_root(settings: Settings) -> str:
    """Where baseline paths are relative to: the configuration's folder, else the working directory."""
    return os.path.abspath(settings.project_root or os.getcwd())


def relative_path(path: str, root: str) -> str:
    return os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")


def statement_source(text: str, line: int) -> str:
    """The normalized source of the statement that contains `line`: its code tokens, joined with a
    space only where two words would otherwise merge. Falls back to the line's text with its
    whitespace collapsed where the file does not tokenize that far."""
    from initlint.suppress import scan_layout

    layout = scan_layout(text, keep_statements=True)
    for statement in layout.statements:
        if statement.first <= line <= statement.last:
            return _join(statement.tokens, text)
    lines = text.splitlines()
    return " ".join(lines[line - 1].split()) if 1 <= line <= len(lines) else ""


def _join(tokens: Sequence[tokenize.TokenInfo], text: str) -> str:
    lines: Optional[list[str]] = None
    parts: list[str] = []
    depth = 0
    opened: Optional[tuple[int, int]] = None
    for tok in tokens:
        if tok.type in _STRING_START:
            if depth == 0:
                opened = tok.start
            depth += 1
            continue
        if depth:
            if tok.type in _STRING_END:
                depth -= 1
                if depth == 0 and opened is not None:
                    lines = lines if lines is not None else text.splitlines(keepends=True)
                    _append(parts, _slice(lines, opened, tok.end))
            continue
        _append(parts, tok.string)
    return "".join(parts)


def _append(parts: list[str], piece: str) -> None:
    if parts and piece and _wordy(parts[-1][-1:]) and _wordy(piece[0]):
        parts.append(" ")
    parts.append(piece)


def _wordy(char: str) -> bool:
    return char.isalnum() or char == "_"


def _slice(lines: Sequence[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    if start[0] == end[0]:
        return lines[start[0] - 1][start[1]:end[1]]
    middle = "".join(lines[start[0]:end[0] - 1])
    return lines[start[0] - 1][start[1]:] + middle + lines[end[0] - 1][:end[1]]


def _shorten(source: str) -> str:
    if len(source) <= MAX_SOURCE:
        return source
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{source[:MAX_SOURCE - 24]} #sha256={digest}"


def fingerprints(
    diagnostics: Sequence[Diagnostic], root: str, texts: Mapping[str, str] = {}
) -> list[tuple[Entry, Diagnostic]]:
    """Each diagnostic with its baseline entry. `texts`: source already at hand (stdin), by path;
    any other file with findings is read from disk."""
    from initlint.source import read_source

    out: list[tuple[Entry, Diagnostic]] = []
    by_path: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_path.setdefault(d.path, []).append(d)
    for path, found in by_path.items():
        text = texts.get(path)
        if text is None:
            source = read_source(path)
            text = "" if isinstance(source, Diagnostic) else source.text
        relative = relative_path(path, root)
        seen: dict[tuple[str, str], int] = {}
        cache: dict[int, str] = {}  # line -> statement source (findings often share a line)
        for d in sorted(found, key=Diagnostic.sort_key):
            if d.line not in cache:
                cache[d.line] = _shorten(statement_source(text, d.line)) if text else ""
            key = (d.code, cache[d.line])
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            out.append((Entry(relative, d.code, key[1], occurrence), d))
    return out


def render(entries: Sequence[Entry]) -> str:
    """The baseline file's text: sorted, one entry per line, stable across runs."""
    body = ",\n".join(f"    {e.to_json()}" for e in sorted(set(entries)))
    return f'{{\n  "version": {VERSION},\n  "findings": [\n{body}{chr(10) if body else ""}  ]\n}}\n'


def write_baseline(path: str, entries: Sequence[Entry]) -> None:
    tmp = f"{path}.initlint-tmp"
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(render(entries))
        os.replace(tmp, path)
    except OSError as exc:
        raise BaselineError(f"baseline {path}: cannot write: {exc.strerror or exc}") from None


def read_baseline(path: str) -> list[Entry]:
    """The entries of a baseline file, validated; anything else is a BaselineError."""
    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path

    def fail(why: str) -> BaselineError:
        return BaselineError(f"baseline {shown}: {why}")

    try:
        if os.path.getsize(path) > MAX_BYTES:
            raise fail(f"larger than {MAX_BYTES // (1024 * 1024)} MB, not an initlint baseline")
        with open(path, "rb") as handle:
            data: Any = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        raise fail("no such file (create it with --write-baseline)") from None
    except IsADirectoryError:
        raise fail("is a directory, not a file") from None
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise fail("not UTF-8, not an initlint baseline") from None
    except json.JSONDecodeError as exc:
        raise fail(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise fail("nested too deeply, not an initlint baseline") from None
    if not isinstance(data, dict) or "findings" not in data:
        raise fail('expected an object with "version" and "findings" (write one with --write-baseline)')
    version = data.get("version")
    if version != VERSION or isinstance(version, bool):
        raise fail(f"unsupported version {_printable(repr(version))} (this initlint reads version {VERSION})")
    unknown = sorted(set(data) - {"version", "findings"})
    if unknown:
        raise fail(f"unknown key {_printable(repr(unknown[0]))}")
    if not isinstance(data["findings"], list):
        raise fail('"findings" must be a list')
    return [_entry(item, index, fail) for index, item in enumerate(data["findings"])]


def _entry(item: Any, index: int, fail: Any) -> Entry:
    where = f"findings[{index}]"
    if not isinstance(item, dict) or set(item) != set(_KEYS):
        raise fail(f"{where} must be an object with exactly the keys {', '.join(_KEYS)}")
    code, path, source, occurrence = (item[k] for k in _KEYS)
    if not isinstance(code, str) or not _CODE.match(code):
        raise fail(f"{where}.code must be a rule code such as IL101")
    if not isinstance(path, str) or not path:
        raise fail(f"{where}.path must be a non-empty string")
    if not isinstance(source, str):
        raise fail(f"{where}.source must be a string")
    if not isinstance(occurrence, int) or isinstance(occurrence, bool) or occurrence < 0:
        raise fail(f"{where}.occurrence must be a non-negative integer")
    return Entry(path, code, source, occurrence)


@dataclass(frozen=True)
class Filtered:
    """What a baseline leaves of a run's findings, and which of its entries matched nothing."""

    kept: tuple[Diagnostic, ...]
    hidden: int
    stale: tuple[Entry, ...]

    def notes(self, baseline: str, show_stale: bool) -> list[str]:
        """The lines for stderr: each stale entry when asked for, else a count of them."""
        if not self.stale:
            return []
        count = len(self.stale)
        noun = "entry no longer matches" if count == 1 else "entries no longer match"
        if show_stale:
            listed = [f"stale baseline entry: {e.describe()}" for e in self.stale]
            return listed + [f"{count} baseline {noun}; run --write-baseline {baseline} to prune"]
        return [f"{count} baseline {noun} (--show-stale-baseline lists them; --write-baseline {baseline} prunes them)"]


def apply_baseline(
    diagnostics: Sequence[Diagnostic],
    entries: Sequence[Entry],
    settings: Settings,
    paths: Sequence[str],
    texts: Mapping[str, str] = {},
) -> Filtered:
    """The diagnostics no entry matches. An entry of a file or code this run did not check
    (other `paths`, a narrower --select) is not stale: it may still match a full run."""
    from collections import Counter

    root = project_root(settings)
    remaining = Counter(entries)
    kept: list[Diagnostic] = []
    for entry, d in fingerprints(diagnostics, root, texts):
        if remaining[entry] > 0:
            remaining[entry] -= 1
        else:
            kept.append(d)
    kept.sort(key=Diagnostic.sort_key)
    scopes = [relative_path(p, root) for p in paths]
    stale = sorted(e for e, n in remaining.items() if n > 0 and _checked(e, scopes, settings))
    return Filtered(tuple(kept), len(diagnostics) - len(kept), tuple(stale))


def _checked(entry: Entry, scopes: Sequence[str], settings: Settings) -> bool:
    from initlint.selection import is_selected

    in_paths = any(s in (".", "") or entry.path == s or entry.path.startswith(s.rstrip("/") + "/") for s in scopes)
    return in_paths and is_selected(entry.code, settings, entry.path)


def record(diagnostics: Sequence[Diagnostic], settings: Settings, path: str, texts: Mapping[str, str] = {}) -> int:
    """--write-baseline: write every finding of the run to `path`; the number of entries."""
    entries = [entry for entry, _ in fingerprints(diagnostics, project_root(settings), texts)]
    write_baseline(path, entries)
    return len(entries)


def filter_run(
    diagnostics: Sequence[Diagnostic], settings: Settings, paths: Sequence[str], texts: Mapping[str, str] = {}
) -> Filtered:
    """The run's findings less those the configured baseline records."""
    assert settings.baseline is not None
    return apply_baseline(diagnostics, read_baseline(settings.baseline), settings, paths, texts)
