"""The result cache is data only: what a repository ships in `.initlint_cache/` cannot run code.

A pull request (or a freshly cloned repository) can commit any file under
the cache folder. Through the real command line: a pickle that would run
code when loaded runs nothing, wherever it is planted; corrupt, truncated,
hostile or misplaced entries are misses that change neither the findings
nor the exit status; and a warm run prints byte for byte what a cold run
prints, cross-file findings and suppressions included. In-process: every
field of a record survives the trip to disk, and a wrong type or shape at
any place of a cache file drops the record it is in, and nothing else.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Union

import pytest

from initlint.cache import CACHE_DIR_NAME, ResultCache
from initlint.config import Settings
from initlint.runner import check_file, link
from tests.cli.conftest import SIGMOID_BCE, SIGMOID_SCORER

MODEL = SIGMOID_SCORER

# Two losses on the model above (another file): a cross-file IL301 at 10:12, and one suppressed.
TRAIN = """\
import torch
from torch import nn

from model import Scorer


def train(features, labels):
    model = Scorer()
    criterion = nn.MSELoss()
    loss = criterion(model(features), labels)
    quiet = criterion(model(features), labels)  # noqa: IL301
    return loss + quiet
"""

# IL101 with related places and a subject for the confirmation stage.
TOWERS = """\
import torch
from torch import nn


class TwoTower(nn.Module):
    def __init__(self, n_items=1000, dim=16):
        super().__init__()
        self.item_emb = nn.Embedding(n_items, dim)
        self.proj = nn.Linear(dim, dim)
        nn.init.zeros_(self.item_emb.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, a, b):
        return (self.proj(self.item_emb(a)) * self.proj(self.item_emb(b))).sum(-1)
"""

# IL303 with a fix (BCELoss -> BCEWithLogitsLoss).
CLASSIFY = """\
import torch
from torch import nn


class ChurnClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x).squeeze(-1)


def fit(model, x, churned):
    criterion = nn.BCELoss()
    loss = criterion(model(x), churned)
    loss.backward()
"""

# The same mistake, suppressed in the file.
QUIET = SIGMOID_BCE.replace("loss = nn.BCELoss()(model(x), y)", "loss = nn.BCELoss()(model(x), y)  # noqa: IL303")
assert QUIET != SIGMOID_BCE  # the comment really is in the copy

FILES = {
    "model.py": MODEL,
    "train.py": TRAIN,
    "towers.py": TOWERS,
    "classify.py": CLASSIFY,
    "quiet.py": QUIET,
    "broken.py": "import torch\n\ndef forward(self, x)\n    return x\n",
    "notes.py": "print('no deep learning here')\n",
}


class Payload:
    """Unpickling this creates `marker` (what a hostile cache entry would do, less harmfully)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str]]:
        return (exec, (f"open({self.marker!r}, 'w').close()",))


def write_project(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (root / name).write_text(text)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write_project(root)
    return root


@pytest.fixture
def payload(tmp_path: Path) -> tuple[bytes, Path]:
    """A malicious pickle and the marker it creates; checked to really create it when loaded."""
    marker = tmp_path / "pwned"
    data = pickle.dumps(Payload(marker))
    pickle.loads(data)
    assert marker.exists()
    marker.unlink()
    return data, marker


def run(root: Path, *args: str, importtime: bool = False) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("INITLINT_CACHE_DIR", "INITLINT_NO_PREFILTER")}
    flags = ["-X", "importtime"] if importtime else []
    proc = subprocess.run(
        [sys.executable, *flags, "-m", "initlint", "--format", "json", *args, "."],
        cwd=root,
        capture_output=True,
        env=env,
        timeout=120,
    )
    stderr = proc.stderr.decode()
    assert "Traceback" not in stderr, stderr
    assert proc.returncode == 1, stderr  # the project has findings
    return proc


def served_from_cache(proc: subprocess.CompletedProcess[bytes]) -> bool:
    """No file was parsed: the analysis (libcst) was never imported."""
    lines = [line for line in proc.stderr.decode().splitlines() if line.startswith("import time:")]
    assert lines, "no import-time report"
    return not any(line.rsplit("|", 1)[1].strip() == "libcst" for line in lines)


def cache_files(root: Path) -> list[Path]:
    """The cache files a run wrote (the folder's markers aside)."""
    folder = root / CACHE_DIR_NAME
    return sorted(p for p in folder.iterdir() if p.name not in (".gitignore", "CACHEDIR.TAG"))


@pytest.fixture
def reference(project: Path) -> bytes:
    """The output with no cache at all."""
    out = run(project, "--no-cache").stdout
    found = {(d["path"], d["code"]) for d in json.loads(out)}
    assert {("train.py", "IL301"), ("towers.py", "IL101"), ("classify.py", "IL303"), ("broken.py", "IL001")} <= found
    assert not any(d["path"] == "quiet.py" for d in json.loads(out))  # suppressed
    assert [d["line"] for d in json.loads(out) if d["code"] == "IL301"] == [10]  # line 11 is suppressed
    assert not (project / CACHE_DIR_NAME).exists()
    return out


# ---------------------------------------------------------------------------- the round trip
def test_a_warm_run_prints_byte_for_byte_what_a_cold_run_prints(project: Path, reference: bytes) -> None:
    assert run(project).stdout == reference  # fills the cache
    assert [p.suffix for p in cache_files(project)] == [".json"]
    warm = run(project, importtime=True)
    assert served_from_cache(warm)
    assert warm.stdout == reference
    # Another file changes: the cross-file link is computed again from the cached exports.
    (project / "notes.py").write_text("print('still no deep learning here')\n")
    assert run(project).stdout == reference
    assert run(project).stdout == reference


def test_a_rewrite_that_keeps_size_and_mtime_is_seen(project: Path, reference: bytes) -> None:
    """Just after a run, a file gets other bytes of the same length and its old mtime back:
    the stat fingerprint must not pass it off as unchanged."""
    assert run(project).stdout == reference  # fills the cache
    towers = project / "towers.py"
    before = towers.stat()
    towers.write_text("#" * (len(TOWERS) - 1) + "\n")  # no model code: its IL101 goes
    os.utime(towers, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert towers.stat().st_size == before.st_size and towers.stat().st_mtime_ns == before.st_mtime_ns
    found = {(d["path"], d["code"]) for d in json.loads(run(project).stdout)}
    assert ("towers.py", "IL101") not in found and ("classify.py", "IL303") in found


def test_a_file_whose_stat_is_unchanged_is_not_read_again(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import initlint.cache
    import initlint.runner

    monkeypatch.chdir(project)
    monkeypatch.setattr(initlint.cache, "RACY_NS", 0)  # the files were written a moment ago
    settings = Settings(project_root=str(project), cache_dir=str(project / CACHE_DIR_NAME))
    first = initlint.runner.run(["."], settings)
    read: list[str] = []
    real_read = initlint.runner._read

    def counting_read(path: str) -> Any:
        read.append(path)
        return real_read(path)

    monkeypatch.setattr(initlint.runner, "_read", counting_read)
    assert initlint.runner.run(["."], settings).diagnostics == first.diagnostics
    assert read == []
    (project / "towers.py").write_text(TOWERS.replace("nn.init.zeros_(self.item_emb.weight)\n", ""))  # another size
    again = initlint.runner.run(["."], settings)
    assert set(read) == {"towers.py"}  # looked up, then analysed
    assert {d.code for d in first.diagnostics if d.path.endswith("towers.py")} == {"IL101"}
    assert not [d for d in again.diagnostics if d.path.endswith("towers.py") and d.code == "IL101"]


def test_every_field_of_a_record_survives_the_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    settings = Settings(project_root=str(project))
    records = [check_file(name, settings) for name in sorted(FILES)]
    diagnostics = [d for r in records for d in r.diagnostics]
    # Everything the encoding has to carry is there to be carried.
    assert any(d.fix is not None and d.fix.edits for d in diagnostics)
    assert any(d.related for d in diagnostics) and any(d.subject is not None and d.subject.params for d in diagnostics)
    assert any(r.exports is not None and r.exports.outputs for r in records)
    assert any(r.exports is not None and r.exports.pending and r.pending for r in records)
    assert any(r.suppressions for r in records)
    cache = ResultCache(str(project / CACHE_DIR_NAME), "0" * 32)
    for record in records:
        cache.put(record)
    found = link(records, settings, cache)
    assert [d.code for d in found] == ["IL301"]
    cache.save()

    again = ResultCache(str(project / CACHE_DIR_NAME), "0" * 32)
    assert again.contents == cache.contents
    for record in records:
        assert record.digest is not None and again.get(record.path, record.digest) == record
    assert list(again.contents.links.values()) == [tuple(found)]
    assert ResultCache(str(project / CACHE_DIR_NAME), "1" * 32).contents.records == {}  # another key


# ---------------------------------------------------------------------------- hostile pickles
def test_a_pickle_in_place_of_the_cache_file_runs_nothing(project: Path, reference: bytes, payload: tuple[bytes, Path]) -> None:
    data, marker = payload
    run(project)
    written = cache_files(project)
    assert written
    for path in written:  # every file the previous run wrote, whatever its name
        path.write_bytes(data)
        path.with_suffix(".pickle").write_bytes(data)  # and the name older builds read
    assert run(project).stdout == reference
    assert not marker.exists()
    assert run(project).stdout == reference
    assert not marker.exists()


def test_a_fresh_clone_with_a_planted_cache_runs_nothing(tmp_path: Path, payload: tuple[bytes, Path]) -> None:
    """What a pull request can do: commit `.initlint_cache/<key>.*` for the path CI checks it out at."""
    data, marker = payload
    root = tmp_path / "checkout"
    write_project(root)
    reference = run(root, "--no-cache").stdout
    run(root)
    names = [p.name for p in cache_files(root)]
    stems = {name.split(".")[0] for name in names}
    # A new checkout at the same path: the planted files are there before initlint ever ran.
    shutil.rmtree(root)
    write_project(root)
    folder = root / CACHE_DIR_NAME
    folder.mkdir()
    for name in names + [f"{stem}.pickle" for stem in stems] + [f"{stem}.json" for stem in stems]:
        (folder / name).write_bytes(data)
    assert run(root).stdout == reference
    assert not marker.exists()


def test_a_leftover_pickle_of_an_older_build_is_pruned_unread(project: Path, reference: bytes, payload: tuple[bytes, Path]) -> None:
    data, marker = payload
    folder = project / CACHE_DIR_NAME
    folder.mkdir()
    old = folder / ("ab" * 16 + ".pickle")
    old.write_bytes(data)
    assert run(project).stdout == reference
    assert not marker.exists()
    assert not old.exists()
    assert [p.suffix for p in cache_files(project)] == [".json"]


# ---------------------------------------------------------------------------- corrupt or hostile entries
def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _records(edit: Callable[[list[Any]], None]) -> Callable[[bytes], bytes]:
    """Rewrite the cache file with `edit` applied to each record of a file that has findings."""

    def rewrite(data: bytes) -> bytes:
        contents = json.loads(data)
        for record in contents["records"]:
            if record[3]:
                edit(record)
        return json.dumps(contents).encode()

    return rewrite


def _set(index: int, value: Any, *where: int) -> Callable[[list[Any]], None]:
    def edit(record: list[Any]) -> None:
        target = record
        for i in where:
            target = target[i]
        target[index] = value

    return edit


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda data: b"",
    "truncated": _truncated,
    "binary junk": lambda data: bytes(range(256)) * 64,
    "not an object": lambda data: b"[1, 2, 3]",
    "format 1": lambda data: json.dumps({**json.loads(data), "format": 1}).encode(),
    "another key": lambda data: json.dumps({**json.loads(data), "key": "0" * 32}).encode(),
    "nested garbage": lambda data: b'{"format": 2, "records": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
    "a 5000-digit number": lambda data: data.replace(b'"towers.py",[', b'"towers.py",[' + b"7" * 5000 + b",", 1),
    "line as text": _records(_set(0, "10", 3, 0, 1)),
    "huge line": _records(_set(0, 10**30, 3, 0, 1)),
    "negative column": _records(_set(1, -1, 3, 0, 1)),
    "line as a bool": _records(_set(0, True, 3, 0, 1)),
    "unknown severity": _records(_set(4, 9, 3, 0)),
    "severity as text": _records(_set(4, "error", 3, 0)),
    "message as a list": _records(_set(5, ["x"], 3, 0)),
    "short diagnostic": _records(lambda record: record[3][0].pop()),
    "diagnostic as an object": _records(_set(0, {"code": "IL101"}, 3)),
    "digest not hex": _records(_set(2, "zz" * 16)),
    "digest with spaces": _records(lambda record: record.__setitem__(2, record[2][:30] + " 0")),
    "path with a NUL": _records(_set(1, "towers.py\x00/etc/passwd")),
    "fix without edits": _records(lambda record: record[3][0].__setitem__(7, ["use the logits loss"])),
    "fix of unknown applicability": _records(_set(7, ["m", [[[1, 1, 1, 2], "x"]], "sometimes"], 3, 0)),
    "fix applicability as a bool": _records(_set(7, ["m", [[[1, 1, 1, 2], "x"]], True], 3, 0)),
    "subject params not text": _records(lambda record: record[3][0].__setitem__(8, ["class", "X", [1], []])),
    "suppression line as text": _records(lambda record: record.__setitem__(4, [["11", ["IL301"]]])),
    "exports not a pair": _records(lambda record: record.__setitem__(5, [[]])),
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_a_corrupt_cache_file_is_a_miss(project: Path, reference: bytes, name: str) -> None:
    run(project)
    (path,) = cache_files(project)
    corrupted = CORRUPTIONS[name](path.read_bytes())
    assert corrupted != path.read_bytes()
    path.write_bytes(corrupted)
    proc = run(project, importtime=True)
    assert proc.stdout == reference
    assert not served_from_cache(proc)  # the hostile record was not used


def test_a_folder_fifo_or_symbolic_link_in_place_of_the_cache_file_is_a_miss(project: Path, reference: bytes, tmp_path: Path) -> None:
    run(project)
    (path,) = cache_files(project)
    good = tmp_path / "elsewhere.json"
    good.write_bytes(path.read_bytes())
    path.unlink()
    path.mkdir()
    assert run(project).stdout == reference
    path.rmdir()
    if hasattr(os, "mkfifo"):  # opening a FIFO would wait for a writer for ever
        os.mkfifo(path)
        assert run(project).stdout == reference
        path.unlink()
    targets = [good, Path(os.devnull)] + ([Path("/dev/zero")] if os.path.exists("/dev/zero") else [])
    for target in targets:  # not followed, even to a valid cache file
        path.symlink_to(target)
        proc = run(project, importtime=True)
        assert proc.stdout == reference
        assert not served_from_cache(proc)
        path.unlink()


def test_a_cache_folder_that_is_a_symbolic_link_is_left_alone(project: Path, reference: bytes, tmp_path: Path) -> None:
    """A repository could point `.initlint_cache` at any folder: nothing is written or pruned there."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    theirs = [elsewhere / f"{i:032x}.json" for i in range(12)] + [elsewhere / ("cd" * 16 + ".pickle")]
    for path in theirs:
        path.write_text("someone else's file\n")
    (project / CACHE_DIR_NAME).symlink_to(elsewhere, target_is_directory=True)
    assert run(project).stdout == reference
    assert sorted(elsewhere.iterdir()) == sorted(theirs)


def test_a_dangling_link_in_the_cache_folder_is_not_followed(project: Path, reference: bytes, tmp_path: Path) -> None:
    target = tmp_path / "outside" / "created"
    target.parent.mkdir()
    folder = project / CACHE_DIR_NAME
    folder.mkdir()
    (folder / ".gitignore").symlink_to(target)
    (folder / "CACHEDIR.TAG").symlink_to(target)
    assert run(project).stdout == reference
    assert not target.exists()
    assert [p.suffix for p in cache_files(project)] == [".json"]


# ---------------------------------------------------------------------------- every place of the file
Json = Union[None, bool, int, float, str, list[Any], dict[str, Any]]


def places(value: Json, where: tuple[Union[int, str], ...] = ()) -> Iterator[tuple[tuple[Union[int, str], ...], Json]]:
    yield where, value
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from places(item, where + (i,))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from places(item, where + (key,))


def wrong(value: Json) -> list[Json]:
    """Values of another type or shape than `value` (never one the format also allows there)."""
    if isinstance(value, bool):
        return ["true", 1, []]
    if isinstance(value, int):
        return [str(value), value + 0.5, True, -1, 2**31, 10**30]
    if isinstance(value, str):
        return [1, None, [value]]
    if value is None:
        return ["x", 0, []]
    if isinstance(value, list):
        return [{}, "x", value + [None]]
    return [[], "x"]


def test_a_wrong_type_or_shape_anywhere_drops_that_record_only(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    settings = Settings(project_root=str(project))
    folder = str(project / CACHE_DIR_NAME)
    records = [check_file(name, settings) for name in sorted(FILES)]
    cache = ResultCache(folder, "0" * 32)
    for record in records:
        cache.put(record)
    link(records, settings, cache)
    cache.save()
    original = cache.contents
    path = Path(cache.path)
    data = json.loads(path.read_bytes())
    record_keys = [r[0] for r in data["records"]]
    link_keys = [bytes.fromhex(k) for k, _ in data["links"]]
    assert len(record_keys) == len(FILES) and link_keys

    tried = 0
    for where, value in places(data):
        for replacement in wrong(value):
            mutated: Json = json.loads(json.dumps(data))
            if where:
                parent: Any = mutated
                for step in where[:-1]:
                    parent = parent[step]
                parent[where[-1]] = replacement
            else:
                mutated = replacement
            path.write_text(json.dumps(mutated))
            loaded = ResultCache(folder, "0" * 32).contents  # never raises
            tried += 1
            for key, record in loaded.records.items():
                assert original.records[key] == record, (where, replacement)
            for digest, found in loaded.links.items():
                assert original.links[digest] == found, (where, replacement)
            if len(where) >= 2 and where[0] == "records" and isinstance(where[1], int) and where[1] < len(record_keys):
                assert record_keys[where[1]] not in loaded.records, (where, replacement)
            elif len(where) >= 2 and where[0] == "links" and isinstance(where[1], int) and where[1] < len(link_keys):
                assert link_keys[where[1]] not in loaded.links, (where, replacement)
            elif len(where) < 2 and where != ("records",) and where != ("links",):
                assert not loaded.records and not loaded.links, (where, replacement)
    assert tried > 500


def test_a_notebook_record_keeps_its_cell_map_and_a_bad_map_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.cli.conftest import TWO_TOWER_NOTEBOOK

    monkeypatch.chdir(tmp_path)
    (tmp_path / "nb.ipynb").write_text(TWO_TOWER_NOTEBOOK, encoding="utf-8")
    record = check_file("nb.ipynb", Settings(project_root=str(tmp_path)))
    assert record.notebook is not None and [c.cell for c in record.notebook.cells] == [2, 3]
    assert record.diagnostics
    cache = ResultCache(str(tmp_path / CACHE_DIR_NAME), "0" * 32)
    cache.put(record)
    cache.save()
    assert record.digest is not None
    assert ResultCache(str(tmp_path / CACHE_DIR_NAME), "0" * 32).get("nb.ipynb", record.digest) == record

    # Cells out of order, or lines that do not follow on: not what this build writes.
    [cache_file] = (tmp_path / CACHE_DIR_NAME).glob("*.json")
    data = json.loads(cache_file.read_text())
    for bad in ([[3, 1, 4], [2, 5, 15]], [[2, 1, 4], [3, 6, 15]], [[2, 1, -1]], [[2, 1, True]]):
        data["records"][0][-1] = bad
        cache_file.write_text(json.dumps(data))
        assert ResultCache(str(tmp_path / CACHE_DIR_NAME), "0" * 32).get("nb.ipynb", record.digest) is None
