"""The result cache: unchanged files are not parsed again.

One cache file per (initlint build, result-affecting settings) under the
cache directory, `.initlint_cache/` at the project root by default (a
`.gitignore` with `*` and a `CACHEDIR.TAG` inside, as pytest and ruff do).
It maps each checked file to a `FileRecord`: the digest of the bytes that
were analysed, the file's diagnostics, its suppression comments and its
cross-file exports.

A record is used only when the file's current bytes have the same digest
(size and mtime are not trusted: an edit within the file system's
timestamp granularity keeps both). The cache file's name covers
initlint's version, a digest of its own source files (an edited rule
invalidates everything) and every Settings field that can change a
result, so a stale entry can never hide a finding.

This module and the records it loads import nothing from the analysis:
a run where every file is a hit never imports libcst.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
from dataclasses import dataclass, field
from typing import Optional, Sequence

from initlint import __version__
from initlint.config import Settings, find_pyproject
from initlint.diagnostics import Diagnostic

CACHE_DIR_NAME = ".initlint_cache"
ENV_CACHE_DIR = "INITLINT_CACHE_DIR"
# Only the benchmark and the tests set this: check every file, even those the
# pre-filter would skip, to show that the pre-filter loses no finding.
ENV_NO_PREFILTER = "INITLINT_NO_PREFILTER"
# Settings that cannot change what a file's analysis returns.
NOT_RESULT_AFFECTING = frozenset({"jobs", "use_cache", "cache_dir", "confirm", "config_path", "fail_on"})
# Cache files kept per cache directory (other builds and settings); older ones are removed.
KEEP_CACHE_FILES = 8
# Link results (cross-file findings) kept per cache file, one per distinct set of files.
KEEP_LINKS = 16
FORMAT = 1


def digest_bytes(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def prefilter_enabled() -> bool:
    return os.environ.get(ENV_NO_PREFILTER, "") in ("", "0")


@dataclass(frozen=True)
class FileRecord:
    """What the static analysis returned for one file's bytes (plain data, no libcst)."""

    path: str  # as the user gave it; diagnostics carry the same spelling
    digest: Optional[bytes]  # of the bytes analysed; None = not cacheable (unreadable file)
    diagnostics: tuple[Diagnostic, ...] = ()
    suppressions: dict[int, frozenset[str]] = field(default_factory=dict)
    # facts.project.ProjectExports, pickled: loaded only when the cross-file
    # link step has to run (unpickling it imports the analysis).
    exports: Optional[bytes] = None
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
    import importlib.util

    folders = [os.path.dirname(os.path.abspath(__file__))]
    spec = importlib.util.find_spec("initlint.rules")  # the rules' folder, without importing them
    if spec is not None and spec.submodule_search_locations:
        folders.extend(os.path.abspath(p) for p in spec.submodule_search_locations)
    h = hashlib.blake2b(digest_size=16)
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


def cache_key(settings: Settings) -> str:
    """Everything besides a file's bytes that its result depends on."""
    relevant = [
        (f.name, repr(getattr(settings, f.name)))
        for f in dataclasses.fields(settings)
        if f.name not in NOT_RESULT_AFFECTING
    ]
    text = repr((FORMAT, __version__, _source_digest(), relevant, prefilter_enabled()))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass
class _Contents:
    records: dict[str, FileRecord] = field(default_factory=dict)  # absolute path -> record
    links: dict[bytes, tuple[Diagnostic, ...]] = field(default_factory=dict)  # file-set digest -> findings


class ResultCache:
    """The records of one cache file; `save()` writes them back atomically if anything changed."""

    def __init__(self, directory: str, key: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, f"{key}.pickle")
        self.contents = self._load()
        self.dirty = False

    @classmethod
    def open(cls, settings: Settings, paths: Sequence[str]) -> "ResultCache":
        return cls(cache_directory(settings, paths), cache_key(settings))

    def _load(self) -> _Contents:
        try:
            with open(self.path, "rb") as handle:
                contents = pickle.load(handle)
        except OSError:
            return _Contents()
        except Exception:  # noqa: BLE001 - truncated, corrupted or from an incompatible build: start afresh
            return _Contents()
        return contents if isinstance(contents, _Contents) else _Contents()

    def get(self, path: str, digest: bytes) -> Optional[FileRecord]:
        record = self.contents.records.get(os.path.abspath(path))
        if record is None or record.digest != digest or record.path != path:
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
        import tempfile  # not needed on the read-only path (it pulls in random and shutil)

        try:
            _prepare_directory(self.directory)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".pickle")
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump(self.contents, handle, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, self.path)
            except BaseException:
                _remove(tmp)
                raise
            _prune(self.directory, keep=self.path)
        except OSError:
            return
        self.dirty = False


def link_key(records: Sequence[FileRecord]) -> Optional[bytes]:
    """The identity of a run's file set (paths and contents) for the cross-file link results."""
    h = hashlib.blake2b(digest_size=16)
    for record in sorted(records, key=lambda r: r.path):
        if record.digest is None:
            return None
        h.update(os.path.abspath(record.path).encode() + b"\0" + record.path.encode() + b"\0" + record.digest)
    return h.digest()


def _prepare_directory(directory: str) -> None:
    if not os.path.isdir(directory):
        parent = os.path.dirname(directory)
        # A folder nobody may write to (mode r-x, even when running as root) is
        # meant to stay as it is: no cache rather than a new folder in it.
        if os.path.isdir(parent) and not os.stat(parent).st_mode & 0o222:
            raise PermissionError(f"{parent} is read-only")
    os.makedirs(directory, exist_ok=True)
    marker = os.path.join(directory, ".gitignore")
    if not os.path.exists(marker):
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write("# Automatically created by initlint.\n*\n")
    tag = os.path.join(directory, "CACHEDIR.TAG")
    if not os.path.exists(tag):
        with open(tag, "w", encoding="utf-8") as handle:
            handle.write(
                "Signature: 8a477f597d28d172789f06886806bc55\n"
                "# This file is a cache directory tag created by initlint.\n"
                "# For information about cache directory tags see https://bford.info/cachedir/\n"
            )


def _prune(directory: str, keep: str) -> None:
    """Keep the newest cache files (other builds, other settings); remove the rest."""
    try:
        entries = [
            os.path.join(directory, name)
            for name in os.listdir(directory)
            if name.endswith(".pickle") and not name.startswith(".tmp-")
        ]
        entries.sort(key=lambda p: os.stat(p).st_mtime_ns, reverse=True)
    except OSError:
        return
    for path in entries[KEEP_CACHE_FILES:]:
        if path != keep:
            _remove(path)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
