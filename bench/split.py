"""Where one process spends its time on a directory: parse, analysis, rules, the rest.

    .venv/bin/python bench/split.py /path/to/pytorch-image-models/timm [--passes 2]

Checks every `.py` file that passes the pre-filter with `engine.check_source`,
in one process (no pool, no cache), and times each stage by wrapping it:

- parse: `initlint.parse.parse_source` (libcst's parse, as the engine calls it);
- analysis: `initlint.facts.analysis.analyse` (the interpreter and the events it records);
- rules: every rule's `check` over the shared facts;
- rest: positions, suppressions, exports and fix verification (total - the others).

The first pass warms the imports and caches; the figures are the last pass's.
The issue's speed clause compares analysis with parse ("the interpreter stays
under 25 % of parse time"); this script prints that ratio.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from initlint import engine
from initlint.config import Settings
from initlint.facts import analysis
from initlint.rule import Rule
from initlint.runner import passes_prefilter

totals: dict[str, float] = defaultdict(float)


def timed(stage: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            totals[stage] += time.perf_counter() - start
    return wrapper


def files_under(root: str) -> list[tuple[str, str]]:
    out = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, "rb") as handle:
                    text = handle.read().decode("utf-8", "replace")
                if passes_prefilter(text):
                    out.append((path, text))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--passes", type=int, default=2)
    opts = ap.parse_args()
    files = files_under(opts.root)
    settings = Settings()
    _wrap(engine, "parse_source", "parse")
    _wrap(analysis, "analyse", "analysis")
    for cls in _rule_classes_defining_check():
        _wrap(cls, "check", "rules", eager=True)
    gc.disable()  # as the command line runs
    for _ in range(opts.passes):
        totals.clear()
        start = time.perf_counter()
        for path, text in files:
            engine.check_source(path, text, settings)
        totals["total"] = time.perf_counter() - start
    parse = totals["parse"]
    rest = totals["total"] - parse - totals["analysis"] - totals["rules"]
    print(f"{len(files)} files (pre-filtered) under {opts.root}")
    for stage in ("parse", "analysis", "rules"):
        print(f"  {stage:9s} {totals[stage]:7.2f} s  {totals[stage] / parse:5.2f} x parse")
    print(f"  {'rest':9s} {rest:7.2f} s  {rest / parse:5.2f} x parse")
    print(f"  {'total':9s} {totals['total']:7.2f} s  {totals['total'] / parse:5.2f} x parse")


def _wrap(owner: object, name: str, stage: str, eager: bool = False) -> None:
    """Time `owner.name` under `stage` (a generator run to its end when `eager`)."""
    func = getattr(owner, name)
    setattr(owner, name, timed(stage, _eager(func) if eager else func))


def _rule_classes_defining_check() -> set[type[Rule]]:
    """Each class that defines `check` once (a base class's check is wrapped only on the base)."""
    from initlint.rule import all_rules

    return {base for cls in all_rules() for base in cls.__mro__ if "check" in vars(base) and issubclass(base, Rule)}


def _eager(func: Callable[..., Any]) -> Callable[..., Any]:
    """A check that yields: run it to the end inside the timed call."""
    def run(*args: Any, **kwargs: Any) -> Any:
        return list(func(*args, **kwargs))
    return run


if __name__ == "__main__":
    main()
