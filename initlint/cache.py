"""The result cache: unchanged files are not parsed again.

One cache file per (initlint build, result-affecting settings) under the
cache directory, `.initlint_cache/` at the project root by default (a
`.gitignore` with `*` and a `CACHEDIR.TAG` inside, as pytest and ruff do).
It maps each checked file to a `FileRecord`: the digest of the bytes that
were analysed, the file's diagnostics, its suppression comments, its
cross-file exports and, for a notebook, the map from program lines to cells.

A record is used when the file's current bytes have the same digest, or,
without reading the file, when its stat fingerprint (mtime, ctime, size,
inode) equals the one taken before the analysed bytes were read. A
fingerprint is recorded only for a file whose timestamps were at least
`RACY_NS` older than the moment of that stat (git's "racy" rule): a file
rewritten within the file system's timestamp granularity, with the same
size, is hashed again and never mistaken for the bytes analysed. A hit
by digest records the file's current fingerprint, so the next run needs
no read. The cache file's name covers
initlint's version, a digest of its own source files (an edited rule
invalidates everything) and every Settings field that can change a
result, so a stale entry can never hide a finding.

The cache lives in the project, so a repository can ship one of its own:
it is data only (JSON, read with `json.loads`, never pickle) and every
value is checked when read. A file that is not a regular file (a symbolic
link, a folder), is too big, is not JSON or is not exactly the shape this
build writes, or comes from another format or key, is a miss; so is a
record whose fields are not exactly what `_encode_record` writes. A cache
folder that is a symbolic link is neither read nor written (a repository
could point it anywhere), and pruning removes only files named as cache
files. Files of the pickle format of older builds are never opened, only
pruned. The encoding below is the cache's own, complete one (the
confirmation stage's verdicts are not cached); the `--format json` output
contract is `Diagnostic.to_json`.

This module and the records it loads import nothing from the analysis:
a run where every file is a hit never imports libcst.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, Optional

try:  # hashlib's own BLAKE2b, without hashlib loading OpenSSL (~2.5 ms of a one-file run)
    from _blake2 import blake2b
except ImportError:  # a build without the bundled hashes
    from hashlib import blake2b

from initlint import __version__
from initlint.config import Settings, find_pyproject
from initlint.diagnostics import APPLICABILITIES, Diagnostic, Edit, Fix, Related, Severity, Span, Subject
from initlint.exports import ModelArgument, OutputExport, PendingLoss, ProjectExports

if TYPE_CHECKING:  # a warm run of .py files needs no notebook code
    from initlint.notebook import NotebookMap

CACHE_DIR_NAME = ".initlint_cache"
ENV_CACHE_DIR = "INITLINT_CACHE_DIR"
# Only the benchmark and the tests set this: check every file, even those the
# pre-filter would skip, to show that the pre-filter loses no finding.
ENV_NO_PREFILTER = "INITLINT_NO_PREFILTER"
# Settings that cannot change what a file's analysis returns.
NOT_RESULT_AFFECTING = frozenset({"jobs", "use_cache", "cache_dir", "confirm", "config_path", "fail_on", "origins", "baseline"})
# Cache files kept per cache directory (other builds and settings); older ones are removed.
KEEP_CACHE_FILES = 8
# Link results (cross-file findings) kept per cache file, one per distinct set of files.
KEEP_LINKS = 16
# 1: pickle (never read any more); 2: JSON; 3: a fix carries its applicability;
# 4: a record names the roots analysed in part (out of step budget); 5: a record has a stat fingerprint.
FORMAT = 8
# A bigger cache file is not read: a planted one must not exhaust memory.
MAX_CACHE_BYTES = 64 * 1024 * 1024
# No position initlint reports comes near this; anything above was not written by it.
MAX_POSITION = 2**31 - 1
# A file's stat fingerprint: (st_mtime_ns, st_ctime_ns, st_size, st_ino).
Fingerprint = tuple[int, int, int, int]
# A file changed less than this before it was stat'ed may change again within the same
# timestamp (coarse file system clocks, 2 s on FAT): its fingerprint is not recorded.
RACY_NS = 2_000_000_000
# No stat field is above this (they are C int64 / uint64 values that fit a JSON number).
MAX_STAT = 2**64 - 1
# The names of cache files, of this format and of older ones: only these are pruned.
CACHE_FILE = re.compile(r"[0-9a-f]{32}\.(json|pickle)")


def digest_bytes(data: bytes) -> bytes:
    return blake2b(data, digest_size=16).digest()


def dependencies_unchanged(record: FileRecord, digests: dict[str, Optional[str]]) -> bool:
    """Whether every project module the record's analysis read still has the bytes it read.

    `digests` holds, for one run, each module's current digest (None: unreadable), so a module
    many files import is read and hashed once; a record with no dependencies needs neither."""
    for path, digest in record.depends:
        if path not in digests:
            try:
                with open(path, "rb") as handle:
                    digests[path] = digest_bytes(handle.read()).hex()
            except OSError:
                digests[path] = None
        if digests[path] != digest:
            return False
    return True


def fingerprint(info: os.stat_result, now_ns: int) -> Optional[Fingerprint]:
    """The fingerprint of a file stat'ed at `now_ns` (or later) and before it was read; None
    when either timestamp is within RACY_NS of `now_ns` (or in the future): another write in
    the same clock tick would keep it."""
    if max(info.st_mtime_ns, info.st_ctime_ns) > now_ns - RACY_NS:
        return None
    return stat_key(info)


def stat_key(info: os.stat_result) -> Fingerprint:
    """The fingerprint fields of a current stat, to compare with a recorded fingerprint."""
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


def prefilter_enabled() -> bool:
    return os.environ.get(ENV_NO_PREFILTER, "") in ("", "0")


@dataclass(frozen=True)
class FileRecord:
    """What the static analysis returned for one file's bytes (plain data, no libcst)."""

    path: str  # as the user gave it; diagnostics carry the same spelling
    digest: Optional[bytes]  # of the bytes analysed; None = not cacheable (unreadable file)
    diagnostics: tuple[Diagnostic, ...] = ()
    suppressions: dict[int, frozenset[str]] = field(default_factory=dict)
    # What the cross-file link step needs from this file (plain data, initlint/exports.py).
    exports: Optional[ProjectExports] = None
    # Whether the exports hold losses on imported models (the link step has work).
    pending: bool = False
    # False when the pre-filter found no deep-learning code in the text: a folder walk then
    # reports nothing for the file. Named on the command line, such a file is parsed anyway
    # (parsed=True), so that a syntax error in it is still IL001.
    model_code: bool = True
    parsed: bool = True
    # Why the analysis of this file died (a crash in native code, the kernel's OOM killer);
    # empty when it did not. Such a record has no digest, so it is never cached.
    crashed: str = ""
    # A notebook's program lines -> cells (its diagnostics are in program lines).
    notebook: Optional[NotebookMap] = None
    # The roots ("class `Net`") whose analysis ran out of its step budget: analysed in part.
    partial: tuple[str, ...] = ()
    # The project modules the analysis read (`from model import Block`): (absolute path, digest
    # hex); the record is reused only while each still has that digest (dependencies_unchanged).
    depends: tuple[tuple[str, str], ...] = ()
    # The classes whose call sites in other project files the analysis looked up (facts/callsites.py):
    # the record is analysed again when a file the run reads anew calls one of them (runner.py).
    lookups: tuple[str, ...] = ()
    # The file's stat before the analysed bytes were read; None when racy (see `fingerprint`).
    stat: Optional[Fingerprint] = None


def cache_directory(settings: Settings, paths: Sequence[str]) -> str:
    """--cache-dir / `cache-dir`, else $INITLINT_CACHE_DIR, else `.initlint_cache` at the project root."""
    if settings.cache_dir:
        return os.path.abspath(settings.cache_dir)
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return os.path.abspath(env)
    return os.path.join(project_root(settings, paths), CACHE_DIR_NAME)


def project_root(settings: Settings, paths: Sequence[str]) -> str:
    """The configuration's folder, else the folder of the nearest pyproject.toml above the
    paths' common parent, else that common parent."""
    if settings.project_root:
        return os.path.abspath(settings.project_root)
    absolute = [os.path.abspath(p) for p in paths] or [os.getcwd()]
    try:
        common = os.path.commonpath(absolute)
    except ValueError:  # different drives
        common = os.getcwd()
    if not os.path.isdir(common):
        common = os.path.dirname(common)
    pyproject = find_pyproject(common)
    return os.path.dirname(pyproject) if pyproject else common


def _source_digest() -> str:
    """A digest of initlint's own source files and its rules: an edited rule invalidates the cache."""
    folders = [os.path.dirname(os.path.abspath(__file__))]
    folders.extend(os.path.abspath(p) for p in _rules_folders())
    h = blake2b(digest_size=16)
    for folder in sorted(set(folders)):
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    path = os.path.join(root, name)
                    h.update(os.path.relpath(path, folder).encode() + b"\0")
                    try:
                        with open(path, "rb") as handle:
                            h.update(handle.read())
                    except OSError:
                        h.update(b"<unreadable>")
    return h.hexdigest()


def _rules_folders() -> list[str]:
    """The rules' folders, without importing the rules, nor importlib.util (~3 ms on a warm run):
    what importlib.util.find_spec("initlint.rules") does, through the import system's finders
    (an editable install maps the package elsewhere)."""
    import initlint

    loaded = sys.modules.get("initlint.rules")
    if loaded is not None:
        return list(getattr(loaded, "__path__", []))
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        spec = find_spec("initlint.rules", initlint.__path__) if find_spec is not None else None
        if spec is not None:
            return list(spec.submodule_search_locations or [])
    return []


def cache_key(settings: Settings) -> str:
    """Everything besides a file's bytes that its result depends on."""
    relevant = [
        (f.name, repr(getattr(settings, f.name)))
        for f in dataclasses.fields(settings)
        if f.name not in NOT_RESULT_AFFECTING
    ]
    text = repr((FORMAT, __version__, _source_digest(), relevant, prefilter_enabled()))
    return blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass
class _Contents:
    """What one cache file holds: a record per file, and the cross-file findings per file set."""

    records: dict[str, FileRecord] = field(default_factory=dict)  # absolute path -> record
    links: dict[bytes, tuple[Diagnostic, ...]] = field(default_factory=dict)  # file-set digest -> findings


class ResultCache:
    """The records of one cache file; `save()` writes them back atomically if anything changed."""

    def __init__(self, directory: str, key: str) -> None:
        self.directory = directory
        self.key = key
        self.path = os.path.join(directory, f"{key}.json")
        self.contents = self._load()
        self.dirty = False

    @classmethod
    def open(cls, settings: Settings, paths: Sequence[str]) -> ResultCache:
        return cls(cache_directory(settings, paths), cache_key(settings))

    def _load(self) -> _Contents:
        try:
            data = _read_cache_file(self.directory, self.path)
            return _Contents() if data is None else _decode_contents(json.loads(data), self.key)
        except Exception:  # noqa: BLE001 - unreadable, truncated, corrupted, hostile: start afresh
            return _Contents()

    def get(self, path: str, digest: bytes) -> Optional[FileRecord]:
        record = self.contents.records.get(os.path.abspath(path))
        if record is None or record.digest != digest or record.path != path:
            return None
        return record

    def get_unchanged(self, path: str, info: os.stat_result) -> Optional[FileRecord]:
        """The record of a file whose stat equals its recorded fingerprint: no need to read it."""
        record = self.contents.records.get(os.path.abspath(path))
        if record is None or record.stat is None or record.stat != stat_key(info) or record.path != path:
            return None
        return record

    def put(self, record: FileRecord) -> None:
        if record.digest is None:
            return
        key = os.path.abspath(record.path)
        if self.contents.records.get(key) != record:
            self.contents.records[key] = record
            self.dirty = True

    def get_links(self, key: bytes) -> Optional[tuple[Diagnostic, ...]]:
        return self.contents.links.get(key)

    def put_links(self, key: bytes, diagnostics: Sequence[Diagnostic]) -> None:
        links = self.contents.links
        links.pop(key, None)
        links[key] = tuple(diagnostics)  # newest last
        while len(links) > KEEP_LINKS:
            del links[next(iter(links))]
        self.dirty = True

    def save(self) -> None:
        """Write atomically (a concurrent run sees the old or the new file, never half of one).
        A cache that cannot be written only makes the next run slower."""
        if not self.dirty:
            return
        records = self.contents.records
        for key in [k for k in records if not os.path.exists(k)]:  # deleted files
            del records[key]
        data = json.dumps(_encode_contents(self.contents, self.key), separators=(",", ":")).encode("ascii")
        if len(data) > MAX_CACHE_BYTES:
            return  # it would not be read back
        import tempfile  # not needed on the read-only path (it pulls in random and shutil)

        try:
            _prepare_directory(self.directory)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, self.path)
            except BaseException:
                _remove(tmp)
                raise
            _prune(self.directory, keep=self.path)
        except OSError:
            return
        self.dirty = False


def _read_cache_file(directory: str, path: str) -> Optional[bytes]:
    """The bytes of a regular cache file of sane size, else None. Symbolic links are not
    followed (a repository could point one at /dev/zero or a file elsewhere), nor does a
    FIFO block the run."""
    if os.path.islink(directory):
        return None
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # absent, a symbolic link (ELOOP), unreadable
        return None
    with open(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CACHE_BYTES:
            return None
        data = handle.read(MAX_CACHE_BYTES + 1)
    return data if len(data) <= MAX_CACHE_BYTES else None


# ---------------------------------------------------------------------------- the JSON encoding
# Compact lists rather than objects (a cache file is read on every run). The
# decoders accept exactly what the encoders write, checking every type and
# shape; anything else raises _Invalid and the record, or the file, is a miss.
class _Invalid(ValueError):
    """A cache value this build did not write."""


def _invalid() -> NoReturn:
    raise _Invalid


def _encode_contents(contents: _Contents, key: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "key": key,
        "records": [_encode_record(absolute, record) for absolute, record in contents.records.items()],
        "links": [[digest.hex(), [_encode_diagnostic(d) for d in found]] for digest, found in contents.links.items()],
    }


def _decode_contents(data: Any, key: str) -> _Contents:
    if type(data) is not dict or data.get("format") != FORMAT or data.get("key") != key:
        return _Contents()
    contents = _Contents()
    for item in _list(data.get("records")):
        try:
            absolute, record = _decode_record(item)
        except ValueError:
            continue  # one bad record is one miss
        contents.records[absolute] = record
    for item in _list(data.get("links")):
        try:
            digest, found = _fields(item, 2)
            contents.links[_digest(digest)] = tuple(_decode_diagnostic(d) for d in _list(found))
        except ValueError:
            continue
    return contents


def _encode_record(absolute: str, record: FileRecord) -> list[Any]:
    assert record.digest is not None  # put() keeps only cacheable records
    return [
        absolute,
        record.path,
        record.digest.hex(),
        [_encode_diagnostic(d) for d in record.diagnostics],
        [[line, sorted(codes)] for line, codes in record.suppressions.items()],
        None if record.exports is None else _encode_exports(record.exports),
        record.model_code,
        record.parsed,
        None if record.notebook is None else [[c.cell, c.first, c.count] for c in record.notebook.cells],
        list(record.partial),
        None if record.stat is None else list(record.stat),
        [list(d) for d in record.depends],
        list(record.lookups),
    ]


def _decode_record(item: Any) -> tuple[str, FileRecord]:
    absolute, path, digest, diagnostics, suppressions, exports, model_code, parsed, notebook, partial, fingerprint_, depends, lookups = _fields(item, 13)
    decoded_exports = None if exports is None else _decode_exports(exports)
    record = FileRecord(
        path=_path(path),
        digest=_digest(digest),
        # `== []` is true of an empty list only: most records have no findings and no comments.
        diagnostics=() if diagnostics == [] else tuple([_decode_diagnostic(d) for d in _list(diagnostics)]),
        suppressions={} if suppressions == [] else {
            _position(line): frozenset([_text(c) for c in _list(codes)]) for line, codes in _items(suppressions, 2)
        },
        exports=decoded_exports,
        pending=bool(decoded_exports is not None and decoded_exports.pending),
        model_code=_flag(model_code),
        parsed=_flag(parsed),
        notebook=None if notebook is None else _decode_notebook(notebook),
        partial=() if partial == [] else tuple([_text(root) for root in _list(partial)]),
        stat=None if fingerprint_ is None else _fingerprint(fingerprint_),
        depends=() if depends == [] else tuple([(_text(p), _digest(h).hex()) for p, h in _items(depends, 2)]),
        lookups=() if lookups == [] else tuple([_identifier(name) for name in _list(lookups)]),
    )
    if record.notebook is not None:
        from initlint.source import is_notebook

        if not is_notebook(record.path):  # only a notebook has cells
            _invalid()
    return _path(absolute), record


def _decode_notebook(item: Any) -> NotebookMap:
    """Exactly what build_program makes: cells in increasing order, each starting where the
    one before it ends."""
    from initlint.notebook import CellLines, NotebookMap

    cells = []
    next_line, last_cell = 1, 0
    for cell, first, count in _items(item, 3):
        if _position(cell) <= last_cell or _position(first) != next_line:
            _invalid()
        next_line += _position(count)
        last_cell = cell
        cells.append(CellLines(cell, first, count))
    return NotebookMap(tuple(cells))


def _encode_diagnostic(d: Diagnostic) -> list[Any]:
    fix = d.fix
    subject = d.subject
    return [
        d.path,
        _encode_span(d.span),
        d.code,
        d.name,
        int(d.severity),
        d.message,
        [[r.path, _encode_span(r.span), r.message] for r in d.related],
        None if fix is None else [fix.message, [[_encode_span(e.span), e.text] for e in fix.edits], fix.applicability],
        None if subject is None else [subject.kind, subject.name, list(subject.params), list(subject.layers)],
    ]


_SEVERITIES = {int(s): s for s in Severity}


def _decode_diagnostic(item: Any) -> Diagnostic:
    path, span, code, name, severity, message, related, fix, subject = _fields(item, 9)
    # Checked inline: this runs for every cached finding on every run.
    if type(code) is not str or type(name) is not str or type(message) is not str or type(severity) is not int:
        _invalid()
    if severity not in _SEVERITIES:
        _invalid()
    return Diagnostic(
        _path(path),
        _span(span),
        code,
        name,
        _SEVERITIES[severity],
        message,
        related=() if related == [] else tuple([Related(_path(p), _span(s), _text(m)) for p, s, m in _items(related, 3)]),
        fix=None if fix is None else _decode_fix(fix),
        subject=None if subject is None else _decode_subject(subject),
    )


def _decode_fix(item: Any) -> Fix:
    message, edits, applicability = _fields(item, 3)
    if applicability not in APPLICABILITIES:
        _invalid()
    return Fix(_text(message), tuple(Edit(_span(s), _text(t)) for s, t in _items(edits, 2)), applicability)


def _decode_subject(item: Any) -> Subject:
    kind, name, params, layers = _fields(item, 4)
    return Subject(_text(kind), _text(name), tuple(_text(p) for p in _list(params)), tuple(_text(x) for x in _list(layers)))


def _encode_exports(exports: ProjectExports) -> list[Any]:
    return [
        [[name, o.squash, o.text, _encode_span(o.span)] for name, o in exports.outputs.items()],
        [[p.target, p.loss, p.from_logits, p.framework, p.loss_text, _encode_span(p.span)] for p in exports.pending],
        [[a.target, a.position, a.keyword, a.model, a.local, _encode_span(a.span)] for a in exports.arguments],
    ]


def _decode_exports(item: Any) -> ProjectExports:
    outputs, pending, given = _fields(item, 3)
    losses = []
    for target, loss, from_logits, framework, loss_text, span in _items(pending, 6):
        if from_logits is not None and type(from_logits) is not bool:
            _invalid()
        losses.append(PendingLoss(_text(target), _text(loss), from_logits, _text(framework), _text(loss_text), _span(span)))
    arguments = []
    for target, position, keyword, model, local, span in _items(given, 6):
        if position is not None and type(position) is not int or keyword is not None and type(keyword) is not str \
                or type(local) is not bool:
            _invalid()
        arguments.append(ModelArgument(_text(target), position, keyword, _text(model), local, _span(span)))
    return ProjectExports(
        outputs={_text(name): OutputExport(_text(squash), _text(text), _span(span)) for name, squash, text, span in _items(outputs, 4)},
        pending=tuple(losses),
        arguments=tuple(arguments),
    )


def _encode_span(span: Span) -> list[int]:
    return [span.line, span.column, span.end_line, span.end_column]


def _span(item: Any) -> Span:
    if type(item) is list and len(item) == 4:
        line, column, end_line, end_column = item
        # `type(...) is int` also turns away bools.
        if type(line) is int and type(column) is int and type(end_line) is int and type(end_column) is int:
            if min(item) >= 0 and max(item) <= MAX_POSITION:
                return Span(line, column, end_line, end_column)
    _invalid()


def _fingerprint(item: Any) -> Fingerprint:
    mtime, ctime, size, inode = _fields(item, 4)
    for value in (mtime, ctime, size, inode):
        if type(value) is not int or not 0 <= value <= MAX_STAT:
            _invalid()
    return (mtime, ctime, size, inode)


def _position(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= MAX_POSITION:
        _invalid()
    return int(value)


def _text(value: Any) -> str:
    if type(value) is not str:
        _invalid()
    return str(value)


def _identifier(value: Any) -> str:
    text = _text(value)
    if not text.isidentifier():
        _invalid()
    return text


def _path(value: Any) -> str:
    text = _text(value)
    if not text or "\0" in text:  # no real path holds a NUL (open() refuses one)
        _invalid()
    return text


def _digest(value: Any) -> bytes:
    text = _text(value)
    digest = bytes.fromhex(text) if len(text) == 32 else b""
    if len(digest) != 16:  # fromhex skips whitespace
        _invalid()
    return digest


def _flag(value: Any) -> bool:
    if type(value) is not bool:
        _invalid()
    return bool(value)


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        _invalid()
    return value


def _fields(value: Any, width: int) -> list[Any]:
    """A list of exactly `width` values."""
    items = _list(value)
    if len(items) != width:
        _invalid()
    return items


def _items(value: Any, width: int) -> list[list[Any]]:
    """A list of lists of `width` values each."""
    return [_fields(item, width) for item in _list(value)]


def link_key(records: Sequence[FileRecord]) -> Optional[bytes]:
    """The identity of a run's file set (paths and contents) for the cross-file link results."""
    h = blake2b(digest_size=16)
    for record in sorted(records, key=lambda r: r.path):
        if record.digest is None:
            return None
        h.update(os.path.abspath(record.path).encode() + b"\0" + record.path.encode() + b"\0" + record.digest)
    return h.digest()


def _prepare_directory(directory: str) -> None:
    if os.path.islink(directory):
        raise PermissionError(f"{directory} is a symbolic link")
    if not os.path.isdir(directory):
        parent = os.path.dirname(directory)
        # A folder nobody may write to (mode r-x, even when running as root) is
        # meant to stay as it is: no cache rather than a new folder in it.
        if os.path.isdir(parent) and not os.stat(parent).st_mode & 0o222:
            raise PermissionError(f"{parent} is read-only")
    os.makedirs(directory, exist_ok=True)
    # lexists: a dangling symbolic link planted in the folder is not followed to create its target.
    marker = os.path.join(directory, ".gitignore")
    if not os.path.lexists(marker):
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write("# Automatically created by initlint.\n*\n")
    tag = os.path.join(directory, "CACHEDIR.TAG")
    if not os.path.lexists(tag):
        with open(tag, "w", encoding="utf-8") as handle:
            handle.write(
                "Signature: 8a477f597d28d172789f06886806bc55\n"
                "# This file is a cache directory tag created by initlint.\n"
                "# For information about cache directory tags see https://bford.info/cachedir/\n"
            )


def _prune(directory: str, keep: str) -> None:
    """Keep the newest cache files (other builds, other settings); remove the rest, and every
    file of the pickle format (never read)."""
    try:
        entries = [os.path.join(directory, name) for name in os.listdir(directory) if CACHE_FILE.fullmatch(name)]
        current = [p for p in entries if p.endswith(".json")]
        current.sort(key=lambda p: os.lstat(p).st_mtime_ns, reverse=True)
    except OSError:
        return
    for path in [p for p in entries if p.endswith(".pickle")] + current[KEEP_CACHE_FILES:]:
        if path != keep:
            _remove(path)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
