"""What one file offers the other files of a run, and what it needs from them.

Plain data (strings, flags, spans) and no libcst, so that the result cache
can store it as JSON and rebuild it without importing the analysis, and
the process pool can carry it. facts/project.py collects it, link.py joins it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from initlint.diagnostics import Span


@dataclass(frozen=True)
class OutputExport:
    """The output activation of a model class, resolved to a place."""

    squash: str
    text: str
    span: Span


@dataclass(frozen=True)
class PendingLoss:
    """A loss computed on an instance of an imported class whose output is not known here."""

    target: str  # qualified name of the imported class ("model.ConversionScorer")
    loss: str
    from_logits: Optional[bool]
    framework: str
    loss_text: str
    span: Span


@dataclass(frozen=True)
class ProjectExports:
    """One file's side of the cross-file link: its model outputs and its losses on imported models."""

    outputs: dict[str, OutputExport] = field(default_factory=dict)
    pending: tuple[PendingLoss, ...] = ()
