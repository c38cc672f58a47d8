"""Every --format through the real command line: the JSON contract, SARIF 2.1.0, LSP's 0-based
shape and GitHub workflow commands, all describing the same findings."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import SIGMOID_BCE, TWO_TOWER, write

CONTRACT_KEYS = {"path", "line", "column", "end_line", "end_column", "code", "name", "severity", "message", "related", "fix"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, "models/tower.py", TWO_TOWER)
    write(tmp_path, "models/clf.py", SIGMOID_BCE)
    write(tmp_path, "models/broken.py", "import torch\ndef f(:\n")
    return tmp_path


def run(fmt: str, cwd: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "initlint", "--format", fmt, "models"], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    return proc.stdout


def test_json_contract(project: Path) -> None:
    data = json.loads(run("json", project))
    assert isinstance(data, list)
    assert [(d["path"], d["code"]) for d in data] == [
        ("models/broken.py", "IL001"), ("models/clf.py", "IL303"), ("models/tower.py", "IL101")]
    for d in data:
        assert set(d) == CONTRACT_KEYS  # no confirmation key: the stage did not run
        assert all(isinstance(d[k], int) and d[k] >= 1 for k in ("line", "column", "end_line", "end_column"))
        assert d["severity"] in ("error", "warning", "info")
        assert isinstance(d["message"], str) and d["message"]
        for r in d["related"]:
            assert set(r) == {"path", "line", "column", "message"}
    tower = data[2]
    assert tower["name"] == "zero-product" and tower["severity"] == "error"
    assert tower["related"], "IL101 points at the zero initializers"


def test_sarif_2_1_0(project: Path) -> None:
    from initlint.rule import all_rules

    log = json.loads(run("sarif", project))
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    (the_run,) = log["runs"]
    driver = the_run["tool"]["driver"]
    assert driver["name"] == "initlint"
    assert [r["id"] for r in driver["rules"]] == [r.code for r in all_rules()]
    for descriptor, rule in zip(driver["rules"], all_rules()):
        assert descriptor["name"] == rule.name
        assert "## What it does" in descriptor["help"]["text"]
        assert descriptor["shortDescription"]["text"] and descriptor["helpUri"].startswith("https://")
    results = the_run["results"]
    assert [r["ruleId"] for r in results] == ["IL001", "IL303", "IL101"]
    for r in results:
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["level"] in ("error", "warning", "note")
        location = r["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1
    assert results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "models/tower.py"
    assert results[2]["relatedLocations"]


def test_lsp_positions_are_zero_based(project: Path) -> None:
    contract = {(d["path"], d["code"]): d for d in json.loads(run("json", project))}
    published = json.loads(run("lsp", project))
    assert isinstance(published, list) and {p["uri"] for p in published} == {
        (project / "models" / name).resolve().as_uri() for name in ("broken.py", "clf.py", "tower.py")}
    seen = 0
    for entry in published:
        path = "models/" + entry["uri"].rsplit("/", 1)[-1]
        for diag in entry["diagnostics"]:
            expected = contract[(path, diag["code"])]
            assert diag["range"]["start"] == {"line": expected["line"] - 1, "character": expected["column"] - 1}
            assert diag["range"]["end"] == {"line": expected["end_line"] - 1, "character": expected["end_column"] - 1}
            assert diag["severity"] == {"error": 1, "warning": 2, "info": 3}[expected["severity"]]
            assert diag["source"] == "initlint"
            assert diag["message"] == expected["message"]
            assert diag["codeDescription"]["href"].startswith("https://")
            for info, related in zip(diag.get("relatedInformation", []), expected["related"]):
                assert info["location"]["range"]["start"]["line"] == related["line"] - 1
                assert info["message"] == related["message"]
            seen += 1
    assert seen == 3


def test_github_workflow_commands(project: Path) -> None:
    lines = run("github", project).splitlines()
    assert len(lines) == 3
    pattern = re.compile(r"^::(error|warning|notice) file=([^,]+),line=(\d+),col=(\d+),endLine=(\d+),endColumn=(\d+),title=([^:]+)::(.+)$")
    parsed = [pattern.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m.group(1), m.group(2), m.group(7)) for m in parsed] == [  # type: ignore[union-attr]
        ("error", "models/broken.py", "IL001 syntax-error"),
        ("warning", "models/clf.py", "IL303 sigmoid-bce"),
        ("error", "models/tower.py", "IL101 zero-product"),
    ]


def test_github_escaping() -> None:
    from initlint.diagnostics import Diagnostic, Severity, Span
    from initlint.report.github import format_command

    d = Diagnostic("a,b:c.py", Span(1, 2, 1, 3), "IL101", "zero-product", Severity.INFO, "100% dead\nreally")
    assert format_command(d) == (
        "::notice file=a%2Cb%3Ac.py,line=1,col=2,endLine=1,endColumn=3,title=IL101 zero-product::IL101 100%25 dead%0Areally"
    )
