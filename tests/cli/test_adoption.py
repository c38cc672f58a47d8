"""Switching initlint on for an old codebase: --add-noqa and baselines, through the real command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import SIGMOID_BCE, TWO_TOWER, TWO_TOWER_AT, Run, findings, write

PRODUCT = "        return (vec_a * vec_b).sum(-1)\n"


def located(proc: subprocess.CompletedProcess[str]) -> list[tuple[str, str, int]]:
    return [(f[0], f[1], f[2]) for f in findings(proc.stdout)]


def test_add_noqa_silences_each_finding_and_keeps_other_tools_codes(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "a.py", TWO_TOWER.replace(PRODUCT, PRODUCT.rstrip("\n") + "  # noqa: E501\n"))
    write(tmp_path, "b.py", SIGMOID_BCE.replace("    loss = nn.BCELoss()(model(x), y)\n", "    loss = nn.BCELoss()(model(x), y)  # noqa: IL101\n"))
    assert sorted(f[1] for f in findings(initlint().stdout)) == ["IL101", "IL303"]

    proc = initlint("--add-noqa")
    assert proc.returncode == 0, proc.stderr
    assert "Added 2 noqa directives." in proc.stderr
    assert proc.stdout == ""  # the edit is the output, as with ruff
    a_lines = (tmp_path / "a.py").read_text(encoding="utf-8").splitlines()
    assert a_lines[TWO_TOWER_AT[0] - 1] == "        return (vec_a * vec_b).sum(-1)  # noqa: E501, IL101"
    assert "    loss = nn.BCELoss()(model(x), y)  # noqa: IL101, IL303" in (tmp_path / "b.py").read_text(encoding="utf-8")

    rerun = initlint()
    assert rerun.returncode == 0 and findings(rerun.stdout) == [], rerun.stdout


def test_add_noqa_is_idempotent_and_leaves_a_bare_noqa_alone(initlint: Run, tmp_path: Path) -> None:
    a = write(tmp_path, "a.py", TWO_TOWER)
    b = write(tmp_path, "b.py", SIGMOID_BCE.replace("model(x), y)\n", "model(x), y)  # noqa\n"))
    bare = b.read_bytes()
    assert "Added 1 noqa directive." in initlint("--add-noqa").stderr
    once = a.read_bytes()
    assert b"# noqa: IL101" in once and b.read_bytes() == bare
    again = initlint("--add-noqa")
    assert again.returncode == 0 and "Added 0 noqa directives." in again.stderr
    assert a.read_bytes() == once and b.read_bytes() == bare


def test_add_noqa_puts_the_comment_where_it_covers_a_multi_line_statement(initlint: Run, tmp_path: Path) -> None:
    # The finding's line ends inside a string, where no comment can go: the statement's first
    # line takes it, and a comment there covers the whole statement.
    call = '        return torch.add(\n            torch.zeros(1), (vec_a * vec_b).sum(-1), alpha=len("""\n        """))\n'
    path = write(tmp_path, "a.py", TWO_TOWER.replace(PRODUCT, call))
    assert located(initlint("a.py")) == [("a.py", "IL101", 20)]
    proc = initlint("--add-noqa", "a.py")
    assert proc.returncode == 0 and "Added 1 noqa directive." in proc.stderr
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[18] == "        return torch.add(  # noqa: IL101"
    assert lines[19:21] == call.splitlines()[1:]  # the string is untouched
    assert located(initlint("a.py")) == []


def test_add_noqa_keeps_the_files_encoding(initlint: Run, tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_bytes(b"\xef\xbb\xbf# caf\xc3\xa9\r\n" + TWO_TOWER.replace("\n", "\r\n").encode())
    assert initlint("--add-noqa").returncode == 0
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf# caf\xc3\xa9\r\n")
    assert b"        return (vec_a * vec_b).sum(-1)  # noqa: IL101\r\n" in data
    assert located(initlint()) == []


def _two_files(root: Path) -> None:
    write(root, "src/a.py", TWO_TOWER)
    write(root, "src/b.py", SIGMOID_BCE)


def test_a_baseline_survives_moved_and_reindented_code(initlint: Run, tmp_path: Path) -> None:
    _two_files(tmp_path)
    assert len(findings(initlint().stdout)) == 2  # and fills the cache: the baseline reads cached files' text
    wrote = initlint("--write-baseline", "initlint-baseline.json")
    assert wrote.returncode == 0 and "Wrote 2 baseline entries to initlint-baseline.json." in wrote.stderr
    data = json.loads((tmp_path / "initlint-baseline.json").read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert sorted((e["path"], e["code"]) for e in data["findings"]) == [("src/a.py", "IL101"), ("src/b.py", "IL303")]
    assert initlint("--baseline", "initlint-baseline.json").returncode == 0

    # Lines inserted above, the whole file re-indented, the statement split over two lines with a comment.
    moved = "\n".join("  " * (len(line) - len(line.lstrip(" "))) + line.lstrip(" ") if line.strip() else line
                      for line in TWO_TOWER.splitlines())
    moved = moved.replace("return (vec_a * vec_b).sum(-1)", "return (vec_a *  # the score\n                vec_b).sum(-1)")
    write(tmp_path, "src/a.py", '"""Two towers."""\n\nSCALE = 1.0\n\n\n' + moved + "\n")
    assert located(initlint()) and located(initlint())[0][2] != TWO_TOWER_AT[0]  # it did move
    proc = initlint("--baseline", "initlint-baseline.json")
    assert proc.returncode == 0 and findings(proc.stdout) == [], proc.stdout
    assert "no longer match" not in proc.stderr

    # Rewriting the baseline after the move changes nothing in it (a clean diff).
    before = (tmp_path / "initlint-baseline.json").read_bytes()
    initlint("--write-baseline", "initlint-baseline.json")
    assert (tmp_path / "initlint-baseline.json").read_bytes() == before


def test_a_baseline_reports_new_findings_and_lists_stale_entries(initlint: Run, tmp_path: Path) -> None:
    _two_files(tmp_path)
    initlint("--write-baseline", "base.json")
    # A second statement identical to a baselined one is new: the baseline counts occurrences.
    with_new = TWO_TOWER.replace(
        "        return self.score(vec_a, vec_b)\n", "        return self.score(vec_a, vec_b) + self.again(vec_a, vec_b)\n"
    ) + "\n    def again(self, vec_a, vec_b):\n" + PRODUCT
    write(tmp_path, "src/a.py", with_new)
    assert len(findings(initlint().stdout)) == 3
    proc = initlint("--baseline", "base.json")
    assert proc.returncode == 1
    assert located(proc) == [("src/a.py", "IL101", 22)]  # the later of the two identical ones
    # A different statement is new too.
    write(tmp_path, "src/a.py", TWO_TOWER.replace(PRODUCT, "        return (vec_a * vec_b).mean(-1)\n"))
    assert located(initlint("--baseline", "base.json")) == [("src/a.py", "IL101", 19)]

    # A fixed bug leaves a stale entry: counted, and listed when asked.
    write(tmp_path, "src/a.py", TWO_TOWER)
    write(tmp_path, "src/b.py", SIGMOID_BCE.replace("nn.BCELoss()(model(x), y)", "nn.BCEWithLogitsLoss()(model.fc(x), y)"))
    proc = initlint("--baseline", "base.json")
    assert proc.returncode == 0 and findings(proc.stdout) == []
    assert "1 baseline entry no longer matches" in proc.stderr
    listed = initlint("--baseline", "base.json", "--show-stale-baseline")
    assert "stale baseline entry: src/b.py: IL303 `loss=nn.BCELoss()(model(x),y)`" in listed.stderr
    # Only files and codes this run checked can be stale.
    assert "no longer match" not in initlint("--baseline", "base.json", "src/a.py").stderr
    assert "no longer match" not in initlint("--baseline", "base.json", "--select", "IL1").stderr
    # Pruning: the rewritten baseline holds only the finding still there.
    initlint("--write-baseline", "base.json")
    entries = json.loads((tmp_path / "base.json").read_text(encoding="utf-8"))["findings"]
    assert [(e["path"], e["code"]) for e in entries] == [("src/a.py", "IL101")]


def test_baseline_from_the_configuration(initlint: Run, tmp_path: Path) -> None:
    _two_files(tmp_path)
    write(tmp_path, "pyproject.toml", '[tool.initlint]\nbaseline = "ci/initlint-baseline.json"\n')
    missing = initlint()
    assert missing.returncode == 2 and "ci/initlint-baseline.json" in missing.stderr and "--write-baseline" in missing.stderr
    (tmp_path / "ci").mkdir()
    assert initlint("--write-baseline", "ci/initlint-baseline.json").returncode == 0
    # Relative to the pyproject's folder, wherever initlint runs from; paths relative to the project root.
    proc = initlint(".", cwd=tmp_path / "src")
    assert proc.returncode == 0 and findings(proc.stdout) == [], proc.stdout + proc.stderr
    everything = initlint("--no-baseline")
    assert everything.returncode == 1 and len(findings(everything.stdout)) == 2


def test_add_noqa_applies_only_to_findings_new_since_the_baseline(initlint: Run, tmp_path: Path) -> None:
    _two_files(tmp_path)
    initlint("--write-baseline", "base.json")
    write(tmp_path, "src/c.py", TWO_TOWER)
    proc = initlint("--baseline", "base.json", "--add-noqa")
    assert "Added 1 noqa directive." in proc.stderr
    assert "noqa" in (tmp_path / "src/c.py").read_text(encoding="utf-8")
    assert "noqa" not in (tmp_path / "src/a.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "invalid JSON at line 1"),
        ('{"version": 2, "findings": []}', "unsupported version 2"),
        ('{"version": 1}', 'expected an object with "version" and "findings"'),
        ('{"version": 1, "findings": {}}', '"findings" must be a list'),
        ('{"version": 1, "findings": [{"code": "IL101"}]}', "findings[0] must be an object with exactly the keys"),
        ('{"version": 1, "findings": [{"code": "rm -rf", "path": "a.py", "source": "", "occurrence": 0}]}', "findings[0].code"),
        ('{"version": 1, "findings": [{"code": "IL101", "path": "a.py", "source": "", "occurrence": true}]}', "findings[0].occurrence"),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_a_broken_baseline_is_a_clear_error(initlint: Run, tmp_path: Path, content: str, message: str) -> None:
    _two_files(tmp_path)
    write(tmp_path, "base.json", content)
    proc = initlint("--baseline", "base.json")
    assert proc.returncode == 2
    assert f"initlint: error: baseline base.json: {message}" in proc.stderr, proc.stderr


def test_baseline_options_are_validated(initlint: Run, tmp_path: Path) -> None:
    _two_files(tmp_path)
    write(tmp_path, "pyproject.toml", "[tool.initlint]\nbaseline = 3\n")
    wrong = initlint()
    assert wrong.returncode == 2 and "`tool.initlint.baseline` must be a string, got 3 (a number)" in wrong.stderr
    (tmp_path / "pyproject.toml").unlink()
    assert "needs a baseline" in initlint("--show-stale-baseline").stderr
    both = initlint("--add-noqa", "--write-baseline", "b.json")
    assert both.returncode == 2 and not (tmp_path / "b.json").exists()
    stdin = initlint("-", "--add-noqa", stdin=SIGMOID_BCE.encode())
    assert stdin.returncode == 2 and "stdin" in stdin.stderr


def test_a_baseline_applies_to_stdin(initlint: Run, tmp_path: Path) -> None:
    _two_files(tmp_path)
    initlint("--write-baseline", "base.json")
    # An editor's unsaved buffer of a baselined file, one line moved down.
    proc = initlint("-", "--stdin-filename", "src/b.py", "--baseline", "base.json", stdin=("\n" + SIGMOID_BCE).encode())
    assert proc.returncode == 0 and findings(proc.stdout) == [], proc.stdout
