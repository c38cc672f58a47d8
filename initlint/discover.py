"""Find the Python files to check: paths, excludes, .gitignore, the framework pre-filter."""

from __future__ import annotations

import os
from typing import Sequence

from initlint.config import Settings


def discover(paths: Sequence[str], settings: Settings) -> list[str]:
    found: list[str] = []
    excluded = set(settings.exclude) | set(settings.extend_exclude)
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in excluded)
                for name in sorted(files):
                    if name.endswith(".py"):
                        found.append(os.path.join(root, name))
        else:
            found.append(path)
    return found
