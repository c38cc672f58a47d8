"""Many files through the pipeline: discover -> check each -> link across files -> confirm.

Kept separate from engine.py (one file) so that parallelism, the cache and
the project-level links have one home.

The order of work keeps the common cases cheap:
1. every discovered file is stat'ed: one whose stat equals its cache record's
   fingerprint is a hit without being read; the others are read and hashed,
   and a hit by digest is final too;
2. a miss is decoded and pre-filtered (no deep-learning token: no finding,
   no parse);
3. only then is the analysis imported (libcst, the rules) and the rest are
   checked, in a process pool when there is enough work for it, biggest
   files first so that the workers finish together;
4. the cross-file link step runs over cached and fresh results alike (its
   result is cached too, per set of files).
A run where every file is a hit imports no libcst and parses nothing.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Optional, Union

from initlint.cache import (
    FileRecord,
    Fingerprint,
    ResultCache,
    dependencies_unchanged,
    digest_bytes,
    fingerprint,
    link_key,
    prefilter_enabled,
)
from initlint.config import Settings
from initlint.diagnostics import Diagnostic
from initlint.discover import discover, looks_like_model_code

if TYPE_CHECKING:  # imported where a file is read: a warm run reads none (it pulls in the rules' basics)
    from initlint.notebook import NotebookMap
    from initlint.source import SourceFile

# Below this much source to parse, a pool costs more than it saves (a worker
# fork plus result transfer is ~10 ms; libcst parses roughly 100 kB/s).
POOL_MIN_BYTES = 16_000


@dataclass(frozen=True)
class RunResult:
    """What one run found, over every file, after the cross-file link."""

    diagnostics: tuple[Diagnostic, ...]
    files_checked: int
    crashed: tuple[tuple[str, str], ...] = ()  # (path, why) of files whose analysis died
    # The notebooks among the files: their diagnostics are in program lines, and a report
    # locates them in cells through these (notebook.to_cells).
    notebooks: tuple[tuple[str, NotebookMap], ...] = ()
    # (path, roots) of the files analysed in part: a root ran out of its step budget.
    partial: tuple[tuple[str, tuple[str, ...]], ...] = ()


def passes_prefilter(text: str) -> bool:
    """The pre-parse framework filter (discover.looks_like_model_code), unless disabled for measurement."""
    return looks_like_model_code(text) if prefilter_enabled() else True


def _read(path: str) -> tuple[Union[bytes, Diagnostic], Optional[Fingerprint]]:
    """The file's bytes and its fingerprint, taken before they were read (a later write changes it)."""
    from initlint.source import MAX_FILE_BYTES, read_source, unreadable

    try:
        now = time.time_ns()
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_size <= MAX_FILE_BYTES:
                return handle.read(), fingerprint(info, now)
    except OSError:
        pass
    # read_source owns the explanation (IL002) of every read failure.
    source = read_source(path)
    if isinstance(source, Diagnostic):
        return source, None
    return unreadable(path, "the file changed while being read; check it again"), None


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _triage(
    path: str, data: Union[bytes, Diagnostic], named: bool, stat: Optional[Fingerprint]
) -> Union[FileRecord, SourceFile]:
    """The record of a file that needs no parse (unreadable, undecodable, not model code in a
    folder walk), else its decoded source. A file named on the command line is always parsed."""
    from initlint.source import decode_source

    if isinstance(data, Diagnostic):
        return FileRecord(path, None, (data,))
    source = decode_source(path, data)
    if isinstance(source, Diagnostic):
        return FileRecord(path, digest_bytes(data), (source,), stat=stat)
    if not named and not passes_prefilter(source.text):
        return FileRecord(path, digest_bytes(data), model_code=False, parsed=False, stat=stat)
    return source


def check_file(path: str, settings: Settings, named: bool = False) -> FileRecord:
    """The whole static analysis of one file, as a plain, picklable record (what the pool returns).

    The file is read again here: the record's digest is that of the bytes
    actually analysed, so the cache can never pair a result with other bytes.
    `named`: the file was named on the command line, so the pre-filter does not skip it.
    """
    data, stat = _read(path)
    source = _triage(path, data, named, stat)
    if isinstance(source, FileRecord):
        return source
    assert isinstance(data, bytes)
    from initlint.engine import check_source

    # Parsing allocates a great many acyclic nodes that reference counting
    # frees; the cycle collector would only rescan them again and again.
    enabled = gc.isenabled()
    gc.disable()
    try:
        result = check_source(path, source.text, settings)
    finally:
        if enabled:
            gc.enable()
    exports = result.exports
    return FileRecord(
        path=path,
        digest=digest_bytes(data),
        diagnostics=result.diagnostics,
        suppressions=result.suppressions,
        exports=exports,
        depends=result.depends,
        lookups=result.lookups,
        pending=bool(exports is not None and exports.pending),
        # Only a named file gets here without the pre-filter's say; a walk must still skip it.
        model_code=not named or passes_prefilter(source.text),
        notebook=source.notebook,
        partial=result.partial,
        stat=stat,
    )


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_worker_settings: Optional[Settings] = None
_worker_named: frozenset[str] = frozenset()


def _init_worker(settings: Settings, named: frozenset[str]) -> None:
    global _worker_settings, _worker_named
    _worker_settings = settings
    _worker_named = named


def _check_in_worker(path: str) -> FileRecord:
    assert _worker_settings is not None
    return check_file(path, _worker_settings, path in _worker_named)


def check_files(
    paths: Sequence[str], sizes: Sequence[int], settings: Settings, named: frozenset[str] = frozenset()
) -> Iterator[FileRecord]:
    """Analyse files, in a process pool when there is enough work for more than one core.
    `named`: the files named on the command line (checked even if the pre-filter would skip them)."""
    order = sorted(range(len(paths)), key=lambda i: (-sizes[i], paths[i]))  # biggest first
    ordered = [paths[i] for i in order]
    jobs = min(settings.jobs or default_jobs(), len(ordered))
    if jobs <= 1 or sum(sizes) < POOL_MIN_BYTES:
        for path in ordered:
            yield check_file(path, settings, path in named)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # Imported before the workers start so that forked workers share it.
    from initlint.rule import all_rules

    all_rules()
    methods = multiprocessing.get_all_start_methods()
    # fork: workers inherit the imported analysis instead of importing it again
    # (not on macOS, where forking a process that used system frameworks is unsafe).
    method = "fork" if "fork" in methods and sys.platform != "darwin" else None
    context = multiprocessing.get_context(method)
    # Keep the collector in the workers off the inherited objects, so their
    # memory pages stay shared with the parent (see the gc.freeze docs).
    gc.freeze()
    try:
        lost: list[str] = []
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(settings, named)) as pool:
            futures = []
            for path in ordered:
                try:
                    futures.append(pool.submit(_check_in_worker, path))
                except BrokenProcessPool:  # a worker died while the files were still being handed out
                    break
            for index, future in enumerate(futures):
                try:
                    record = future.result()
                except BrokenProcessPool:  # a worker died; every unfinished file is lost with it
                    lost = ordered[index:]
                    break
                yield record
            else:
                lost = ordered[len(futures):]
        # Check the lost files again one at a time, each in a process of its own, so that
        # the file that kills its process cannot take the others down with it.
        for path in lost:
            yield _check_alone(path, settings, named, context)
    finally:
        gc.unfreeze()


def _check_alone(path: str, settings: Settings, named: frozenset[str], context: Any) -> FileRecord:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(1, mp_context=context, initializer=_init_worker, initargs=(settings, named)) as solo:
        try:
            return solo.submit(_check_in_worker, path).result()
        except BrokenProcessPool:
            return FileRecord(path, None, crashed="the process analysing it died")


def link(records: Sequence[FileRecord], settings: Settings, cache: Optional[ResultCache]) -> list[Diagnostic]:
    """Cross-file findings (link.py) over cached and fresh records alike."""
    if not any(r.pending for r in records):
        return []  # nothing imports a model's output from elsewhere
    key = link_key(records) if cache is not None else None
    if key is not None and cache is not None:
        cached = cache.get_links(key)
        if cached is not None:
            return list(cached)
    from initlint.engine import FileResult
    from initlint.link import link_project

    results = [FileResult(r.path, r.diagnostics, exports=r.exports, suppressions=r.suppressions) for r in records]
    found = link_project(results, settings)
    if key is not None and cache is not None:
        cache.put_links(key, found)
    return found


def called_anew(records: Sequence[FileRecord], fresh: Sequence[bytes]) -> list[FileRecord]:
    """The records whose looked-up classes (`FileRecord.lookups`) some of the `fresh` bytes name
    (`Net(`, `model.Net(`, `from model import Net as M`): a call site that may be new or changed."""
    import re

    names = {name for r in records for name in r.lookups}
    pattern = re.compile(rb"\b(" + b"|".join(re.escape(n.encode()) for n in sorted(names)) + rb")\b")
    called = {m.decode() for data in fresh for m in pattern.findall(data)}
    return [r for r in records if called.intersection(r.lookups)]


def run(paths: Sequence[str], settings: Settings) -> RunResult:
    files = discover(paths, settings)
    # Files named on the command line (pre-commit names every staged file) skip the pre-filter.
    named = frozenset(p for p in paths if not os.path.isdir(p))
    cache = ResultCache.open(settings, paths) if settings.use_cache else None
    records: list[FileRecord] = []
    todo: list[str] = []
    sizes: list[int] = []
    module_digests: dict[str, Optional[str]] = {}  # imported project modules, hashed once per run
    fresh: list[bytes] = []  # the bytes of every file this run reads anew (a miss)
    for path in files:
        if cache is None:
            # Nothing to look up: the workers read and pre-filter each file themselves
            # (check_file), so this process only needs sizes to order the work.
            todo.append(path)
            sizes.append(_size(path))
            continue
        try:
            info: Optional[os.stat_result] = os.stat(path)
        except OSError:
            info = None
        if info is not None:
            hit = cache.get_unchanged(path, info)
            if hit is not None and (hit.parsed or path not in named) and dependencies_unchanged(hit, module_digests):
                records.append(hit)  # the stat says unchanged: not even read
                continue
        data, stat = _read(path)
        if isinstance(data, bytes):
            hit = cache.get(path, digest_bytes(data))
            if hit is not None and (hit.parsed or path not in named) and dependencies_unchanged(hit, module_digests):
                records.append(hit)
                cache.put(replace(hit, stat=stat))  # the next run need not read it
                continue
            fresh.append(data)
        triaged = _triage(path, data, path in named, stat)
        if isinstance(triaged, FileRecord):
            records.append(triaged)
            cache.put(triaged)
            continue
        todo.append(path)
        sizes.append(len(data) if isinstance(data, bytes) else 0)
    if fresh and any(r.lookups for r in records):
        for record in called_anew(records, fresh):
            # A file read anew (new, or edited) names a class this record looked up call sites of
            # (facts/callsites.py): its arguments there may differ, so the record is analysed again.
            records.remove(record)
            todo.append(record.path)
            sizes.append(_size(record.path))
    for record in check_files(todo, sizes, settings, named):
        records.append(record)
        if cache is not None:
            cache.put(record)
    # A file without deep-learning code reports nothing unless it was named (DESIGN.md, Budgets).
    diagnostics = [d for r in records if r.model_code or r.path in named for d in r.diagnostics]
    diagnostics.extend(link(records, settings, cache))
    if cache is not None:
        cache.save()
    diagnostics.sort(key=Diagnostic.sort_key)
    if settings.confirm.enabled:
        # Imported here: the static path never loads the confirmation stage.
        from initlint.confirm import confirm_diagnostics

        diagnostics = confirm_diagnostics(diagnostics, settings, settings.project_root)
    crashed = tuple((r.path, r.crashed) for r in records if r.crashed)
    notebooks = tuple((r.path, r.notebook) for r in records if r.notebook is not None)
    # Like the findings: a file without deep-learning code is silent unless named.
    partial = tuple(sorted((r.path, r.partial) for r in records if r.partial and (r.model_code or r.path in named)))
    return RunResult(tuple(diagnostics), len(files), crashed, notebooks, partial)


# ---------------------------------------------------------------------------- --fix / --diff
@dataclass(frozen=True)
class FixedSource:
    """One file's text after `--fix`, with what a check of it still reports."""

    text: str
    fixed: int  # findings fixed
    remaining: tuple[Diagnostic, ...]  # what a check of the fixed text reports


def fix_source(path: str, text: str, settings: Settings, unsafe: bool) -> FixedSource:
    """Apply fixes to one file's text until none applies (or MAX_PASSES)."""
    from initlint.engine import check_source
    from initlint.fixes import MAX_PASSES, apply_fixes

    fixed = 0
    diagnostics = check_source(path, text, settings).diagnostics
    for _ in range(MAX_PASSES):
        new_text, count = apply_fixes(text, diagnostics, unsafe)
        if not count:
            break
        text, fixed = new_text, fixed + count
        diagnostics = check_source(path, text, settings).diagnostics
    return FixedSource(text, fixed, diagnostics)


@dataclass(frozen=True)
class FixRun:
    """What `--fix` / `--diff` did to the files."""

    fixed: int
    diff: str  # unified diff of every changed file
    changed: tuple[str, ...]  # paths whose text changed
    errors: tuple[str, ...]  # files that could not be read back or written


def fix_files(diagnostics: Sequence[Diagnostic], settings: Settings, unsafe: bool, write: bool) -> FixRun:
    """Fix every file whose findings carry an applicable fix; write it back when `write`."""
    from initlint.fixes import applies, unified_diff
    from initlint.source import SourceFile, read_source, write_source

    paths = sorted({d.path for d in diagnostics if applies(d.fix, unsafe)})
    fixed, diffs, changed, errors = 0, [], [], []
    for path in paths:
        source = read_source(path)
        if not isinstance(source, SourceFile):
            errors.append(f"{path}: {source.message}")
            continue
        result = fix_source(path, source.text, settings, unsafe)
        if result.text == source.text:
            continue
        if write:
            try:
                write_source(path, result.text)
            except (OSError, UnicodeError, SyntaxError) as exc:
                errors.append(f"{path}: cannot write the fixed file: {getattr(exc, 'strerror', None) or exc}")
                continue
        fixed += result.fixed
        changed.append(path)
        diffs.append(unified_diff(path, source.text, result.text))
    return FixRun(fixed, "".join(diffs), tuple(changed), tuple(errors))
