"""`--format json`: one JSON array of the output contract in DESIGN.md (`Diagnostic.to_json`)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from initlint.diagnostics import Diagnostic


def render(diagnostics: Sequence[Diagnostic], files_checked: int = 0) -> str:
    return json.dumps([d.to_json() for d in diagnostics], indent=2, ensure_ascii=False) + "\n"
