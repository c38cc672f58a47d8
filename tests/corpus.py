"""The labelled corpus in tests/fixtures/corpus: its labels, a run of the real CLI over it, and its score.

labels.json lists, per file, every finding a correct linter reports (code and the acceptable lines)
and what `--confirm` should conclude. Scoring follows the labels: a finding matches an expectation
when path and code match and its line is acceptable; a finding that matches none is a false positive.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

CORPUS = Path(__file__).parent / "fixtures" / "corpus"


class Expect(TypedDict):
    code: str
    lines: list[int]


class Case(TypedDict):
    path: str
    framework: str
    expect: list[Expect]
    confirm: str
    why: str


Finding = dict[str, Any]


def load_cases() -> list[Case]:
    cases: list[Case] = json.loads((CORPUS / "labels.json").read_text(encoding="utf-8"))["cases"]
    return cases


def lint_corpus(*args: str) -> list[Finding]:
    """The whole folder in one run of the real command, so that the cross-file link resolves."""
    proc = subprocess.run([sys.executable, "-m", "initlint", "--no-cache", "--format", "json", *args, "."],
                          cwd=CORPUS, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    findings: list[Finding] = json.loads(proc.stdout)
    return findings


@dataclass
class Score:
    matched: list[tuple[str, str, list[int]]]
    missed: list[tuple[str, str, list[int]]]
    false_positives: list[tuple[str, str, int]]

    @property
    def recall(self) -> float:
        total = len(self.matched) + len(self.missed)
        return len(self.matched) / total if total else 1.0

    @property
    def precision(self) -> float:
        # Several findings on one expectation count once, as one true positive.
        found = len(self.matched) + len(self.false_positives)
        return len(self.matched) / found if found else 1.0


def score(findings: list[Finding], cases: list[Case]) -> Score:
    expected = [(c["path"], e["code"], e["lines"]) for c in cases for e in c["expect"]]

    def matches(f: Finding, path: str, code: str, lines: list[int]) -> bool:
        return bool(f["path"] == path and f["code"] == code and f["line"] in lines)

    matched = [x for x in expected if any(matches(f, *x) for f in findings)]
    missed = [x for x in expected if x not in matched]
    false_positives = [(f["path"], f["code"], f["line"]) for f in findings
                       if not any(matches(f, *x) for x in expected)]
    return Score(matched, missed, false_positives)
