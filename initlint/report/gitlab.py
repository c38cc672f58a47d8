"""`--format gitlab`: a GitLab Code Quality report (`artifacts:reports:codequality`).

A JSON array of issues, each with `description`, `check_name`, `fingerprint`,
`severity`, `location.path` and `location.lines.begin` (the fields GitLab reads;
`type` and `categories` make it a Code Climate issue too). As in ruff's
output the code leads the description, because GitLab does not show
`check_name`.

The fingerprint is how GitLab tells a new finding from one already on the target
branch, so it must not change when unrelated edits move the code: it hashes
the code, the path and the finding's own source text with whitespace
collapsed (its message when the text cannot be read), never the line number.
GitLab keeps one issue per fingerprint, so identical findings in one file are
told apart by their order.

Severities: an initlint error is a model that cannot train, a correctness bug,
so `critical`, above the `major` that style linters (ruff gives every finding
`major`) report into the same merged widget; not `blocker`, which a static
guess that `--confirm` may refute should not claim. A warning is `minor`, info
is `info`, and a finding the confirmation refuted is `info` as it no longer fails.

Paths are relative to the repository, as GitLab links them: an absolute path is
made relative to `$CI_PROJECT_DIR` (GitLab's checkout) or else the working directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

from initlint.diagnostics import Diagnostic, Severity
from initlint.report.excerpt import SourceLines

SEVERITIES = {Severity.ERROR: "critical", Severity.WARNING: "minor", Severity.INFO: "info"}


def report_path(path: str) -> str:
    if os.path.isabs(path):
        root = os.environ.get("CI_PROJECT_DIR") or os.getcwd()
        relative = os.path.relpath(path, root)
        if not relative.startswith(os.pardir):
            path = relative
    path = path.replace(os.sep, "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def fingerprint(code: str, path: str, text: str, occurrence: int) -> str:
    payload = "\0".join((code, path, " ".join(text.split()), str(occurrence)))
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _issue(d: Diagnostic, path: str, digest: str) -> dict[str, Any]:
    description = f"{d.code}: {d.message}"
    if d.confirmation is not None:
        description += f" [{d.confirmation.status}: {d.confirmation.detail}]"
    return {
        "type": "issue",
        "check_name": d.code,
        "description": description,
        "categories": ["Bug Risk"],
        "severity": SEVERITIES[d.severity] if d.fails else "info",
        "fingerprint": digest,
        "location": {"path": path, "lines": {"begin": d.span.line, "end": max(d.span.line, d.span.end_line)}},
    }


def render(diagnostics: Sequence[Diagnostic], files_checked: int = 0) -> str:
    source = SourceLines()
    seen: dict[tuple[str, str, str], int] = {}
    issues = []
    for d in diagnostics:
        path = report_path(d.path)
        # An empty span (a file-level finding) has no text of its own: its message stands in.
        text = source.span_text(d.path, d.span, d.cell) or d.message
        key = (d.code, path, " ".join(text.split()))
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        issues.append(_issue(d, path, fingerprint(d.code, path, text, occurrence)))
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
