"""The labelled corpus (tests/fixtures/corpus) through the real CLI: recall, precision, and each rule both ways."""

from __future__ import annotations

import pytest

from tests.corpus import CORPUS, Case, Finding, lint_corpus, load_cases, score

# Every rule with a positive case and at least one hard negative (a clean file written to look like it).
RULES = ["IL101", "IL102", "IL103", "IL201", "IL301", "IL302", "IL303", "IL304", "IL401", "IL402", "IL403"]


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases()


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    return lint_corpus()


def first_line(case: Case) -> str:
    """The comment that says what the file demonstrates (ASCII in every file, the Latin-1 one too)."""
    return (CORPUS / case["path"]).read_bytes().split(b"\n", 1)[0].decode("ascii", "replace")


def test_labels_cover_every_file_and_every_rule_both_ways(cases: list[Case]) -> None:
    files = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.py"))
    assert sorted(c["path"] for c in cases) == files
    codes = {e["code"] for c in cases for e in c["expect"]}
    assert codes >= {*RULES, "IL001", "IL002"}
    for code in RULES:
        negatives = [c["path"] for c in cases if not c["expect"] and code in first_line(c)]
        assert negatives, f"no hard negative for {code}"


def test_corpus_recall_and_precision_are_perfect(findings: list[Finding], cases: list[Case]) -> None:
    result = score(findings, cases)
    assert result.missed == [], f"recall {result.recall:.2f}"
    assert result.false_positives == [], f"precision {result.precision:.2f}"
    assert len(result.matched) == sum(len(c["expect"]) for c in cases) >= 20


@pytest.mark.parametrize("code", RULES + ["IL001", "IL002"])
def test_each_rule_finds_its_positives_and_spares_its_negatives(code: str, findings: list[Finding],
                                                                cases: list[Case]) -> None:
    ours = [f for f in findings if f["code"] == code]
    result = score(ours, [{**c, "expect": [e for e in c["expect"] if e["code"] == code]} for c in cases])
    assert result.matched, f"no positive case for {code}"
    assert result.missed == [], f"{code} missed"
    assert result.false_positives == [], f"{code} flagged clean code"


def test_a_bad_file_does_not_stop_the_others(findings: list[Finding]) -> None:
    # The syntax error and the Latin-1 file are reported as errors, and every other file is still checked.
    by_path = {f["path"] for f in findings}
    assert {"il001_syntax_error_unclosed.py", "il002_latin1_comment.py"} <= by_path
    assert len(by_path - {"il001_syntax_error_unclosed.py", "il002_latin1_comment.py"}) >= 10
    assert all(f["severity"] == "error" for f in findings if f["code"] in ("IL001", "IL002"))
