"""`--format lsp`: diagnostics in the Language Server Protocol's publishDiagnostics shape.

A JSON array of `{"uri": "file:///…", "diagnostics": [Diagnostic…]}`, one per
file with findings: 0-based lines and characters (counted in code points, as
the positionEncoding "utf-32"), LSP severities (1 error, 2 warning, 3
information), `source: "initlint"`, `code`, `codeDescription.href` and
`relatedInformation`. In a notebook, ranges are within the cell that
`data.cell` names (1-based among all cells), under the notebook file's URI.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from initlint.diagnostics import Diagnostic, Severity, Span

SEVERITIES = {Severity.ERROR: 1, Severity.WARNING: 2, Severity.INFO: 3}


def uri_of(path: str) -> str:
    return Path(path).resolve().as_uri()


def lsp_range(span: Span) -> dict[str, Any]:
    return {
        "start": {"line": span.line - 1, "character": span.column - 1},
        "end": {"line": span.end_line - 1, "character": span.end_column - 1},
    }


def lsp_diagnostic(d: Diagnostic) -> dict[str, Any]:
    from initlint.rule import rule_by_code

    out: dict[str, Any] = {
        "range": lsp_range(d.span),
        "severity": SEVERITIES[d.severity],
        "code": d.code,
        "source": "initlint",
        "message": d.message,
    }
    rule = rule_by_code(d.code)
    if rule is not None:
        out["codeDescription"] = {"href": rule.docs_url()}
    if d.related:
        out["relatedInformation"] = [
            {"location": {"uri": uri_of(r.path), "range": lsp_range(r.span)}, "message": r.message}
            for r in d.related
        ]
    data: dict[str, Any] = {"name": d.name}
    if d.cell is not None:
        data["cell"] = d.cell
    if d.confirmation is not None:
        data["confirmation"] = {"status": d.confirmation.status, "detail": d.confirmation.detail}
    if d.fix is not None:
        data["fix"] = d.to_json()["fix"]
    out["data"] = data
    return out


def render(diagnostics: Sequence[Diagnostic], files_checked: int = 0) -> str:
    by_uri: dict[str, list[dict[str, Any]]] = {}
    for d in diagnostics:
        by_uri.setdefault(uri_of(d.path), []).append(lsp_diagnostic(d))
    return json.dumps([{"uri": uri, "diagnostics": diags} for uri, diags in by_uri.items()], indent=2) + "\n"
