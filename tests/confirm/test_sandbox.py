"""`--confirm` runs the project's model code, but not its side effects: a model that writes a file,
reads a data file, opens a connection or starts a process while it is built stays unverified,
says why, and the side effect does not happen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

MODEL = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8, bias=False)
        self.b = nn.Linear(8, 8, bias=False)
        nn.init.zeros_(self.a.weight)
        nn.init.zeros_(self.b.weight)
{side_effect}

    def forward(self, x):
        return self.a(x) * self.b(x)
"""

SIDE_EFFECTS = {
    "write": ("        open({target!r}, 'w').write('checkpoint')", "write the file"),
    "read": ("        open({data!r}).read()", "read the file"),
    "network": ("        import socket; socket.create_connection(('127.0.0.1', 9))", "use the network"),
    "process": ("        import subprocess; subprocess.run(['touch', {target!r}])", "start or signal a process"),
    "delete": ("        import os; os.remove({data!r})", "change files"),
}


def confirm(tmp_path: Path, side_effect: str) -> dict[str, object]:
    (tmp_path / "model.py").write_text(MODEL.format(side_effect=side_effect), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "initlint", "--confirm", "--format", "json", "model.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    (finding,) = [f for f in json.loads(proc.stdout) if f["code"] == "IL101"]
    confirmation = finding["confirmation"]
    assert isinstance(confirmation, dict)
    return confirmation


@pytest.mark.parametrize("kind", sorted(SIDE_EFFECTS))
def test_a_model_with_a_side_effect_is_unverified_and_the_effect_does_not_happen(tmp_path: Path, kind: str) -> None:
    target, data = tmp_path / "written.txt", tmp_path / "data.csv"
    data.write_text("1,2,3\n", encoding="utf-8")
    code, reason = SIDE_EFFECTS[kind]
    confirmation = confirm(tmp_path, code.format(target=str(target), data=str(data)))
    assert confirmation["status"] == "unverified"
    assert "without file, network or process access" in str(confirmation["detail"])
    assert reason in str(confirmation["detail"])
    assert not target.exists()
    assert data.exists()


def test_the_same_model_without_the_side_effect_is_confirmed(tmp_path: Path) -> None:
    assert confirm(tmp_path, "        pass")["status"] == "confirmed"


def test_a_long_confirmation_run_says_which_model_it_is_measuring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import initlint.confirm as stage
    from initlint.config import ConfirmSettings, Settings
    from initlint.diagnostics import Diagnostic
    from initlint.engine import check_source

    monkeypatch.setattr(stage, "PROGRESS_AFTER_SECONDS", 0.0)  # as if the run had already taken long
    monkeypatch.chdir(tmp_path)
    found: list[Diagnostic] = []
    for name in ("first", "second", "third"):
        text = MODEL.format(side_effect="        pass")
        (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
        found += check_source(f"{name}.py", text, Settings()).diagnostics
    assert [d.code for d in found] == ["IL101"] * 3
    stage.confirm_diagnostics(found, Settings(confirm=ConfirmSettings(enabled=True)), str(tmp_path))
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("initlint: confirming")]
    assert lines == [
        f"initlint: confirming {i} of 3: Net in {name}.py" for i, name in enumerate(("first", "second", "third"), 1)
    ]
