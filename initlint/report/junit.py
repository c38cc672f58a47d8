"""`--format junit`: JUnit XML, for CI systems that show test reports (GitLab, Jenkins, Azure).

Laid out as ruff's: `<testsuites name="initlint">`, one `<testsuite>` per file
with findings and one `<testcase>` per finding (`classname` the file's path
without `.py`, `name` the code and rule name, `line`/`column`/`file` attributes),
whose `<failure>` has the message, the severity as `type`, and the finding
with its notes and fix as text. A finding per test case, not per file, because
the consumers read one failure per test case: GitLab and Jenkins would show
only the first of a file's findings. A finding the confirmation refuted no
longer fails: its case is `<skipped>`. With no findings the report holds one
passing case, so a CI view shows a run rather than an empty file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from initlint.diagnostics import Diagnostic
from initlint.report.text import summary

# Characters XML 1.0 cannot carry at all, even escaped; a message quoting source could hold one.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _classname(path: str) -> str:
    path = path.replace("\\", "/")
    return path[:-3] if path.endswith(".py") else path


def _details(d: Diagnostic) -> str:
    lines = [f"{d.path}:{d.line}:{d.column}: {d.code} {d.message}"]
    lines += [f"note: {r.path}:{r.span.line}:{r.span.column}: {r.message}" for r in d.related]
    if d.fix is not None:
        lines.append(f"help: {d.fix.message}")
    return _clean("\n".join(lines))


def _case(suite: ET.Element, d: Diagnostic) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        name=_clean(f"{d.code} {d.name}"),
        classname=_clean(_classname(d.path)),
        file=_clean(d.path),
        line=str(d.line),
        column=str(d.column),
    )
    if not d.fails and d.confirmation is not None:
        skipped = ET.SubElement(case, "skipped", message=_clean(f"refuted: {d.confirmation.detail}"))
        skipped.text = _details(d)
        return
    message = d.message
    if d.confirmation is not None:
        message += f" [{d.confirmation.status}: {d.confirmation.detail}]"
    failure = ET.SubElement(case, "failure", message=_clean(message), type=d.severity.label)
    failure.text = _details(d)


def render(diagnostics: Sequence[Diagnostic], files_checked: int = 0) -> str:
    failing = sum(1 for d in diagnostics if d.fails)
    root = ET.Element(
        "testsuites", name="initlint", tests=str(len(diagnostics) or 1), failures=str(failing), errors="0"
    )
    by_file: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_file.setdefault(d.path, []).append(d)
    if not by_file:
        suite = ET.SubElement(root, "testsuite", name="initlint", tests="1", failures="0", errors="0", skipped="0")
        ET.SubElement(suite, "testcase", name=summary((), files_checked).rstrip("."), classname="initlint")
    for path, found in by_file.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=_clean(path),
            tests=str(len(found)),
            failures=str(sum(1 for d in found if d.fails)),
            errors="0",
            skipped=str(sum(1 for d in found if not d.fails)),
        )
        for d in found:
            _case(suite, d)
    ET.indent(root, space="    ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
