"""The shared analysis of one file, built in one walk; every rule reads from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from initlint.config import Settings
from initlint.facts.project import ProjectExports


@dataclass
class FileFacts:
    path: str
    module: cst.Module
    settings: Settings
    exports: ProjectExports = field(default_factory=ProjectExports)


def build_facts(module: cst.Module, path: str, settings: Settings) -> FileFacts:
    return FileFacts(path=path, module=module, settings=settings)
