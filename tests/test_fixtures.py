"""Real-world shapes: each tests/fixtures/<name>.py has its expected findings in <name>.json.

The .py files comment every flagged or deliberately spared line. Run
`pytest tests/test_fixtures.py --regen-fixtures` to rewrite the .json files
after a deliberate change, then review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from initlint.config import Settings
from initlint.engine import check_source

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(FIXTURES.glob("*.py"))


@pytest.mark.parametrize("source", CASES, ids=[p.stem for p in CASES])
def test_fixture(source: Path, request: pytest.FixtureRequest) -> None:
    result = check_source(source.name, source.read_text(encoding="utf-8"), Settings())
    found = [
        {"code": d.code, "line": d.line, "column": d.column, "end_line": d.span.end_line, "end_column": d.span.end_column}
        for d in result.diagnostics
    ]
    expected_path = source.with_suffix(".json")
    if request.config.getoption("--regen-fixtures"):
        expected_path.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert found == expected
