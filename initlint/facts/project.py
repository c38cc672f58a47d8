"""Cross-file links: a loss in one file computed on a model class defined in another.

Each file exports a small, picklable summary (`ProjectExports`): what its
model classes output, and which losses it applies to imported model classes.
After every file is checked, `link_project` joins the two sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from initlint.config import Settings
from initlint.diagnostics import Diagnostic

if TYPE_CHECKING:
    from initlint.engine import FileResult


@dataclass(frozen=True)
class ProjectExports:
    module_names: tuple[str, ...] = ()
    outputs: dict = field(default_factory=dict)
    pending: tuple = ()


def link_project(results: Sequence["FileResult"], settings: Settings) -> list[Diagnostic]:
    return []
