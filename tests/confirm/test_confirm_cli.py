"""`initlint --confirm` end to end: the real CLI in a subprocess on corpus files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from initlint.config import ConfirmSettings, Settings  # noqa: E402
from initlint.confirm import confirm_diagnostics  # noqa: E402
from initlint.confirm.plot import write_plots  # noqa: E402
from initlint.diagnostics import Diagnostic, Severity, Span  # noqa: E402

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "cases"
FILES = ["seed000_pair_torch.py", "seed003_zero_relu.py", "il102_pos_zero_embedding_relu.py",
         "il201_refuted_random_head.py", "il101_neg_lora.py"]

pytestmark = pytest.mark.skipif(not CASES.is_dir(), reason="the shared corpus is not checked out")


def initlint(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "initlint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_confirm_flag_adds_verdicts_to_json(tmp_path: Path) -> None:
    for name in FILES:
        shutil.copy(CASES / name, tmp_path / name)
    labels = {c["path"]: c["confirm"] for c in json.loads((CASES / "labels.json").read_text())["cases"]}
    static = initlint("--format", "json", *FILES, cwd=tmp_path)
    assert all("confirmation" not in f for f in json.loads(static.stdout))
    proc = initlint("--confirm", "--format", "json", *FILES, cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    findings = json.loads(proc.stdout)
    checked = [f for f in findings if f["code"] in {"IL101", "IL102", "IL103", "IL201"}]
    assert {f["path"] for f in checked} >= {"seed000_pair_torch.py", "il102_pos_zero_embedding_relu.py"}
    for f in checked:
        want = labels[f["path"]]
        assert f["confirmation"]["status"] == want, f
        if want == "confirmed":
            evidence = f["confirmation"]["evidence"]
            assert evidence.get("pass1_grad_norm") or evidence.get("units"), evidence
    assert not any(f["path"] == "il101_neg_lora.py" for f in findings)


def test_plot_writes_a_bar_chart_for_confirmed_scale_findings(tmp_path: Path) -> None:
    shutil.copy(CASES / "seed001_normal_std1.py", tmp_path / "seed001_normal_std1.py")
    d = Diagnostic(str(tmp_path / "seed001_normal_std1.py"), Span(11, 13, 11, 60), "IL401", "unscaled-init", Severity.WARNING, "x")
    (done,) = confirm_diagnostics([d], Settings(confirm=ConfirmSettings(enabled=True)), str(tmp_path))
    assert done.confirmation is not None and done.confirmation.status == "confirmed"
    written = write_plots([done], str(tmp_path / "plots"))
    assert [Path(p).name for p in written] == [f"{str(tmp_path / 'seed001_normal_std1.py').strip('/').replace('/', '_')}_11_IL401.png"]
    assert Path(written[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
