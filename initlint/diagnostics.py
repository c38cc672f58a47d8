"""The one diagnostic type every stage produces and every reporter reads.

Positions are 1-based lines and columns (columns count characters of the
line, as Python strings do); reporters convert to 0-based or UTF-16 where
their format wants it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Optional


class Severity(enum.IntEnum):
    """Ordered so that `severity >= fail_on` decides whether a run fails."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (expected error, warning or info)") from None


@dataclass(frozen=True)
class Span:
    """A source range: 1-based start and end (end column exclusive)."""

    line: int
    column: int
    end_line: int
    end_column: int


# The related location of a finding moved into the checked file from an imported module, where it
# takes effect (a loss call in a runner class): the finding's own place is then the local cause.
TAKES_EFFECT = "where it takes effect"


@dataclass(frozen=True)
class Related:
    """A place that contributes to a finding (the zero initializer, the loss)."""

    path: str
    span: Span
    message: str
    # In a notebook, once located for a report (notebook.to_cells): the 1-based cell the span is in.
    cell: Optional[int] = None


@dataclass(frozen=True)
class Edit:
    """Replace the text in `span` of the diagnostic's file with `text`."""

    span: Span
    text: str


# ruff's two classes: a safe fix keeps what the code means (`--fix` applies it); an
# unsafe one may change it, e.g. what a model returns (only with `--unsafe-fixes`).
Applicability = Literal["safe", "unsafe"]
APPLICABILITIES: tuple[Applicability, ...] = ("safe", "unsafe")


@dataclass(frozen=True)
class Fix:
    """A rewrite that removes the finding; the rule's doc says when it is safe."""

    message: str
    edits: tuple[Edit, ...]
    # Unsafe unless the rule shows otherwise: a fix of unknown safety must not run by default.
    applicability: Applicability = "unsafe"

    @property
    def safe(self) -> bool:
        return self.applicability == "safe"


@dataclass(frozen=True)
class Confirmation:
    """The verdict of the confirmation stage on one finding."""

    status: str  # "confirmed" | "refuted" | "unverified"
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Subject:
    """What the confirmation stage must build to check a finding.

    `kind` is "class" (an nn.Module / keras.Model subclass named `name`),
    "keras-script" (module-level statements building a Keras model bound to
    `name`) or "script" (module-level tensors; not buildable in isolation).
    `params` are dotted parameter names inside the built object that the
    rule's dynamic check looks at (e.g. "video_emb.weight").
    """

    kind: str
    name: str
    params: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diagnostic:
    """One finding as every reporter, the cache and the language server see it."""

    path: str
    span: Span
    code: str
    name: str
    severity: Severity
    message: str
    related: tuple[Related, ...] = ()
    fix: Optional[Fix] = None
    confirmation: Optional[Confirmation] = None
    subject: Optional[Subject] = None
    # Set only at the report boundary (notebook.to_cells): the notebook cell, 1-based among all
    # cells, that `span` is then relative to. Spans are in program lines until then.
    cell: Optional[int] = None

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.span.line, self.span.column, self.code)

    def with_confirmation(self, confirmation: Confirmation) -> Diagnostic:
        return replace(self, confirmation=confirmation)

    @property
    def fails(self) -> bool:
        """A refuted finding stays in the output but no longer fails the run."""
        return self.confirmation is None or self.confirmation.status != "refuted"

    def to_json(self) -> dict[str, Any]:
        """The output contract of `--format json` (see DESIGN.md)."""
        out: dict[str, Any] = {"path": self.path}
        if self.cell is not None:
            out["cell"] = self.cell
        out.update({
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "code": self.code,
            "name": self.name,
            "severity": self.severity.label,
            "message": self.message,
            "related": [
                {"path": r.path, **({} if r.cell is None else {"cell": r.cell}), "line": r.span.line,
                 "column": r.span.column, "message": r.message}
                for r in self.related
            ],
            "fix": None
            if self.fix is None
            else {
                "message": self.fix.message,
                "applicability": self.fix.applicability,
                "edits": [
                    {
                        "line": e.span.line,
                        "column": e.span.column,
                        "end_line": e.span.end_line,
                        "end_column": e.span.end_column,
                        "text": e.text,
                    }
                    for e in self.fix.edits
                ],
            },
        })
        if self.confirmation is not None:
            out["confirmation"] = {
                "status": self.confirmation.status,
                "detail": self.confirmation.detail,
                "evidence": self.confirmation.evidence,
            }
        return out
