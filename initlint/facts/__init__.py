"""The shared analysis of one file, as the rules see it: `FileFacts` and its events.

`analysis.build_facts(module)` runs the interpreter (interpret.py) over the file on
abstract values; it records events into `FileFacts` (events.py, which lists them),
and rules only read those. This module imports no interpreter, so the rules and a
warm run that need only the types stay light.
"""

from __future__ import annotations

from initlint.facts.events import (
    ActivationEvent,
    FileFacts,
    KerasCompile,
    LayerCallEvent,
    LossEvent,
    ProductEvent,
    Root,
    RootRef,
    ZeroFeedEvent,
    module_names,
    param_names,
)
from initlint.facts.project import ProjectExports
from initlint.facts.values import Const

__all__ = [
    "ActivationEvent",
    "Const",
    "FileFacts",
    "KerasCompile",
    "LayerCallEvent",
    "LossEvent",
    "ProductEvent",
    "ProjectExports",
    "Root",
    "RootRef",
    "ZeroFeedEvent",
    "module_names",
    "param_names",
]
