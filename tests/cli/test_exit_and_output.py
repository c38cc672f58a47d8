"""Exit status, output options, stdin, selection and subcommands, through the real command line."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import CLEAN, SIGMOID_BCE, TWO_TOWER, TWO_TOWER_AT, Run, findings, write


def test_clean_code_exits_0_with_a_summary(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "model.py", CLEAN)
    proc = initlint()
    assert proc.returncode == 0
    assert proc.stdout == "No findings in 1 file.\n"


def test_a_finding_exits_1_in_the_documented_text_format(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "pkg/model.py", TWO_TOWER)
    write(tmp_path, "pkg/clean.py", CLEAN)
    proc = initlint()  # default path: .
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    line, col = TWO_TOWER_AT
    assert lines[0].startswith(f"pkg/model.py:{line}:{col}: IL101 every factor of")
    assert lines[-1] == "Found 1 finding (1 error) in 2 files."


def test_paths_keep_the_form_given(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "src/model.py", TWO_TOWER)
    assert findings(initlint("src").stdout)[0][0] == "src/model.py"
    assert findings(initlint("./src/").stdout)[0][0] == "./src/model.py"
    absolute = str(tmp_path / "src" / "model.py")
    assert findings(initlint(absolute).stdout)[0][0] == absolute


def test_exit_zero_and_fail_on(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "model.py", SIGMOID_BCE)  # a warning
    assert initlint().returncode == 1  # default: warnings fail
    assert initlint("--fail-on", "error").returncode == 0
    assert initlint("--fail-on", "info").returncode == 1
    proc = initlint("--exit-zero")
    assert proc.returncode == 0 and "IL303" in proc.stdout
    bad = initlint("--fail-on", "fatal")
    assert bad.returncode == 2 and "--fail-on" in bad.stderr


def test_missing_path_is_an_error_but_the_others_are_checked(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "model.py", TWO_TOWER)
    proc = initlint("nowhere.py", "model.py")
    assert proc.returncode == 2
    assert "nowhere.py: no such file or directory" in proc.stderr
    assert [f[1] for f in findings(proc.stdout)] == ["IL101"]
    assert initlint("nowhere.py", "--exit-zero").returncode == 2
    alone = initlint("nowhere.py")
    assert alone.returncode == 2 and alone.stdout == ""  # no "No findings in 0 files" that reads as a pass
    assert "nowhere.py: no such file or directory" in alone.stderr
    assert json.loads(initlint("--format", "json", "nowhere.py").stdout) == []  # machine formats stay parseable


def test_usage_errors_exit_2(initlint: Run) -> None:
    assert initlint("--no-such-flag").returncode == 2
    assert initlint("--format", "xml").returncode == 2
    proc = initlint("--stdin-filename", "x.py", "a.py")
    assert proc.returncode == 2 and "--stdin-filename" in proc.stderr
    assert initlint("--jobs", "0").returncode == 2


def test_output_file(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "model.py", TWO_TOWER)
    proc = initlint("--format", "json", "--output-file", "out/../report.json")
    assert proc.returncode == 2  # the folder `out` does not exist
    assert "cannot write" in proc.stderr
    proc = initlint("--format", "json", "--output-file", "report.json")
    assert proc.returncode == 1 and proc.stdout == ""
    assert [d["code"] for d in json.loads((tmp_path / "report.json").read_text())] == ["IL101"]


def test_stdin_with_a_file_name(initlint: Run, tmp_path: Path) -> None:
    proc = initlint("-", "--stdin-filename", "models/tower.py", stdin=TWO_TOWER.encode())
    assert proc.returncode == 1
    assert findings(proc.stdout) == [("models/tower.py", "IL101", *TWO_TOWER_AT)]
    clean = initlint("-", "--stdin-filename", "m.py", stdin=CLEAN.encode())
    assert clean.returncode == 0
    latin1 = initlint("-", stdin="import torch\nname = 'caf\u00e9'\n".encode("latin-1"))
    assert latin1.returncode == 1 and findings(latin1.stdout)[0][:2] == ("-", "IL002")
    assert initlint("-", "model.py").returncode == 2


def test_stdin_honours_excludes_and_per_file_ignores(initlint: Run, tmp_path: Path) -> None:
    """An editor pipes the buffer of legacy/x.py: it is excluded there as it is on disk."""
    write(tmp_path, "pyproject.toml", '[tool.initlint]\nextend-exclude = ["legacy/"]\n'
          '[tool.initlint.per-file-ignores]\n"tests/*" = ["IL1"]\n')
    excluded = initlint("-", "--stdin-filename", "legacy/x.py", stdin=TWO_TOWER.encode())
    assert excluded.returncode == 0 and findings(excluded.stdout) == []
    ignored = initlint("-", "--stdin-filename", "tests/test_x.py", stdin=TWO_TOWER.encode())
    assert ignored.returncode == 0 and findings(ignored.stdout) == []
    kept = initlint("-", "--stdin-filename", "src/x.py", stdin=TWO_TOWER.encode())
    assert kept.returncode == 1 and findings(kept.stdout) == [("src/x.py", "IL101", *TWO_TOWER_AT)]
    # From another working directory, the pattern still applies relative to the configuration.
    (tmp_path / "legacy").mkdir()
    away = initlint("-", "--stdin-filename", "x.py", stdin=TWO_TOWER.encode(), cwd=tmp_path / "legacy")
    assert away.returncode == 0 and findings(away.stdout) == []


def test_select_ignore_and_prefixes(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "a.py", TWO_TOWER)
    write(tmp_path, "b.py", SIGMOID_BCE)
    def codes(*args: str) -> list[str]:
        return sorted(f[1] for f in findings(initlint(*args).stdout))

    assert codes() == ["IL101", "IL303"]
    assert codes("--select", "IL1") == ["IL101"]
    assert codes("--select", "IL303,IL101") == ["IL101", "IL303"]
    assert codes("--ignore", "IL3") == ["IL101"]
    assert codes("--select", "IL1", "--extend-select", "IL303") == ["IL101", "IL303"]
    bad = initlint("--select", "E501")
    assert bad.returncode == 2 and "E501" in bad.stderr
    unknown = initlint("--ignore", "IL999")
    assert unknown.returncode == 2 and "unknown rule code IL999" in unknown.stderr



@pytest.mark.parametrize("flags", [["--select="], ["--select", ","], ["--select", " "], ["--extend-select="],
                                   ["--ignore", ","]])
def test_an_empty_selector_is_a_usage_error(initlint: Run, tmp_path: Path, flags: list[str]) -> None:
    """It would switch every rule off and pass; ruff refuses it too."""
    write(tmp_path, "a.py", TWO_TOWER)
    proc = initlint(*flags)
    assert proc.returncode == 2 and "at least one rule code" in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_an_empty_select_list_in_the_configuration_is_an_error(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "a.py", TWO_TOWER)
    write(tmp_path, "pyproject.toml", "[tool.initlint]\nselect = []\n")
    proc = initlint()
    assert proc.returncode == 2 and "tool.initlint.select" in proc.stderr and "non-empty" in proc.stderr
    write(tmp_path, "pyproject.toml", "[tool.initlint]\nextend-select = []\nignore = []\n")  # these may be empty
    assert initlint().returncode == 1


def test_no_confirm_overrides_the_configuration(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "a.py", TWO_TOWER)
    write(tmp_path, "pyproject.toml", "[tool.initlint]\nconfirm = true\n")
    env = {"PYTHONPATH": str(tmp_path / "no-torch")}  # a `torch` that fails to import: as if absent
    write(tmp_path, "no-torch/torch/__init__.py", "raise ImportError('no torch here')\n")
    proc = initlint("--no-confirm", "--format", "json", env=env)
    assert proc.returncode == 1, proc.stderr
    assert [d["code"] for d in json.loads(proc.stdout)] == ["IL101"]
    assert all("confirmation" not in d for d in json.loads(proc.stdout))
    both = initlint("--confirm", "--no-confirm")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    assert initlint("--plot", "charts", "--no-confirm").returncode == 2


def test_rules_and_rule_subcommands(initlint: Run) -> None:
    from initlint.rule import all_rules

    table = initlint("rules")
    assert table.returncode == 0
    listed = [line.split()[0] for line in table.stdout.splitlines()[1:]]
    assert listed == [r.code for r in all_rules()]
    assert "zero-product" in table.stdout and "error" in table.stdout
    doc = initlint("rule", "IL101")
    assert doc.returncode == 0
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert heading in doc.stdout
    assert initlint("rule", "zero-product").stdout == doc.stdout
    missing = initlint("rule", "IL999")
    assert missing.returncode == 2 and "unknown rule" in missing.stderr


def test_version(initlint: Run) -> None:
    from initlint import __version__

    proc = initlint("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"initlint {__version__}"


def _run_on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """stdout of initlint when it is a real TTY."""
    main, secondary = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "initlint", *args], cwd=cwd, stdout=secondary,
                            stderr=subprocess.PIPE, env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(main)
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "model.py", TWO_TOWER)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm"
    assert "\033[" in _run_on_a_terminal(["model.py"], tmp_path, env)
    plain = _run_on_a_terminal(["model.py"], tmp_path, {**env, "NO_COLOR": "1"})
    assert "\033[" not in plain and "IL101" in plain
    assert "\033[" not in initlint("model.py").stdout  # a pipe


def test_confirmation_verdict_is_shown_on_the_finding_line(tmp_path: Path) -> None:
    """The text reporter prints a verdict after the message (the stage itself is tested in tests/confirm)."""
    from initlint.diagnostics import Confirmation, Diagnostic, Severity, Span
    from initlint.report.text import render

    d = Diagnostic("m.py", Span(3, 5, 3, 9), "IL101", "zero-product", Severity.ERROR, "dead",
                   confirmation=Confirmation("refuted", "gradients moved on pass 2"))
    out = render([d], 1)
    assert out.splitlines()[0] == "m.py:3:5: IL101 dead [refuted: gradients moved on pass 2]"
    assert "1 refuted by confirmation" in out.splitlines()[-1]
