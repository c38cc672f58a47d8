"""Time initlint against the libcst parse floor and its peers on a directory you name.

    .venv/bin/python bench/run_bench.py /path/to/pytorch-image-models
    .venv/bin/python bench/run_bench.py /path/to/diffusers --only cold   # peak memory
    .venv/bin/python bench/run_bench.py DIR --prefilter-check             # findings with/without the pre-filter

Every figure is the median wall time of `--runs` fresh processes, measured
side by side in one run of this script (a measurement and the one it is
compared with run in turn, round after round, so both see the same load):

- floor: one process parsing every `.py` file under DIR with libcst (the
  cost any libcst-based linter pays at least once per file);
- initlint cold: `initlint --no-cache DIR` (all cores), and the peak
  memory of its process tree (sum of PSS, sampled from /proc in one more
  run, so that the sampling does not slow the timed ones);
- initlint warm: `initlint DIR` with a cache filled by a previous run and
  nothing changed (the cache lives in a temporary folder, never in DIR);
- one file: `initlint --no-cache FILE` for one model file of about 340
  lines against `python -c "import libcst; libcst.parse_module(...)"`;
- ruff, TorchFix and Fixit when installed (on PATH or in `--peers-bin`).

`--prefilter-check` also runs initlint with the pre-filter disabled
(INITLINT_NO_PREFILTER=1) and compares the findings, which must be
identical. The script fetches nothing and writes only to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

# The cost of parsing every file with libcst in one process (the floor).
FLOOR_SCRIPT = r"""
import os, sys
import libcst
for root, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    for name in sorted(files):
        if name.endswith(".py"):
            with open(os.path.join(root, name), "rb") as handle:
                data = handle.read()
            try:
                libcst.parse_module(data)
            except Exception:
                pass
"""
WARM_UP = "import libcst, initlint.cli, initlint.runner, initlint.engine; from initlint.rule import all_rules; all_rules()"
PARSE_ONE = "import sys, libcst; libcst.parse_module(open(sys.argv[1], 'rb').read())"

# The targets of issue 7 (medians on a 2-core machine).
COLD_VS_FLOOR = 0.6
WARM_SECONDS = 0.5
ONE_FILE_VS_PARSE = 1.3
PEAK_MB = 500


@dataclass
class Measure:
    name: str
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system seconds of the process tree
    peak_mb: Optional[float] = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")


class TreeMemory(threading.Thread):
    """Peak of the summed proportional set size (PSS) of a process and its descendants."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            total = sum(_pss_kb(p) for p in _tree(self.pid))
            self.peak_kb = max(self.peak_kb, total)
            self.stopped.wait(self.interval)


def _tree(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        current = stack.pop()
        out.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as handle:
                stack.extend(int(c) for c in handle.read().split())
        except OSError:
            pass
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def timed(
    cmd: Sequence[str], env: Optional[dict[str, str]] = None, memory: bool = False
) -> tuple[float, float, Optional[float], subprocess.CompletedProcess[bytes]]:
    """Wall time (s), CPU time of the process tree (s), peak tree memory (MB, Linux only)
    and the finished process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    monitor = None
    if memory and os.path.exists("/proc/self/smaps_rollup"):
        monitor = TreeMemory(proc.pid)
        monitor.start()
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = None
    if monitor is not None:
        monitor.stopped.set()
        monitor.join()
        peak = monitor.peak_kb / 1024
    return elapsed, cpu, peak, subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def repeat(name: str, cmd: Sequence[str], runs: int, env: Optional[dict[str, str]] = None, memory: bool = False) -> Measure:
    return side_by_side([(name, cmd)], runs, env, memory)[0]


def side_by_side(
    commands: Sequence[tuple[str, Sequence[str]]], runs: int, env: Optional[dict[str, str]] = None, memory: bool = False
) -> list[Measure]:
    """Run the commands in turn, `runs` rounds: a measurement and the one it is compared with
    see the same machine (on a shared machine the load drifts within minutes)."""
    measures = [Measure(name) for name, _ in commands]
    for _ in range(runs):
        for measure, (_, cmd) in zip(measures, commands):
            elapsed, cpu, peak, proc = timed(cmd, env, memory)
            if proc.returncode not in (0, 1):
                measure.note = f"exit {proc.returncode}: {proc.stderr.decode(errors='replace').strip()[-300:]}"
            measure.times.append(elapsed)
            measure.cpu.append(cpu)
            if peak is not None:
                measure.peak_mb = max(measure.peak_mb or 0.0, peak)
    return measures


def python_files(directory: str) -> list[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, n) for n in sorted(files) if n.endswith(".py"))
    return found


def pick_model_file(directory: str, lines: int = 340) -> Optional[str]:
    """The model file (an nn.Module subclass) whose length is closest to `lines`."""
    best: Optional[tuple[int, str]] = None
    for path in python_files(directory):
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError):
            continue
        if "nn.Module)" not in text:
            continue
        distance = abs(text.count("\n") - lines)
        if best is None or distance < best[0]:
            best = (distance, path)
    return best[1] if best else None


def findings(proc: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    try:
        data = json.loads(proc.stdout or b"[]")
    except json.JSONDecodeError:
        return []
    return data if isinstance(data, list) else []


def prefilter_check(initlint: list[str], directory: str, env: dict[str, str]) -> tuple[bool, str]:
    """Findings with and without the pre-filter must be identical.

    By design a file with no deep-learning code gets no diagnostic at all,
    IL001 (syntax error) and IL002 (unreadable) included: those are counted
    apart; every other difference is a lost finding.
    """
    with_filter = subprocess.run([*initlint, "--no-cache", "--format", "json", directory], capture_output=True, env=env)
    without = subprocess.run(
        [*initlint, "--no-cache", "--format", "json", directory],
        capture_output=True,
        env={**env, "INITLINT_NO_PREFILTER": "1"},
    )
    a, b = findings(with_filter), findings(without)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from initlint.discover import looks_like_model_code

    files = python_files(directory)
    skipped = 0
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                skipped += not looks_like_model_code(handle.read())
        except OSError:
            pass
    input_errors = ("IL001", "IL002")
    lost = [d for d in b if d not in a and d.get("code") not in input_errors]
    gained = [d for d in a if d not in b]
    unparsable = [d for d in b if d not in a and d.get("code") in input_errors]
    summary = (
        f"{skipped} of {len(files)} files skipped before parsing; {len(a)} findings with the pre-filter, "
        f"{len(b)} without ({len(unparsable)} IL001/IL002 in skipped files)"
    )
    if not lost and not gained:
        return True, summary + ": identical"
    example = json.dumps((lost or gained)[:3])[:600]
    return False, summary + f": {len(lost)} lost, {len(gained)} gained, e.g. {example}"


def find_tool(name: str, peers_bin: Optional[str]) -> Optional[str]:
    if peers_bin:
        candidate = os.path.join(peers_bin, name)
        if os.path.exists(candidate):
            return candidate
    return shutil.which(name)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory")
    parser.add_argument("--runs", type=int, default=3, help="runs per initlint / floor measurement (median)")
    parser.add_argument("--peer-runs", type=int, default=1, help="runs per peer tool (TorchFix and Fixit take minutes)")
    parser.add_argument("--file", help="the one-file measurement's file (default: the model file closest to 340 lines)")
    parser.add_argument("--peers-bin", help="a folder holding ruff / torchfix / fixit executables")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--prefilter-check", action="store_true", help="compare findings with and without the pre-filter")
    parser.add_argument("--only", choices=["floor", "cold", "warm", "one-file", "peers", "prefilter"], action="append")
    args = parser.parse_args(argv)
    directory = os.path.abspath(args.directory)
    if not os.path.isdir(directory):
        parser.error(f"{directory}: not a directory")
    only = set(args.only or ["floor", "cold", "warm", "one-file", "peers"])
    python = sys.executable
    initlint = [python, "-m", "initlint"]
    # Bytecode as an installed package has it: compiled once (here into a
    # temporary folder, not next to the sources), not on every start.
    pycache = tempfile.mkdtemp(prefix="initlint-bench-pycache-")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("INITLINT_CACHE_DIR", "INITLINT_NO_PREFILTER", "PYTHONDONTWRITEBYTECODE")
    }
    env["PYTHONPYCACHEPREFIX"] = pycache
    subprocess.run([python, "-c", WARM_UP], env=env, check=True)
    rows: list[Measure] = []
    verdicts: list[str] = []
    files = python_files(directory)
    lines = 0
    for path in files:
        with open(path, "rb") as handle:
            lines += handle.read().count(b"\n")
    print(f"{directory}: {len(files)} .py files, {lines} lines; {os.cpu_count()} cores; Python {sys.version.split()[0]}", flush=True)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    floor = cold = warm = None
    floor_cmd = ("floor: libcst parse, 1 process", [python, "-c", FLOOR_SCRIPT, directory])
    cold_cmd = ("initlint cold (--no-cache)", [*initlint, "--no-cache", "--format", "json", directory])
    if "floor" in only and "cold" in only:
        floor, cold = side_by_side([floor_cmd, cold_cmd], args.runs, env)
    elif "floor" in only:
        floor = repeat(*floor_cmd, args.runs, env)
    elif "cold" in only:
        cold = repeat(*cold_cmd, args.runs, env)
    if floor is not None:
        rows.append(floor)
    if cold is not None:
        # Memory in a run of its own: sampling /proc takes CPU from the timed runs.
        cold.peak_mb = repeat("memory", cold_cmd[1], 1, env, memory=True).peak_mb
        rows.append(cold)
        if floor is not None:
            ratio = cold.median / floor.median
            verdicts.append(f"cold = {ratio:.2f} x floor (target <= {COLD_VS_FLOOR}): {'ok' if ratio <= COLD_VS_FLOOR else 'MISSED'}")
        if cold.peak_mb is not None:
            verdicts.append(f"cold peak memory {cold.peak_mb:.0f} MB (target < {PEAK_MB}): {'ok' if cold.peak_mb < PEAK_MB else 'MISSED'}")
    if "warm" in only:
        with tempfile.TemporaryDirectory(prefix="initlint-bench-") as cache:
            cached = [*initlint, "--cache-dir", cache, "--format", "json", directory]
            subprocess.run(cached, capture_output=True, env=env)  # fill the cache
            warm = repeat("initlint warm (cache, nothing changed)", cached, max(args.runs, 5), env)
        rows.append(warm)
        verdicts.append(f"warm = {warm.median:.2f} s (target <= {WARM_SECONDS} s): {'ok' if warm.median <= WARM_SECONDS else 'MISSED'}")
    if "one-file" in only:
        one = args.file or pick_model_file(directory)
        if one is None:
            print("no model file found for the one-file measurement", file=sys.stderr)
        else:
            with open(one, "rb") as handle:
                count = handle.read().count(b"\n")
            name = os.path.relpath(one, directory)
            parse, single = side_by_side(
                [
                    (f"python -c 'import libcst; parse' ({name}, {count} lines)", [python, "-c", PARSE_ONE, one]),
                    (f"initlint --no-cache {name}", [*initlint, "--no-cache", "--format", "json", one]),
                ],
                max(args.runs, 5),
                env,
            )
            rows.extend([parse, single])
            ratio = single.median / parse.median
            verdicts.append(f"one file = {ratio:.2f} x parse (target <= {ONE_FILE_VS_PARSE}): {'ok' if ratio <= ONE_FILE_VS_PARSE else 'MISSED'}")
    if "peers" in only and not args.skip_peers:
        ruff = find_tool("ruff", args.peers_bin)
        if ruff:
            rows.append(repeat("ruff check --no-cache", [ruff, "check", "--no-cache", "--exit-zero", "--quiet", directory], max(args.runs, 3)))
            with tempfile.TemporaryDirectory(prefix="initlint-bench-ruff-") as cache:
                cmd = [ruff, "check", "--cache-dir", cache, "--exit-zero", "--quiet", directory]
                subprocess.run(cmd, capture_output=True)
                rows.append(repeat("ruff check (warm cache)", cmd, max(args.runs, 3)))
        torchfix = find_tool("torchfix", args.peers_bin)
        if torchfix:
            rows.append(repeat("TorchFix", [torchfix, directory], args.peer_runs))
        fixit = find_tool("fixit", args.peers_bin)
        if fixit:
            rows.append(repeat("Fixit (fixit lint)", [fixit, "lint", directory], args.peer_runs))
    if args.prefilter_check or "prefilter" in only:
        ok, summary = prefilter_check(initlint, directory, env)
        verdicts.append(f"pre-filter: {summary}")
        if not ok:
            verdicts.append("pre-filter: MISSED (it must lose no finding)")

    print()
    width = max(len(r.name) for r in rows) if rows else 10
    print(f"{'measurement':<{width}}  {'median s':>9}  {'x floor':>8}  {'cpu s':>7}  {'peak MB':>8}  runs")
    for row in rows:
        vs = f"{row.median / floor.median:8.2f}" if floor is not None and row is not floor else " " * 8
        peak = f"{row.peak_mb:8.0f}" if row.peak_mb is not None else " " * 8
        print(f"{row.name:<{width}}  {row.median:9.2f}  {vs}  {row.median_cpu:7.2f}  {peak}  {len(row.times)}{'  ' + row.note if row.note else ''}")
    shutil.rmtree(pycache, ignore_errors=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if verdicts:
        print()
        for line in verdicts:
            print(line)
    return 1 if any("MISSED" in v for v in verdicts) else 0


if __name__ == "__main__":
    raise SystemExit(main())
