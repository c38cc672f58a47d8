"""Notebooks read as one program and written back: initlint.notebook through source.read_source /
write_source, on notebook files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from initlint.diagnostics import Diagnostic
from initlint.source import SourceFile, read_source, write_source
from tests.cli.conftest import TWO_TOWER_CLASS, TWO_TOWER_IMPORTS, notebook_text


def notebook_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nb.ipynb"
    path.write_text(text, encoding="utf-8")
    return path


def read(path: Path) -> SourceFile:
    source = read_source(str(path))
    assert isinstance(source, SourceFile)
    return source


def with_outputs(text: str) -> str:
    """A Jupyter-written notebook with outputs, execution counts and non-ASCII in a markdown cell."""
    data = json.loads(text)
    data["cells"][1]["outputs"] = [{"name": "stdout", "output_type": "stream", "text": ["loss: 0.69 ✓\n"]}]
    data["cells"][1]["execution_count"] = 7
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


NOTEBOOK = with_outputs(notebook_text("# Zwei Türme\n", TWO_TOWER_IMPORTS, "x = 1\n", TWO_TOWER_CLASS,
                                      kinds=["markdown", "code", "code", "code"]))


def test_an_unedited_program_writes_back_the_same_bytes(tmp_path: Path) -> None:
    path = notebook_file(tmp_path, NOTEBOOK)
    program = read(path).text
    # The program: the code cells, magic and shell lines left out in place.
    assert program == "\n\n" + TWO_TOWER_IMPORTS.split("\n", 2)[2] + "x = 1\n" + TWO_TOWER_CLASS
    write_source(str(path), program)
    assert path.read_text(encoding="utf-8") == NOTEBOOK


def test_an_edit_in_cell_3_changes_only_that_cell(tmp_path: Path) -> None:
    path = notebook_file(tmp_path, NOTEBOOK)
    source = read(path)
    assert source.notebook is not None
    cell, line = source.notebook.locate(source.text.splitlines().index("x = 1") + 1)
    assert (cell, line) == (3, 1)
    write_source(str(path), source.text.replace("x = 1\n", "x = 2  # noqa: IL101\ny = 3\n"))
    before, after = json.loads(NOTEBOOK), json.loads(path.read_text(encoding="utf-8"))
    assert after["cells"][2]["source"] == ["x = 2  # noqa: IL101\n", "y = 3\n"]
    assert [c for i, c in enumerate(after["cells"]) if i != 2] == [c for i, c in enumerate(before["cells"]) if i != 2]
    # Magics come back; the layout is Jupyter's (indent 1, non-ASCII kept, final newline).
    assert after["cells"][1]["source"][:2] == ["%matplotlib inline\n", "!pip install torch\n"]
    expected = json.loads(NOTEBOOK)
    expected["cells"][2]["source"] = ["x = 2  # noqa: IL101\n", "y = 3\n"]
    assert path.read_text(encoding="utf-8") == json.dumps(expected, indent=1, ensure_ascii=False) + "\n"


def test_a_string_source_and_another_indentation_are_kept(tmp_path: Path) -> None:
    data: dict[str, Any] = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": "a = 1\nb = 2"}],
            "nbformat": 4, "nbformat_minor": 2, "metadata": {}}
    text = json.dumps(data, indent=2)  # no final newline
    path = notebook_file(tmp_path, text)
    assert read(path).text == "a = 1\nb = 2\n"
    write_source(str(path), "a = 1\nb = 3\n")
    data["cells"][0]["source"] = "a = 1\nb = 3"
    assert path.read_text(encoding="utf-8") == json.dumps(data, indent=2)


@pytest.mark.parametrize("text", ["not json", "[]", '{"cells": {}}', '{"cells": [{"cell_type": "code", "source": [1]}]}', "\xff"])
def test_an_invalid_notebook_is_il002(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_bytes(text.encode("latin-1"))
    result = read_source(str(path))
    assert isinstance(result, Diagnostic) and result.code == "IL002"
    assert "notebook" in result.message or "UTF-8" in result.message
