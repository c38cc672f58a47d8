"""`--format github`: GitHub Actions workflow commands that annotate the pull request.

`::error file=F,line=L,col=C,endLine=L2,endColumn=C2,title=T::message`, with
the escaping GitHub's runner expects (`%`, CR, LF in the message; also `:`
and `,` in property values). Severities map to error / warning / notice.
In a notebook, lines are the cell's and the title and message name the cell.
"""

from __future__ import annotations

from collections.abc import Sequence

from initlint.diagnostics import Diagnostic, Severity

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_command(d: Diagnostic) -> str:
    message = d.message
    if d.confirmation is not None:
        message += f" [{d.confirmation.status}: {d.confirmation.detail}]"
    title = f"{d.code} {d.name}"
    if d.cell is not None:
        title += f" (cell {d.cell})"
        message = f"cell {d.cell}, line {d.span.line}: {message}"
    props = [
        f"file={escape_property(d.path.replace(chr(92), '/'))}",
        f"line={d.span.line}",
        f"col={d.span.column}",
        f"endLine={d.span.end_line}",
        f"endColumn={d.span.end_column}",
        f"title={escape_property(title)}",
    ]
    return f"::{COMMANDS[d.severity]} {','.join(props)}::{escape_data(f'{d.code} {message}')}"


def render(diagnostics: Sequence[Diagnostic], files_checked: int = 0) -> str:
    return "".join(format_command(d) + "\n" for d in diagnostics)
