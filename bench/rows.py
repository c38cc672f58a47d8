"""Where people wait, each next to its floor, in one run, round after round:

    .venv/bin/python bench/rows.py /path/to/diffusers --runs 5

- language server: didChange -> publishDiagnostics on a generated model file of
  about 3,000 lines with one finding (the server's debounce included), next to
  `python -c "import libcst; parse"` of the same file plus that debounce;
- one file: `initlint --no-cache FILE` on a generated 256-line model file with one
  finding, next to `python -c "import libcst; parse"` of it;
- warm run: `initlint DIR` with a filled cache and nothing changed, next to
  `python -c pass` (the interpreter's start-up).

Each round measures every row and its floor in turn, so all see the same load;
the figures are medians with their ranges. Fetches nothing; writes only to a
temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from lsprotocol import types
from pygls.lsp.client import LanguageClient

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as `python bench/rows.py`
from bench.lsp_latency import Bench, generated_model
from initlint.lsp import DEBOUNCE_SECONDS as DEBOUNCE

PARSE_ONE = "import sys, libcst; libcst.parse_module(open(sys.argv[1], 'rb').read())"
GOALS = {"language server edit": 1.0, "one file": 1.2, "warm run": 0.35}  # s, x floor, s


def wall(cmd: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - start


def spread(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} s ({min(times):.2f}-{max(times):.2f})"


async def measure(directory: str, runs: int, env: dict[str, str], tmp: Path) -> dict[str, list[float]]:
    python = sys.executable
    big, small = tmp / "big_model.py", tmp / "small_model.py"
    big_text = generated_model(85)  # about 3,000 lines
    big.write_text(big_text, encoding="utf-8")
    small_text = generated_model(6)  # 243 lines, padded to 256
    small.write_text(small_text + "\n" * max(0, 256 - small_text.count("\n")), encoding="utf-8")
    cache = tmp / "cache"
    warm = [python, "-m", "initlint", "--cache-dir", str(cache), "--format", "json", directory]
    subprocess.run(warm, capture_output=True, env=env, check=False)  # fill the cache
    times: dict[str, list[float]] = {k: [] for k in ("lsp", "lsp floor", "one", "one floor", "warm", "warm floor")}

    client = LanguageClient("rows", "1")
    bench = Bench(client, tmp)
    await client.start_io(python, "-m", "initlint", "lsp", env=env)
    params = types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=tmp.as_uri())
    await client.initialize_async(params)
    client.initialized(types.InitializedParams())
    uri, opened = bench.open("edited.py", big_text)
    await asyncio.wait_for(opened, timeout=120)
    for version in range(2, runs + 2):
        start = time.perf_counter()
        await asyncio.wait_for(bench.change(uri, version, big_text + f"# edit {version}\n"), timeout=120)
        times["lsp"].append(time.perf_counter() - start)
        times["lsp floor"].append(wall([python, "-c", PARSE_ONE, str(big)], env) + DEBOUNCE)
        times["one floor"].append(wall([python, "-c", PARSE_ONE, str(small)], env))
        times["one"].append(wall([python, "-m", "initlint", "--no-cache", "--format", "json", str(small)], env))
        times["warm floor"].append(wall([python, "-c", "pass"], env))
        times["warm"].append(wall(warm, env))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return times


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="the tree of the warm run (diffusers in docs/benchmarks.md)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k not in ("INITLINT_CACHE_DIR", "PYTHONDONTWRITEBYTECODE")}
    with tempfile.TemporaryDirectory(prefix="initlint-rows-") as tmp:
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
        subprocess.run([sys.executable, "-c", "import libcst, initlint.cli, initlint.lsp"], env=env, check=True)
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        t = asyncio.run(measure(os.path.abspath(args.directory), args.runs, env, Path(tmp)))
    lsp, one = statistics.median(t["lsp"]), statistics.median(t["one"]) / statistics.median(t["one floor"])
    warm = statistics.median(t["warm"])
    print(f"language server edit, 3,000 lines: {spread(t['lsp'])}; floor (parse + debounce) {spread(t['lsp floor'])}; "
          f"goal <= {GOALS['language server edit']} s: {'ok' if lsp <= GOALS['language server edit'] else 'MISSED'}")
    print(f"one file, 256 lines: {spread(t['one'])}; floor (import libcst; parse) {spread(t['one floor'])}; "
          f"{one:.2f} x, goal <= {GOALS['one file']} x: {'ok' if one <= GOALS['one file'] else 'MISSED'}")
    print(f"warm run: {spread(t['warm'])}; floor (python -c pass) {spread(t['warm floor'])}; "
          f"goal <= {GOALS['warm run']} s: {'ok' if warm <= GOALS['warm run'] else 'MISSED'}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
