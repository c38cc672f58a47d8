"""Time the confirmation stage on the labelled corpus and score its verdicts.

    python bench/confirm_bench.py [CASES_DIR] [--static]

By default each labelled finding with a dynamic check becomes a diagnostic at
its first expected line (no subject), so the measurement does not depend on
the static rules; `--static` confirms what the rules report instead (the
real `initlint --confirm` path). Prints one row per model and the totals.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from initlint.config import ConfirmSettings, Settings
from initlint.confirm import CHECKED_CODES, confirm_diagnostics
from initlint.diagnostics import Diagnostic, Severity, Span


def labelled(cases: str) -> tuple[list[Diagnostic], dict[str, str]]:
    with open(os.path.join(cases, "labels.json"), encoding="utf-8") as f:
        labels = json.load(f)["cases"]
    diags, expected = [], {}
    for case in labels:
        expected[case["path"]] = case["confirm"]
        for e in case["expect"]:
            if e["code"] in CHECKED_CODES:
                line = e["lines"][0]
                diags.append(Diagnostic(case["path"], Span(line, 1, line, 2), e["code"], e["code"].lower(),
                                        Severity.WARNING, "labelled finding"))
    return diags, expected


def static(cases: str, settings: Settings) -> list[Diagnostic]:
    from initlint.runner import run

    return [d for d in run(["."], settings).diagnostics if d.code in CHECKED_CODES]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("cases", nargs="?", default="/work/shared/cases")
    parser.add_argument("--static", action="store_true")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    os.chdir(args.cases)
    settings = Settings(confirm=ConfirmSettings(enabled=False, timeout=args.timeout), project_root=".")
    diags, expected = labelled(".")
    if args.static:
        diags = static(".", settings)
    rows = []
    start = time.perf_counter()
    for path in sorted({d.path for d in diags}):
        mine = [d for d in diags if d.path == path]
        t0 = time.perf_counter()
        done = confirm_diagnostics(mine, settings, ".")
        rows.append((path, time.perf_counter() - t0, done))
    per_file = time.perf_counter() - start
    t0 = time.perf_counter()
    confirm_diagnostics(diags, settings, ".")
    whole = time.perf_counter() - t0
    right = wrong = unverified = 0
    print(f"{'file':42} {'code':6} {'seconds':>8}  {'verdict':11} expected   detail")
    for path, seconds, done in rows:
        for d in done:
            assert d.confirmation is not None
            want = expected.get(os.path.normpath(path), "none")
            status = d.confirmation.status
            if want in ("confirmed", "refuted"):
                if status == want:
                    right += 1
                elif status == "unverified":
                    unverified += 1
                else:
                    wrong += 1
            print(f"{path:42} {d.code:6} {seconds:8.2f}  {status:11} {want:10} {d.confirmation.detail[:110]}")
    print()
    print(f"verdicts: {right} right, {wrong} wrong, {unverified} unverified (of labelled confirmed/refuted findings)")
    print(f"one run per file (a fresh worker each, torch imported each time): {per_file:.1f} s total")
    print(f"whole corpus in one run (one worker): {whole:.1f} s")
    return 0 if wrong == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
