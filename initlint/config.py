"""`[tool.initlint]` in pyproject.toml (or --config) -> a frozen Settings.

Loading and validation live here; every other stage reads Settings only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from initlint.diagnostics import Severity

DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "build",
    "dist",
    "__pycache__",
    "node_modules",
    ".tox",
    ".nox",
    "site-packages",
    ".initlint_cache",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
)


@dataclass(frozen=True)
class Thresholds:
    """Rule thresholds; names match the `[tool.initlint]` keys with `-` for `_`."""

    saturating_stack_min: int = 3
    tanh_stack_min: int = 8
    plain_stack_min: int = 6
    vanishing_ratio: float = 1e-2
    scale_ratio: float = 10.0


@dataclass(frozen=True)
class ConfirmSettings:
    enabled: bool = False
    timeout: float = 60.0  # seconds per module
    total_timeout: float = 600.0  # seconds for the whole run
    memory_mb: int = 4096
    device: str = "cpu"
    seed: int = 0
    # class name -> {"args": [...], "kwargs": {...}, "inputs": [[2, 16], ...]}
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    fail_on: Severity = Severity.WARNING
    thresholds: Thresholds = field(default_factory=Thresholds)
    confirm: ConfirmSettings = field(default_factory=ConfirmSettings)
    report_unused_suppressions: bool = False
    project_root: Optional[str] = None
    config_path: Optional[str] = None

    @property
    def selectors(self) -> tuple[str, ...]:
        return self.select + self.extend_select
