"""`--fix`, `--unsafe-fixes` and `--diff` through the real command, and a fix's applicability in the reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from initlint.rules.il303_sigmoid_bce import PREDICT_READS_OUTPUT, SEQUENTIAL_SIGMOID
from initlint.rules.il304_activated_logits import SIGMOID_BCE_LOGITS
from tests.cli.conftest import SIGMOID_BCE, Run, findings, write
from tests.corpus import Finding

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def fixes(initlint: Run, *args: str) -> list[Finding]:
    proc = initlint("--format", "json", "--no-cache", *args)
    return [d["fix"] for d in json.loads(proc.stdout)]


def test_fix_writes_the_safe_fix_and_a_rerun_is_clean(initlint: Run, tmp_path: Path) -> None:
    path = write(tmp_path, "step.py", SIGMOID_BCE_LOGITS)
    proc = initlint("--fix", "--no-cache", "step.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Found 1 finding (1 fixed, 0 remaining)" in proc.stdout
    assert path.read_text(encoding="utf-8") == SIGMOID_BCE_LOGITS.replace("torch.sigmoid(head(h))", "head(h)")
    again = initlint("--no-cache", "step.py")
    assert again.returncode == 0 and findings(again.stdout) == []


def test_fix_keeps_the_encoding_and_the_bom(initlint: Run, tmp_path: Path) -> None:
    path = tmp_path / "step.py"
    path.write_bytes(b"\xef\xbb\xbf# caf\xc3\xa9\n" + SIGMOID_BCE_LOGITS.encode())
    assert initlint("--fix", "--no-cache", "step.py").returncode == 0
    assert path.read_bytes() == b"\xef\xbb\xbf# caf\xc3\xa9\n" + SIGMOID_BCE_LOGITS.replace("torch.sigmoid(head(h))", "head(h)").encode()


def test_diff_prints_the_change_writes_nothing_and_exits_1(initlint: Run, tmp_path: Path) -> None:
    path = write(tmp_path, "step.py", SIGMOID_BCE_LOGITS)
    proc = initlint("--diff", "--no-cache", "step.py")
    assert proc.returncode == 1, proc.stderr
    assert "--- step.py\n+++ step.py\n" in proc.stdout
    assert "-    loss = F.binary_cross_entropy_with_logits(torch.sigmoid(head(h)), y)\n" in proc.stdout
    assert "+    loss = F.binary_cross_entropy_with_logits(head(h), y)\n" in proc.stdout
    assert path.read_text(encoding="utf-8") == SIGMOID_BCE_LOGITS
    # Nothing to change: no diff, exit 0 (the unsafe fix is not applied without --unsafe-fixes).
    write(tmp_path, "churn.py", PREDICT_READS_OUTPUT)
    none = initlint("--diff", "--no-cache", "churn.py")
    assert none.returncode == 0 and none.stdout == ""


def test_unsafe_il303_rewrite_is_applied_only_with_unsafe_fixes(initlint: Run, tmp_path: Path) -> None:
    path = write(tmp_path, "churn.py", PREDICT_READS_OUTPUT)
    proc = initlint("--fix", "--no-cache", "churn.py")
    assert proc.returncode == 1 and path.read_text(encoding="utf-8") == PREDICT_READS_OUTPUT
    assert [f[1] for f in findings(proc.stdout)] == ["IL303"]
    assert "1 fix available with `--fix --unsafe-fixes`." in proc.stdout
    # --unsafe-fixes alone shows the fix as available and writes nothing.
    shown = initlint("--unsafe-fixes", "--no-cache", "churn.py")
    assert "1 fixable with `--fix`." in shown.stdout and path.read_text(encoding="utf-8") == PREDICT_READS_OUTPUT
    proc = initlint("--fix", "--unsafe-fixes", "--no-cache", "churn.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fixed = path.read_text(encoding="utf-8")
    assert "nn.BCEWithLogitsLoss()" in fixed and "nn.Identity()" in fixed and "nn.Sigmoid()" not in fixed


def test_a_predict_reading_the_output_makes_il303_unsafe(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "alone.py", SEQUENTIAL_SIGMOID)
    write(tmp_path, "reader.py", PREDICT_READS_OUTPUT)
    subclass = "\n\nclass Thresholded(Classifier):\n    def predict(self, x):\n        return self(x) > 0.5\n"
    write(tmp_path, "method.py", SIGMOID_BCE + subclass)
    assert [f["applicability"] for f in fixes(initlint, "alone.py")] == ["safe"]
    assert [f["applicability"] for f in fixes(initlint, "reader.py")] == ["unsafe"]
    assert [f["applicability"] for f in fixes(initlint, "method.py")] == ["unsafe"]


def test_softmax_returned_by_the_model_gets_an_unsafe_fix(initlint: Run, tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "softmax_cross_entropy.py", tmp_path / "example.py")
    [fix] = fixes(initlint, "example.py")
    assert fix["applicability"] == "unsafe" and fix["message"].startswith("return the logits")
    assert initlint("--fix", "--no-cache", "example.py").returncode == 1  # unsafe: not applied
    proc = initlint("--fix", "--unsafe-fixes", "--no-cache", "example.py")
    assert proc.returncode == 0, proc.stdout
    assert "return self.out(F.relu(self.hidden(x)))" in (tmp_path / "example.py").read_text(encoding="utf-8")


def test_a_softmax_last_in_a_sequential_is_removed_by_an_unsafe_fix(initlint: Run, tmp_path: Path) -> None:
    from initlint.rules.il304_activated_logits import SOFTMAX_CE

    path = write(tmp_path, "intent.py", SOFTMAX_CE)
    assert [f["applicability"] for f in fixes(initlint, "intent.py")] == ["unsafe"]
    assert initlint("--fix", "--unsafe-fixes", "--no-cache", "intent.py").returncode == 0
    assert path.read_text(encoding="utf-8") == SOFTMAX_CE.replace("\n            nn.Softmax(dim=-1),", "")


def test_json_and_sarif_carry_the_applicability(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "step.py", SIGMOID_BCE_LOGITS)
    write(tmp_path, "churn.py", PREDICT_READS_OUTPUT)
    by_path = {d["path"]: d["fix"] for d in json.loads(initlint("--format", "json", "--no-cache", ".").stdout)}
    assert by_path["step.py"]["applicability"] == "safe" and by_path["churn.py"]["applicability"] == "unsafe"
    assert set(by_path["step.py"]) == {"message", "applicability", "edits"}
    sarif = json.loads(initlint("--format", "sarif", "--no-cache", ".").stdout)
    results = sarif["runs"][0]["results"]
    got = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["fixes"][0]["properties"] for r in results}
    assert got == {"step.py": {"applicability": "safe"}, "churn.py": {"applicability": "unsafe"}}


def test_fix_with_stdin_is_a_usage_error(initlint: Run) -> None:
    proc = initlint("--fix", "-", stdin=SIGMOID_BCE_LOGITS.encode())
    assert proc.returncode == 2 and "stdin" in proc.stderr
