"""The shared analysis of one file: `build_facts(module) -> FileFacts`, one walk.

The interpreter (interpret.py) runs the file on abstract values and records
events into `FileFacts` (events.py, which lists them); rules only read those.
"""

from __future__ import annotations

import os
from typing import Optional

import libcst as cst

from initlint.config import Settings
from initlint.facts.events import (
    ActivationEvent,
    FileFacts,
    KerasCompile,
    LayerCallEvent,
    LossEvent,
    ProductEvent,
    Root,
    Where,
    ZeroFeedEvent,
    module_names,
    param_names,
)
from initlint.facts.project import ProjectExports
from initlint.facts.values import Const


def _package_of(path: str) -> Optional[str]:
    """The dotted package a file belongs to (for relative imports), from __init__.py files."""
    directory = os.path.dirname(os.path.abspath(path))
    parts: list[str] = []
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        parts.append(os.path.basename(directory))
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return ".".join(reversed(parts)) or None


def build_facts(module: cst.Module, path: str, settings: Settings) -> FileFacts:
    from initlint.facts.roots import analyse  # the interpreter loads on the first file analysed, not on import

    facts = FileFacts(path=path, module=module, settings=settings)
    analyse(facts, module, _package_of(path) if os.path.exists(path) else None)
    return facts


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
    "Where",
    "ZeroFeedEvent",
    "build_facts",
    "module_names",
    "param_names",
]
