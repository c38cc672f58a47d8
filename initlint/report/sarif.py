"""`--format sarif`: SARIF 2.1.0 for code scanning (GitHub's `upload-sarif`, IDE viewers).

Every shipped rule is listed in `tool.driver.rules` with its one-line summary,
its whole documentation as help text and its docs URL, whether or not it
fired; results point to their rule by id and index. Relative paths become
relative URIs against `%SRCROOT%`, as code scanning expects.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from initlint import __version__
from initlint.diagnostics import Diagnostic, Severity, Span

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _location(path: str, span: Span) -> dict[str, Any]:
    if os.path.isabs(path):
        artifact = {"uri": Path(path).as_uri()}
    else:
        artifact = {"uri": path.replace(os.sep, "/"), "uriBaseId": "%SRCROOT%"}
    return {
        "physicalLocation": {
            "artifactLocation": artifact,
            "region": {
                "startLine": span.line,
                "startColumn": span.column,
                "endLine": span.end_line,
                "endColumn": max(span.end_column, span.column),
            },
        }
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
        "locations": [_location(d.path, d.span)],
    }
    if d.code in index:
        out["ruleIndex"] = index[d.code]
    if d.related:
        out["relatedLocations"] = [
            {"id": i, **_location(r.path, r.span), "message": {"text": r.message}} for i, r in enumerate(d.related)
        ]
    if d.confirmation is not None:
        out["properties"] = {
            "confirmation": {
                "status": d.confirmation.status,
                "detail": d.confirmation.detail,
                "evidence": d.confirmation.evidence,
            }
        }
    return out


def render(diagnostics: Sequence[Diagnostic], files_checked: int = 0) -> str:
    rules = rule_descriptors()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    log = {
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
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
                "results": [_result(d, index) for d in diagnostics],
            }
        ],
    }
    return json.dumps(log, indent=2, default=str) + "\n"
