"""Which rule codes apply to a file: the one home of rule selection.

`select` / `extend-select` choose codes by prefix, `ignore` and the matching
`per-file-ignores` globs take codes away. The registry, the suppression
comments (IL003), the cross-file link and the baseline all ask here.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from initlint.config import Settings


def matches_selector(code: str, selectors: Iterable[str]) -> bool:
    """`IL1` selects the IL1xx family, `IL101` one rule, `ALL` everything."""
    return any(s == "ALL" or code.startswith(s) for s in selectors)


def per_file_ignored(settings: Settings, path: str) -> tuple[str, ...]:
    """Codes `per-file-ignores` switches off for `path` (glob against the path or its file name)."""
    codes: list[str] = []
    normalized = path.replace("\\", "/")
    while normalized.startswith("./"):
        normalized = normalized[2:]
    for pattern, pattern_codes in settings.per_file_ignores:
        if fnmatch.fnmatch(normalized, pattern) or fnmatch.fnmatch(normalized.rsplit("/", 1)[-1], pattern):
            codes.extend(pattern_codes)
    return tuple(codes)


def ignored_selectors(settings: Settings, path: str) -> tuple[str, ...]:
    """`ignore` plus the `per-file-ignores` that match `path`."""
    return settings.ignore + per_file_ignored(settings, path)


def is_selected(code: str, settings: Settings, path: str) -> bool:
    """Whether the rule `code` runs on `path`."""
    return matches_selector(code, settings.selectors) and not matches_selector(code, ignored_selectors(settings, path))
