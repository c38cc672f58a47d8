"""The static path never imports torch, TensorFlow or Keras (`python -X importtime` shows it)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from initlint.cache import RACY_NS

HEAVY = ("torch", "tensorflow", "keras", "jax", "numpy")
ROOT = Path(__file__).resolve().parents[1]


def imported_modules(*args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "initlint", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert names, "no import-time report"
    return names


def test_version_imports_nothing_heavy() -> None:
    names = imported_modules("--version")
    assert not {n for n in names if n.split(".")[0] in HEAVY}
    assert "libcst" not in names  # --version does not even load the parser


def test_a_full_static_run_imports_no_framework() -> None:
    names = imported_modules("examples/", "--format", "json", "--no-cache")
    assert "libcst" in names  # the check really ran
    assert not {n for n in names if n.split(".")[0] in HEAVY}


def test_a_warm_run_imports_only_the_cache_and_the_chosen_report(tmp_path: Path) -> None:
    """Every file a hit: no file is read, so neither the source decoding (and the rules' basics
    it pulls in) nor the notebook code nor the fixes are imported, and no other report format."""
    from tests.cli.conftest import TWO_TOWER  # IL101, a finding without a fix

    (tmp_path / "model.py").write_text(TWO_TOWER, encoding="utf-8")
    args = (str(tmp_path), "--format", "json", "--cache-dir", str(tmp_path / "cache"))
    assert "libcst" in imported_modules(*args)  # the cold run fills the cache
    # A file changed within RACY_NS of its stat is read again: wait until it no longer is, and
    # let one run record its stat fingerprint.
    changed = max(os.stat(tmp_path / "model.py").st_mtime_ns, os.stat(tmp_path / "model.py").st_ctime_ns)
    time.sleep(max(0.0, (changed + RACY_NS - time.time_ns()) / 1e9) + 0.1)
    imported_modules(*args)
    names = imported_modules(*args)
    assert "initlint.cache" in names and "initlint.discover" in names  # (import_module imports are not listed)
    lazy = {"libcst", "initlint.source", "initlint.rule", "initlint.notebook", "initlint.fixes", "initlint.engine"}
    assert not names & lazy, names & lazy
    assert not {n for n in names if n.startswith("initlint.report.") and n != "initlint.report.json_report"}


def test_a_one_file_run_loads_neither_openssl_nor_the_other_report_formats() -> None:
    """A pre-commit hook's common case: the digests use hashlib's bundled BLAKE2b, not the module
    that loads OpenSSL, and only the text report is imported."""
    from tests.cli.conftest import TWO_TOWER  # IL101

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.py"
        path.write_text(TWO_TOWER, encoding="utf-8")
        names = imported_modules("--no-cache", str(path))
    assert "libcst" in names  # the file was checked
    assert "hashlib" not in names and "_hashlib" not in names
    assert {n for n in names if n.startswith("initlint.report.")} == {"initlint.report.text"}
