"""`--format sarif`: SARIF 2.1.0 for code scanning (GitHub's `upload-sarif`, IDE viewers).

Every shipped rule is listed in `tool.driver.rules` with its one-line summary,
its whole documentation as help text and its docs URL, whether or not it
fired; results point to their rule by id and index. Relative paths become
percent-encoded relative URIs against `%SRCROOT%` (the working directory), as
code scanning expects; absolute paths become `file://` URIs. Columns are
initlint's own (1-based code points, end exclusive), declared in
`run.columnKind` because SARIF's default is UTF-16 code units. A finding's fix
becomes the result's `fixes` (SARIF 2.1.0 §3.55). In a notebook, a region's
lines are those of its cell, which the location names in its message
(`cell 3`) and its `properties.cell` (1-based among all cells).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote_from_bytes

from initlint import __version__
from initlint.diagnostics import Diagnostic, Fix, Related, Severity, Span

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _artifact(path: str) -> dict[str, str]:
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    # Only `/` stays literal, as in Path.as_uri: `:` is encoded too, so a first segment
    # such as `a:b` cannot be read as a scheme. fsencode keeps undecodable names intact.
    return {"uri": quote_from_bytes(os.fsencode(path.replace(os.sep, "/")), safe="/"), "uriBaseId": "%SRCROOT%"}


def _region(span: Span) -> dict[str, int]:
    # Compared as positions, not column by column: a multi-line span may end left of its start column.
    end_line, end_column = max((span.end_line, span.end_column), (span.line, span.column))
    return {"startLine": span.line, "startColumn": span.column, "endLine": end_line, "endColumn": end_column}


def _location(path: str, span: Span, cell: Optional[int] = None) -> dict[str, Any]:
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": _artifact(path), "region": _region(span)}}
    if cell is not None:
        location["message"] = {"text": f"cell {cell}"}
        location["properties"] = {"cell": cell}
    return location


def _related_location(r: Related) -> dict[str, Any]:
    location = _location(r.path, r.span, r.cell)
    text = r.message if r.cell is None else f"cell {r.cell}: {r.message}"
    return {**location, "message": {"text": text}}


def _fix(path: str, fix: Fix) -> dict[str, Any]:
    """A fix object (§3.55); fix-level metadata beyond SARIF's own goes in its `properties`."""
    return {
        "description": {"text": fix.message},
        "artifactChanges": [
            {
                "artifactLocation": _artifact(path),
                "replacements": [
                    {"deletedRegion": _region(edit.span), "insertedContent": {"text": edit.text}}
                    for edit in fix.edits
                ],
            }
        ],
        "properties": {"applicability": fix.applicability},
    }


def rule_descriptors() -> list[dict[str, Any]]:
    from initlint.rule import all_rules

    return [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary()},
            "fullDescription": {"text": rule.summary()},
            "help": {"text": rule.documentation(), "markdown": rule.documentation()},
            "helpUri": rule.docs_url(),
            "defaultConfiguration": {"level": LEVELS[rule.severity]},
        }
        for rule in all_rules()
    ]


def _result(d: Diagnostic, index: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": d.code,
        "level": LEVELS[d.severity],
        "message": {"text": d.message},
        "locations": [_location(d.path, d.span, d.cell)],
    }
    if d.code in index:
        out["ruleIndex"] = index[d.code]
    if d.related:
        out["relatedLocations"] = [
            {"id": i, **_related_location(r)} for i, r in enumerate(d.related)
        ]
    if d.fix is not None and d.fix.edits:  # SARIF requires at least one replacement
        out["fixes"] = [_fix(d.path, d.fix)]
    if d.confirmation is not None:
        out["properties"] = {
            "confirmation": {
                "status": d.confirmation.status,
                "detail": d.confirmation.detail,
                "evidence": d.confirmation.evidence,
            }
        }
    return out


def _directory_uri(path: Path) -> str:
    """A base URI must end with `/` (§3.14.14); the root's as_uri already does."""
    uri = path.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _partial_notification(path: str, roots: tuple[str, ...]) -> dict[str, Any]:
    """A file analysed in part, as a tool notification (a finding may be missing there)."""
    return {
        "descriptor": {"id": "analysed-in-part"},
        "level": "note",
        "message": {"text": f"analysed in part: {', '.join(roots)} ran out of analysis budget"},
        "locations": [{"physicalLocation": {"artifactLocation": _artifact(path)}}],
    }


def render(
    diagnostics: Sequence[Diagnostic], files_checked: int = 0, partial: Sequence[tuple[str, tuple[str, ...]]] = ()
) -> str:
    rules = rule_descriptors()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    log: dict[str, Any] = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "initlint",
                        "version": __version__,
                        "informationUri": "https://github.com/initlint/initlint",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": _directory_uri(Path.cwd())}},
                "columnKind": "unicodeCodePoints",
                "results": [_result(d, index) for d in diagnostics],
            }
        ],
    }
    if partial:  # only then: a run analysed in full keeps the log it always had
        log["runs"][0]["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [_partial_notification(path, roots) for path, roots in partial],
            }
        ]
    return json.dumps(log, indent=2, default=str) + "\n"
