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


# A PendingLoss on a constructor argument: `class Agent: def __init__(self, net)` computing its
# loss on `self.net(x)`, the net given where another file builds the Agent ("@arg:Agent:0:net").
ARGUMENT_PREFIX = "@arg:"


def argument_target(cls: str, position: int, name: str) -> str:
    return f"{ARGUMENT_PREFIX}{cls}:{position}:{name}"


def parse_argument_target(target: str) -> Optional[tuple[str, int, str]]:
    """(class, position among the constructor's parameters after self, name), or None."""
    if not target.startswith(ARGUMENT_PREFIX):
        return None
    parts = target[len(ARGUMENT_PREFIX):].split(":")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2]


@dataclass(frozen=True)
class ModelArgument:
    """A model handed to the constructor of an imported class (`NFQAgent(NFQNetwork(), opt)`)."""

    target: str  # qualified name of the imported class ("nfq.agents.NFQAgent")
    position: Optional[int]  # of a positional argument
    keyword: Optional[str]  # of a keyword argument
    model: str  # qualified name of the model's imported class, or the name of a class of this file
    local: bool  # `model` is a class of this file
    span: Span


@dataclass(frozen=True)
class ProjectExports:
    """One file's side of the cross-file link: its model outputs, its losses on imported models, and
    the models it hands to imported classes."""

    outputs: dict[str, OutputExport] = field(default_factory=dict)
    pending: tuple[PendingLoss, ...] = ()
    arguments: tuple[ModelArgument, ...] = ()
