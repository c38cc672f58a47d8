"""Output for people and CI systems, through the real command line: `--format full`, `gitlab` and
`junit`, `--statistics`, `--quiet` and `--show-settings`, on a small project with an error (IL101),
a warning with a fix (IL303) and a file that cannot be decoded (IL002)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from tests.cli.conftest import CLEAN, SIGMOID_BCE, TWO_TOWER, Run, write

HERE = Path(__file__).parent
ANSI = "\033["
TOWER_LINE = "        return (vec_a * vec_b).sum(-1)"  # line 19 of TWO_TOWER; IL101 spans `vec_a * vec_b`


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, "models/tower.py", TWO_TOWER)
    write(tmp_path, "models/clf.py", SIGMOID_BCE)
    return tmp_path


def test_full_shows_each_finding_with_its_source_and_carets(initlint: Run, project: Path) -> None:
    (project / "models" / "latin.py").write_bytes(b"x = '\xff'\n")  # IL002: no source to show
    proc = initlint("--format", "full", "models")
    assert proc.returncode == 1, proc.stderr
    assert ANSI not in proc.stdout  # a pipe
    blocks = proc.stdout.split("\n\n")
    clf, latin, tower, summary = blocks
    assert clf.splitlines()[0].startswith("models/clf.py:15:12: warning[IL303] `nn.BCELoss()(model(x), y)` takes")
    assert "15 |     loss = nn.BCELoss()(model(x), y)" in clf.splitlines()
    assert "   |            " + "^" * len("nn.BCELoss()(model(x), y)") + " IL303" in clf.splitlines()
    assert clf.splitlines()[-1] == "   = help: use `BCEWithLogitsLoss` and drop the sigmoid (apply it at inference)"
    assert latin.splitlines()[0].startswith("models/latin.py:1:")
    assert "error[IL002]" in latin and "|" not in latin  # unreadable: the header alone
    rows = tower.splitlines()
    assert rows[0].startswith("models/tower.py:19:17: error[IL101] every factor of")
    source = rows.index(f"19 | {TOWER_LINE}")
    carets = rows[source + 1]
    span = "vec_a * vec_b"
    assert carets.index("^") == len("19 | ") + TOWER_LINE.index(span)
    assert carets.endswith("^" * len(span) + " IL101")
    assert "   = note: models/tower.py:10:9: `item_emb.weight` starts at zero (`zeros_`)" in rows
    # The fix hint stands on the summary line, as in the text format.
    assert summary == "Found 3 findings (2 errors, 1 warning) in 3 files. 1 fixable with `--fix`.\n"


def test_full_quotes_stdin_and_colours_only_when_asked(initlint: Run, tmp_path: Path) -> None:
    # The buffer names a file that is not on disk: the snippet comes from stdin.
    proc = initlint("--format", "full", "-", "--stdin-filename", "edited.py", stdin=TWO_TOWER.encode())
    assert proc.returncode == 1
    assert f"19 | {TOWER_LINE}" in proc.stdout.splitlines()
    coloured = initlint("--format", "full", "-", "--stdin-filename", "edited.py", stdin=TWO_TOWER.encode(),
                        env={"FORCE_COLOR": "1"}).stdout
    assert ANSI in coloured and "error[IL101]" in coloured  # the severity stays readable as text
    plain = initlint("--format", "full", "-", "--stdin-filename", "edited.py", stdin=TWO_TOWER.encode(),
                     env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    assert ANSI not in plain and plain == proc.stdout


def test_statistics_count_findings_by_code(initlint: Run, project: Path) -> None:
    write(project, "models/clf2.py", SIGMOID_BCE)
    proc = initlint("--statistics", "models")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "2\tIL303\t[*] sigmoid-bce",
        "1\tIL101\t[ ] zero-product",
        "Found 3 findings (1 error, 2 warnings) in 3 files.",
    ]
    assert initlint("--statistics", "--quiet", "models").stdout == "2\tIL303\t[*] sigmoid-bce\n1\tIL101\t[ ] zero-product\n"
    data = json.loads(initlint("--statistics", "--format", "json", "models").stdout)
    assert data == [
        {"code": "IL303", "name": "sigmoid-bce", "count": 2, "fixable": True},
        {"code": "IL101", "name": "zero-product", "count": 1, "fixable": False},
    ]


def test_quiet_prints_the_findings_only(initlint: Run, project: Path) -> None:
    full = initlint("models").stdout.splitlines()
    proc = initlint("--quiet", "models")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == full[:-1] and len(full) == 3  # two findings, no summary line
    quiet_full = initlint("-q", "--format", "full", "models").stdout
    assert quiet_full.endswith("   = note: models/tower.py:11:9: `proj.bias` starts at zero (`zeros_`)\n")
    assert "Found" not in quiet_full
    write(project, "clean/mlp.py", CLEAN)
    clean = initlint("-q", "clean")
    assert clean.returncode == 0 and clean.stdout == ""


def test_show_settings_names_where_each_value_comes_from(initlint: Run, project: Path) -> None:
    pyproject = write(project, "pyproject.toml", '[tool.initlint]\nignore = ["IL303"]\nfail-on = "error"\n'
                                                 'tanh-stack-min = 4\n[tool.initlint.confirm]\ntimeout = 5\n')
    proc = initlint("--show-settings", "--ignore", "IL102", "--select", "il1,IL3", "--jobs", "2", "models")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    origin = str(pyproject)
    assert f"# configuration: {origin}" in lines
    assert 'select = ["IL1", "IL3"]  # --select' in lines
    assert f'ignore = ["IL303", "IL102"]  # {origin} + --ignore' in lines
    assert f'fail-on = "error"  # {origin}' in lines
    assert f"tanh-stack-min = 4  # {origin}" in lines
    assert f"confirm.timeout = 5  # {origin}" in lines
    assert "jobs = 2  # --jobs" in lines
    assert "extend-select = []  # default" in lines and "confirm.enabled = false  # default" in lines
    assert "IL101" not in proc.stdout  # nothing was checked
    assert initlint("--show-settings", "--fail-on", "info").stdout.count('fail-on = "info"  # --fail-on') == 1


GITLAB_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def test_gitlab_code_quality_report(initlint: Run, project: Path) -> None:
    schema = json.loads((HERE / "gitlab-codeclimate-schema.json").read_text(encoding="utf-8"))
    proc = initlint("--format", "gitlab", "models")
    assert proc.returncode == 1, proc.stderr
    issues = json.loads(proc.stdout)
    jsonschema.validate(issues, {"type": "array", "items": schema})
    for issue in issues:  # what GitLab's documentation adds to its schema
        assert isinstance(issue["check_name"], str) and issue["severity"] in GITLAB_SEVERITIES
        assert isinstance(issue["location"]["path"], str) and isinstance(issue["location"]["lines"]["begin"], int)
    by_code = {i["check_name"]: i for i in issues}
    assert by_code["IL101"]["severity"] == "critical" and by_code["IL303"]["severity"] == "minor"
    assert by_code["IL101"]["location"] == {"path": "models/tower.py", "lines": {"begin": 19, "end": 19}}
    assert by_code["IL101"]["description"].startswith("IL101: every factor of")

    # Unrelated lines above the finding move it, but it is the same finding to GitLab.
    write(project, "models/tower.py", "# a comment\n\n" + TWO_TOWER)
    moved = {i["check_name"]: i for i in json.loads(initlint("--format", "gitlab", "models").stdout)}
    assert moved["IL101"]["location"]["lines"]["begin"] == 21
    assert moved["IL101"]["fingerprint"] == by_code["IL101"]["fingerprint"]
    assert moved["IL303"]["fingerprint"] == by_code["IL303"]["fingerprint"]
    # GitLab keeps one issue per fingerprint: the same finding twice in a file is two issues.
    write(project, "models/clf.py", SIGMOID_BCE + SIGMOID_BCE.split("\n\n\n")[-1].replace("train_step", "eval_step"))
    twice = [i for i in json.loads(initlint("--format", "gitlab", "models").stdout) if i["check_name"] == "IL303"]
    assert len(twice) == 2 and twice[0]["fingerprint"] != twice[1]["fingerprint"]


def test_junit_report(initlint: Run, project: Path) -> None:
    odd = 'models/a&b/<q"uote>.py'  # every character XML must escape
    write(project, odd, TWO_TOWER)
    proc = initlint("--format", "junit", "models")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(proc.stdout)
    assert root.tag == "testsuites" and root.get("name") == "initlint"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "3", "0")
    suites = {s.get("name", ""): s for s in root.findall("testsuite")}
    assert set(suites) == {odd, "models/clf.py", "models/tower.py"}
    for name, suite in suites.items():
        cases = suite.findall("testcase")
        assert suite.get("tests") == suite.get("failures") == str(len(cases)) == "1"
        assert cases[0].get("classname") == name[: -len(".py")] and cases[0].get("file") == name
    (clf,) = suites["models/clf.py"].findall("testcase")
    assert (clf.get("name"), clf.get("line"), clf.get("column")) == ("IL303 sigmoid-bce", "15", "12")
    failure = clf.find("failure")
    assert failure is not None and failure.get("type") == "warning"
    assert failure.get("message", "").startswith("`nn.BCELoss()(model(x), y)` takes a sigmoid output")
    assert "help: use `BCEWithLogitsLoss`" in (failure.text or "")
    odd_failure = suites[odd].find("testcase/failure")
    assert odd_failure is not None and odd_failure.get("type") == "error"
    assert (odd_failure.text or "").startswith(f"{odd}:19:17: IL101 ")

    clean = initlint("--format", "junit", "models/clf.py", "--ignore", "IL303")
    assert clean.returncode == 0
    root = ET.fromstring(clean.stdout)
    assert (root.get("tests"), root.get("failures")) == ("1", "0")
    (case,) = root.iter("testcase")
    assert case.find("failure") is None and case.get("name") == "No findings in 1 file"


def test_format_choices_are_the_reporter_registry(initlint: Run) -> None:
    from initlint.report import FORMATS

    assert {"full", "gitlab", "junit"} <= set(FORMATS)
    usage = initlint("--format", "nope").stderr
    assert "invalid choice" in usage
    for name in FORMATS:
        assert repr(name) in usage
