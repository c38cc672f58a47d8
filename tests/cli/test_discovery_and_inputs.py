"""Which files are checked, and bad input: never a traceback, one file's failure never stops the others."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import CLEAN, TWO_TOWER, Run, findings, write


def checked(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(f[0] for f in findings(proc.stdout))


def test_default_excludes_and_pyi(initlint: Run, tmp_path: Path) -> None:
    for folder in ("src", ".venv/lib", "venv", "build", "dist", "__pycache__", "node_modules", ".tox", "x/site-packages", ".git"):
        write(tmp_path, f"{folder}/model.py", TWO_TOWER)
    write(tmp_path, "src/stub.pyi", TWO_TOWER)
    write(tmp_path, "src/notes.txt", TWO_TOWER)
    assert checked(initlint()) == ["src/model.py"]


def test_exclude_and_extend_exclude_from_config(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.initlint]\nextend-exclude = ["legacy/", "gen_*.py", "src/only_here.py"]\n')
    for name in ("src/model.py", "legacy/old.py", "src/gen_a.py", "src/only_here.py", "other/src/only_here.py", "build/x.py"):
        write(tmp_path, name, TWO_TOWER)
    assert checked(initlint()) == ["other/src/only_here.py", "src/model.py"]
    # `exclude` replaces the defaults: build/ is checked again.
    write(tmp_path, "pyproject.toml", '[tool.initlint]\nexclude = ["legacy"]\n')
    assert "build/x.py" in checked(initlint())
    # Excludes apply to files named on the command line too (pre-commit passes file names).
    write(tmp_path, "pyproject.toml", '[tool.initlint]\nextend-exclude = ["legacy/"]\n')
    assert checked(initlint("legacy/old.py", "src/model.py")) == ["src/model.py"]


def test_gitignore_nested_and_negated(initlint: Run, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=120)
    write(tmp_path, ".gitignore", "generated/\n*_tmp.py\n")
    write(tmp_path, "pkg/.gitignore", "local_*.py\n!local_keep.py\n")
    for name in ("main.py", "generated/model.py", "scratch_tmp.py", "pkg/local_a.py", "pkg/local_keep.py", "local_b.py"):
        write(tmp_path, name, TWO_TOWER)
    assert checked(initlint()) == ["local_b.py", "main.py", "pkg/local_keep.py"]
    # A walk that starts below the repository root still honours the root's .gitignore.
    write(tmp_path, "pkg/generated/x.py", TWO_TOWER)
    assert checked(initlint("pkg")) == ["pkg/local_keep.py"]
    assert "generated/model.py" in checked(initlint("--no-gitignore"))
    write(tmp_path, "pyproject.toml", "[tool.initlint]\nrespect-gitignore = false\n")
    assert "scratch_tmp.py" in checked(initlint())


def test_directory_named_like_a_python_file_and_symlink_loops(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "x.py/inner.py", TWO_TOWER)
    (tmp_path / "pkg").mkdir()
    os.symlink("..", tmp_path / "pkg" / "up")  # a loop back to the root
    os.symlink("self.py", tmp_path / "self.py")  # a symlink to itself
    proc = initlint()
    assert proc.returncode == 1
    got = findings(proc.stdout)
    assert ("x.py/inner.py", "IL101") in [(p, c) for p, c, _, _ in got]
    assert [(p, c) for p, c, _, _ in got if p == "self.py"] == [("self.py", "IL002")]
    assert len(got) == 2  # the file behind the loop is checked once
    assert checked(initlint("x.py")) == ["x.py/inner.py"]


def test_bad_inputs_become_diagnostics_and_the_rest_is_checked(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "good.py", TWO_TOWER)
    write(tmp_path, "syntax.py", "import torch\n\ndef forward(self, x)\n    return x\n")
    (tmp_path / "latin1.py").write_bytes("import torch\nname = 'caf\u00e9'\n".encode("latin-1"))
    (tmp_path / "cookie.py").write_bytes("# -*- coding: latin-1 -*-\nimport torch\nname = 'caf\u00e9'\n".encode("latin-1"))
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbf" + CLEAN.encode())
    (tmp_path / "binary.py").write_bytes(b"import torch\x00\x01\x02")
    write(tmp_path, "empty.py", "")
    write(tmp_path, "nested.py", "import torch\nx = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
    write(tmp_path, "unary.py", "import torch\nx = " + "- " * 10_000 + "1\n")  # overflows libcst's native parser
    # Long chains that crash libcst or keep it busy for minutes; CPython measures their depth.
    write(tmp_path, "chains.py", "import torch\nx = " + "not " * 20_000 + "y\n")
    write(tmp_path, "lambdas.py", "import torch\nf = " + "lambda: " * 20_000 + "y\n")
    write(tmp_path, "attributes.py", "import torch\nx = y" + ".z" * 50_000 + "\n")
    # 10,000 lines of `y or`: fine for CPython, but it overflowed the C stack under libcst.
    write(tmp_path, "ors.py", "import torch\nx = (y or\n" + "     y or\n" * 10_000 + "     y)\n")
    write(tmp_path, "sum.py", "import torch\nx = (y\n" + "    + y\n" * 10_000 + ")\n")  # libcst: minutes
    write(tmp_path, "data.py", "import torch\nDATA = [" + ", ".join(map(str, range(5_000))) + "]\n")  # long, not deep
    (tmp_path / "huge.py").write_bytes(b"import torch\n" + b"x = 1\n" * 2_000_000)
    proc = initlint("--format", "json")
    import json

    by_path: dict[str, list[tuple[str, int, int]]] = {}
    for d in json.loads(proc.stdout):
        by_path.setdefault(d["path"], []).append((d["code"], d["line"], d["column"]))
    assert proc.returncode == 1
    assert by_path.pop("good.py")[0][0] == "IL101"
    assert by_path.pop("syntax.py") == [("IL001", 3, 21)]
    assert by_path.pop("latin1.py")[0][:2] == ("IL002", 2)
    assert by_path.pop("binary.py")[0][0] == "IL002"
    assert by_path.pop("huge.py")[0][0] == "IL002"
    assert [c for c, _, _ in by_path.pop("nested.py")] in ([], ["IL001"])
    assert [c for c, _, _ in by_path.pop("unary.py")] in ([], ["IL001"])
    assert "ors.py" not in by_path
    alone = initlint("--format", "json", "ors.py")  # in this process, not in a pool worker
    assert (alone.returncode, json.loads(alone.stdout)) == (0, []), alone.stderr
    for deep in ("chains.py", "lambdas.py", "attributes.py", "sum.py"):
        assert [c for c, _, _ in by_path.pop(deep)] == ["IL001"], deep
    assert by_path == {}  # cookie.py, bom.py and empty.py are fine


def test_syntax_message_names_the_problem(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "m.py", "import torch\n\ndef forward(self, x)\n    return x\n")
    proc = initlint()
    assert proc.stdout.splitlines()[0] == "m.py:3:21: IL001 syntax error: expected ':'"


def test_files_without_deep_learning_code_are_skipped_before_parsing(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "setup_helper.py", "def main(argv)\n    print(argv)\n")  # a syntax error, but no model code
    write(tmp_path, "model.py", "import torch\n\ndef main(argv)\n    print(argv)\n")
    proc = initlint()
    assert checked(proc) == ["model.py"]


@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["cache", "no-cache"])
def test_a_file_named_on_the_command_line_is_always_checked(initlint: Run, tmp_path: Path, cache: list[str]) -> None:
    """The pre-filter is for folder walks; pre-commit and editors name the files they want checked."""
    write(tmp_path, "util.py", "def main(argv)\n    print(argv)\n")  # a syntax error, no model code
    write(tmp_path, "model.py", CLEAN)
    assert checked(initlint(*cache)) == []  # the walk skips it ...
    named = initlint(*cache, "util.py", "model.py")  # ... after a walk has cached util.py as skipped
    assert named.returncode == 1
    assert findings(named.stdout) == [("util.py", "IL001", 1, 15)]
    assert checked(initlint(*cache)) == []  # and a walk after the named run still skips it
    assert findings(initlint(*cache, "util.py").stdout) == [("util.py", "IL001", 1, 15)]
    piped = initlint("-", "--stdin-filename", "util.py", stdin=b"def main(argv)\n    print(argv)\n")
    assert findings(piped.stdout) == [("util.py", "IL001", 1, 15)]


def test_the_il001_documentation_example_is_reported(initlint: Run, tmp_path: Path) -> None:
    from initlint.rule import rule_by_code

    rule = rule_by_code("IL001")
    assert rule is not None
    example = rule.documentation().split("## Example", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    write(tmp_path, "example.py", example)
    proc = initlint("example.py")
    assert proc.returncode == 1 and [f[1] for f in findings(proc.stdout)] == ["IL001"], proc.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_file(initlint: Run, tmp_path: Path) -> None:
    path = write(tmp_path, "secret.py", TWO_TOWER)
    path.chmod(0)
    proc = initlint()
    assert findings(proc.stdout)[0][:2] == ("secret.py", "IL002")
