"""[tool.initlint] loading and validation, and suppression comments, through the real command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import SIGMOID_BCE, TWO_TOWER, TWO_TOWER_AT, Run, findings, write


def codes(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(f[1] for f in findings(proc.stdout))


def test_nearest_pyproject_above_the_first_path(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.initlint]\nignore = ["IL1"]\n')
    write(tmp_path, "src/a.py", TWO_TOWER)
    write(tmp_path, "src/b.py", SIGMOID_BCE)
    assert codes(initlint("src")) == ["IL303"]
    assert codes(initlint("src/a.py", cwd=tmp_path / "src")) == []  # found walking up from src/
    # A nearer pyproject.toml wins.
    write(tmp_path, "src/pyproject.toml", '[tool.initlint]\nselect = ["IL1"]\n')
    assert codes(initlint("src")) == ["IL101"]


def test_config_file_flag_and_flags_override(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "a.py", TWO_TOWER)
    write(tmp_path, "b.py", SIGMOID_BCE)
    write(tmp_path, "conf/initlint.toml", 'select = ["IL3"]\nfail-on = "error"\n')
    proc = initlint("--config", "conf/initlint.toml")
    assert codes(proc) == ["IL303"] and proc.returncode == 0  # a warning does not fail with fail-on = error
    assert initlint("--config", "conf/initlint.toml", "--fail-on", "warning").returncode == 1
    assert codes(initlint("--config", "conf/initlint.toml", "--select", "IL1")) == ["IL101"]
    missing = initlint("--config", "nope.toml")
    assert missing.returncode == 2 and "nope.toml" in missing.stderr


def test_per_file_ignores_and_thresholds(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", """[tool.initlint]
saturating-stack-min = 4
tanh-stack-min = 9
plain-stack-min = 5
vanishing-ratio = 0.001
scale-ratio = 20

[tool.initlint.per-file-ignores]
"tests/*" = ["IL101"]
"legacy_*.py" = ["IL3"]
""")
    write(tmp_path, "tests/a.py", TWO_TOWER)
    write(tmp_path, "src/legacy_b.py", SIGMOID_BCE)
    write(tmp_path, "src/c.py", TWO_TOWER)
    proc = initlint()
    assert [(f[0], f[1]) for f in findings(proc.stdout)] == [("src/c.py", "IL101")]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[tool.initlint]\nselekt = ['IL1']\n", "unknown key `tool.initlint.selekt`"),
        ("[tool.initlint]\nselect = 'IL1'\n", "`tool.initlint.select` must be a list of strings, got 'IL1' (a string)"),
        ("[tool.initlint]\nselect = ['XX1']\n", "'XX1' is not a rule code or prefix"),
        ("[tool.initlint]\nignore = ['IL998']\n", "unknown rule code IL998"),
        ("[tool.initlint]\nfail-on = 'fatal'\n", '`tool.initlint.fail-on` must be "error", "warning" or "info"'),
        ("[tool.initlint]\nrespect-gitignore = 'yes'\n", "`tool.initlint.respect-gitignore` must be true or false"),
        ("[tool.initlint]\nsaturating-stack-min = 2.5\n", "`tool.initlint.saturating-stack-min` must be an integer"),
        ("[tool.initlint]\nvanishing-ratio = -1\n", "`tool.initlint.vanishing-ratio` must be a positive number"),
        ("[tool.initlint]\nper-file-ignores = ['x']\n", "`tool.initlint.per-file-ignores` must be a table"),
        ("[tool.initlint.per-file-ignores]\n'x.py' = 'IL1'\n", "`tool.initlint.per-file-ignores.x.py` must be a list of strings"),
        ("[tool.initlint.confirm]\ntimeout = 'long'\n", "`tool.initlint.confirm.timeout` must be a number"),
        ("[tool.initlint.confirm]\ngpu = true\n", "unknown key `tool.initlint.confirm.gpu`"),
        ("[tool.initlint.confirm.modules.Net]\ninputs = [2, 16]\n", "`tool.initlint.confirm.modules.Net.inputs` must be a list of shapes"),
        ("[tool.initlint]\nconfirm = 'yes'\n", "`tool.initlint.confirm` must be true, false or a table"),
        ("[tool.initlint\nselect = []\n", "invalid TOML"),
    ],
)
def test_bad_configuration_is_one_clear_message_and_exit_2(initlint: Run, tmp_path: Path, toml: str, expected: str) -> None:
    write(tmp_path, "pyproject.toml", toml)
    write(tmp_path, "a.py", TWO_TOWER)
    proc = initlint()
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"initlint: error: {tmp_path / 'pyproject.toml'}: ")
    assert expected in proc.stderr


def test_a_pyproject_that_does_not_configure_initlint_is_not_ours_to_judge(initlint: Run, tmp_path: Path) -> None:
    # Another tool's broken TOML does not stop the run; the same file mentioning initlint does.
    write(tmp_path, "pyproject.toml", "[project\nname = 'app'\n")
    write(tmp_path, "a.py", TWO_TOWER)
    assert codes(initlint()) == ["IL101"]
    write(tmp_path, "pyproject.toml", "[project\nname = 'app'\n[tool.initlint]\n")
    assert initlint().returncode == 2


def test_a_valid_confirm_table_is_accepted(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", """[tool.initlint]
report-unused-suppressions = false
[tool.initlint.confirm]
enabled = false
timeout = 30
total-timeout = 120.5
memory-mb = 2048
device = "cpu"
seed = 0
[tool.initlint.confirm.modules.TwoTower]
args = [1000, 16]
kwargs = {dim = 16}
inputs = [[4], [4]]
""")
    write(tmp_path, "a.py", TWO_TOWER)
    assert codes(initlint()) == ["IL101"]


def _with_comment(line_no: int, comment: str, source: str = TWO_TOWER) -> str:
    lines = source.splitlines()
    lines[line_no - 1] += "  " + comment
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("comment", "silenced"),
    [
        ("# noqa: IL101", True),
        ("# noqa:IL101,IL303", True),
        ("# NOQA: il1", True),
        ("# noqa", True),
        ("# initlint: ignore[IL101]", True),
        ("# initlint: ignore[IL303]", False),
        ("# noqa: IL303", False),
        ("# type: ignore  # noqa: IL101", True),
    ],
)
def test_suppression_comments(initlint: Run, tmp_path: Path, comment: str, silenced: bool) -> None:
    write(tmp_path, "a.py", _with_comment(TWO_TOWER_AT[0], comment))
    proc = initlint()
    assert codes(proc) == ([] if silenced else ["IL101"])
    assert proc.returncode == (0 if silenced else 1)


MULTI_LINE = TWO_TOWER.replace(
    "        return (vec_a * vec_b).sum(-1)\n",
    "        return torch.sum(\n            vec_a * vec_b,\n            dim=-1,\n        )\n",
)


def test_a_comment_on_the_first_line_of_a_statement_covers_it(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "a.py", MULTI_LINE)
    assert findings(initlint().stdout) == [("a.py", "IL101", 20, 13)]
    write(tmp_path, "a.py", _with_comment(19, "# noqa: IL101", MULTI_LINE))
    assert codes(initlint()) == []
    # On a later line of the statement a comment covers only its own line.
    write(tmp_path, "a.py", _with_comment(21, "# noqa: IL101", MULTI_LINE))
    assert codes(initlint()) == ["IL101"]
    # A comment on the line before is not a suppression of the next statement.
    write(tmp_path, "a.py", _with_comment(18, "# noqa", MULTI_LINE))
    assert codes(initlint()) == ["IL101"]


def test_noqa_inside_a_string_is_not_a_suppression(initlint: Run, tmp_path: Path) -> None:
    source = TWO_TOWER.replace("return (vec_a * vec_b).sum(-1)", 'return (vec_a * vec_b).sum(-1), "# noqa"')
    write(tmp_path, "a.py", source)
    assert codes(initlint()) == ["IL101"]


def test_unused_suppressions_are_reported_when_asked(initlint: Run, tmp_path: Path) -> None:
    source = _with_comment(TWO_TOWER_AT[0], "# noqa: IL101, IL303")
    source = _with_comment(8, "# noqa", source)
    source = _with_comment(9, "# noqa: E501", source)  # another tool's code: not ours to judge
    write(tmp_path, "a.py", source)
    assert initlint().returncode == 0
    proc = initlint("--show-unused-suppressions")
    assert proc.returncode == 1
    got = [(f[1], f[2]) for f in findings(proc.stdout)]
    assert got == [("IL003", 8), ("IL003", TWO_TOWER_AT[0])]
    assert "unused suppression of IL303" in proc.stdout
    assert codes(initlint("--show-unused-suppressions", "--ignore", "IL003")) == []
    write(tmp_path, "pyproject.toml", "[tool.initlint]\nreport-unused-suppressions = true\n")
    assert codes(initlint()) == ["IL003", "IL003"]
