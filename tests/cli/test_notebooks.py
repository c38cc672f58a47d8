"""Jupyter notebooks through the real command line: found by folder walks, checked as one program,
reported by cell."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import (
    CLEAN,
    TWO_TOWER,
    TWO_TOWER_CLASS,
    TWO_TOWER_IMPORTS,
    TWO_TOWER_NOTEBOOK,
    TWO_TOWER_NOTEBOOK_AT,
    Run,
    notebook_text,
    write,
)

CELL, LINE, COLUMN = TWO_TOWER_NOTEBOOK_AT


def test_a_folder_walk_reports_a_notebook_finding_at_its_cell(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "notebooks/two_tower.ipynb", TWO_TOWER_NOTEBOOK)
    text = initlint("--no-cache", ".")
    assert text.returncode == 1, text.stdout + text.stderr
    assert f"notebooks/two_tower.ipynb:cell {CELL}:{LINE}:{COLUMN}: IL101 " in text.stdout
    assert "IL001" not in text.stdout  # the magics and the shell line are left out
    assert "in 1 file." in text.stdout

    [finding] = json.loads(initlint("--no-cache", "--format", "json", ".").stdout)
    assert (finding["path"], finding["cell"], finding["line"], finding["column"]) == (
        "notebooks/two_tower.ipynb", CELL, LINE, COLUMN,
    )
    # The zero initializers are in the same cell, at that cell's lines.
    assert {(r["cell"], r["line"]) for r in finding["related"]} == {
        (CELL, TWO_TOWER_CLASS.splitlines().index(line) + 1)
        for line in TWO_TOWER_CLASS.splitlines()
        if "nn.init.zeros_" in line
    }


def test_excludes_and_gitignore_apply_to_notebooks(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "kept.ipynb", TWO_TOWER_NOTEBOOK)
    write(tmp_path, "scratch/ignored.ipynb", TWO_TOWER_NOTEBOOK)
    write(tmp_path, ".ipynb_checkpoints/kept-checkpoint.ipynb", TWO_TOWER_NOTEBOOK)
    write(tmp_path, ".gitignore", "scratch/\n")
    (tmp_path / ".git").mkdir()
    findings = json.loads(initlint("--no-cache", "--format", "json", ".").stdout)
    assert [f["path"] for f in findings] == ["kept.ipynb"]


def test_ipython_syntax_is_left_out_line_by_line(initlint: Run, tmp_path: Path) -> None:
    """Magics, shell, help and assigned-shell lines, an indented magic as a block's only statement,
    a %%time cell that is checked and a %%bash cell that is not: no IL001, the finding still found."""
    cells = [
        "%load_ext autoreload\n%autoreload 2\nfiles = !ls\nimport numpy as np\nnp.zeros?\n??np.ones\n",
        "for name in files:\n    !echo {name}\n",
        "%%bash\nif [ -d data ]; then echo (\nfi\n",
        '%%time\ndoc = """\n%not a magic inside a string\n"""\n' + TWO_TOWER_IMPORTS.split("\n", 2)[2],
        TWO_TOWER_CLASS,
    ]
    write(tmp_path, "nb.ipynb", notebook_text(*cells))
    [finding] = json.loads(initlint("--no-cache", "--format", "json", ".").stdout)
    assert (finding["code"], finding["cell"], finding["line"]) == ("IL101", 5, LINE)


def test_noqa_in_a_cell(initlint: Run, tmp_path: Path) -> None:
    product = TWO_TOWER_CLASS.splitlines()[LINE - 1]
    suppressed = TWO_TOWER_CLASS.replace(product, product + "  # noqa: IL101")
    write(tmp_path, "nb.ipynb", notebook_text(TWO_TOWER_IMPORTS, suppressed))
    result = initlint("--no-cache", ".")
    assert result.returncode == 0, result.stdout
    assert "No findings in 1 file." in result.stdout


def test_an_invalid_notebook_is_il002_and_the_others_are_checked(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "a_broken.ipynb", '{"cells": [')
    write(tmp_path, "b_no_cells.ipynb", '{"metadata": {}}')
    write(tmp_path, "c_bad_source.ipynb", '{"cells": [{"cell_type": "code", "source": 3}]}')
    write(tmp_path, "d_model.py", TWO_TOWER)
    write(tmp_path, "e_clean.ipynb", notebook_text(CLEAN))
    result = initlint("--no-cache", "--format", "json", ".")
    assert result.returncode == 1
    found = {(f["path"], f["code"]) for f in json.loads(result.stdout)}
    assert found == {
        ("a_broken.ipynb", "IL002"), ("b_no_cells.ipynb", "IL002"), ("c_bad_source.ipynb", "IL002"),
        ("d_model.py", "IL101"),
    }
    text = initlint("--no-cache", "b_no_cells.ipynb").stdout
    assert "b_no_cells.ipynb:1:1: IL002 not a Jupyter notebook: no `cells` list" in text


def test_a_cached_notebook_is_still_reported_at_its_cell(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "nb.ipynb", TWO_TOWER_NOTEBOOK)
    first = initlint(".").stdout
    assert list((tmp_path / ".initlint_cache").glob("*.json"))
    second = initlint(".").stdout
    assert second == first
    assert f"nb.ipynb:cell {CELL}:{LINE}:{COLUMN}: IL101" in second


def test_stdin_as_a_notebook(initlint: Run, tmp_path: Path) -> None:
    result = initlint("-", "--stdin-filename", "nb.ipynb", stdin=TWO_TOWER_NOTEBOOK.encode())
    assert f"nb.ipynb:cell {CELL}:{LINE}:{COLUMN}: IL101" in result.stdout


def test_github_annotations_name_the_cell(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "nb.ipynb", TWO_TOWER_NOTEBOOK)
    [line] = initlint("--no-cache", "--format", "github", ".").stdout.splitlines()
    assert line.startswith(f"::error file=nb.ipynb,line={LINE},col={COLUMN},")
    assert f"title=IL101 zero-product (cell {CELL})" in line
    assert f"::IL101 cell {CELL}, line {LINE}: " in line


# A safe IL304 fix in cell 2: the softmax written inside the loss call.
SOFTMAX_IN_LOSS = (
    "import torch\nimport torch.nn.functional as F\n",
    "%time\nlogits = torch.randn(4, 10, requires_grad=True)\n"
    "loss = F.cross_entropy(F.softmax(logits, dim=-1), torch.tensor([1, 2, 3, 4]))\n",
)


def _with_output(text: str) -> str:
    """The notebook with an output and metadata on cell 1, which a fix must keep."""
    data = json.loads(text)
    data["cells"][0]["outputs"] = [{"name": "stdout", "output_type": "stream", "text": ["ok\n"]}]
    data["cells"][0]["metadata"] = {"tags": ["setup"]}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def test_fix_and_diff_on_a_notebook(initlint: Run, tmp_path: Path) -> None:
    path = write(tmp_path, "nb.ipynb", _with_output(notebook_text(*SOFTMAX_IN_LOSS)))
    before = path.read_text(encoding="utf-8")
    found = json.loads(initlint("--format", "json", "nb.ipynb").stdout)
    assert [(d["code"], d["cell"], d["fix"]["applicability"]) for d in found] == [("IL304", 2, "safe")]

    diff = initlint("--diff", "nb.ipynb")
    assert diff.returncode == 1 and "F.softmax" in diff.stdout
    assert path.read_text(encoding="utf-8") == before  # --diff writes nothing

    fixed = initlint("--fix", "nb.ipynb")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    data = json.loads(path.read_text(encoding="utf-8"))  # still a valid notebook
    assert data["cells"][0] == json.loads(before)["cells"][0]  # outputs and metadata kept
    assert data["cells"][1]["source"][0] == "%time\n"  # the magic is back in its cell
    assert "F.cross_entropy(logits, torch.tensor([1, 2, 3, 4]))" in "".join(data["cells"][1]["source"])
    assert path.read_text(encoding="utf-8").startswith('{\n "cells"')  # Jupyter's one-space indent
    assert initlint("nb.ipynb").returncode == 0  # and a rerun is clean


def test_add_noqa_in_a_notebook_cell(initlint: Run, tmp_path: Path) -> None:
    path = write(tmp_path, "towers.ipynb", TWO_TOWER_NOTEBOOK)
    added = initlint("--add-noqa", "towers.ipynb")
    assert added.returncode == 0 and "Added 1 noqa directive" in added.stderr, added.stderr
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert "# noqa: IL101" in cells[CELL - 1]["source"][LINE - 1]
    assert initlint("towers.ipynb").returncode == 0


def test_full_format_quotes_the_cell(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "towers.ipynb", TWO_TOWER_NOTEBOOK)
    rows = initlint("--format", "full", "towers.ipynb").stdout.splitlines()
    assert rows[0].startswith(f"towers.ipynb:cell {CELL}:{LINE}:{COLUMN}: error[IL101]")
    assert f"{LINE} |         return (vec_a * vec_b).sum(-1)" in rows, rows
    assert any(row.strip().startswith(f"= note: towers.ipynb:cell {CELL}:") for row in rows), rows


def test_a_shell_line_continued_with_backslashes_is_left_out_whole(initlint: Run, tmp_path: Path) -> None:
    """Colab's `!pip install -q \\` over indented lines: the continuation is part of the shell line."""
    install = "!pip install -q -U \\\n    transformers \\\n    accelerate\n"
    write(tmp_path, "setup.ipynb", notebook_text(install, "import torch\nx = torch.zeros(3)\n"))
    proc = initlint("--format", "json", "setup.ipynb")
    assert json.loads(proc.stdout) == [], proc.stdout
