"""`--show-settings`: the resolved configuration, one TOML-like line a key, and where each
value came from (`default`, the configuration file, or the flag).

    select = ["ALL"]  # default
    ignore = ["IL303"]  # /repo/pyproject.toml + --ignore
"""

from __future__ import annotations

import json
import re
from typing import Any

from initlint.config import CONFIRM_KEYS, TOP_KEYS, Settings
from initlint.diagnostics import Severity
from initlint.options import declared_options

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
# What an unset (None) value means; TOML has no null to print.
UNSET = {"cache-dir": "(unset: .initlint_cache in the project root)", "jobs": "(unset: one per core)"}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Severity):
        return json.dumps(value.label)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are valid in TOML basic strings
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (f"{k if BARE_KEY.match(k) else json.dumps(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def values(settings: Settings) -> list[tuple[str, Any, str]]:
    """Every configurable key with its resolved value and what it is (the rules' options: the
    rule and the option's doc), in the README's order, the rules' options in code order."""
    out: list[tuple[str, Any, str]] = []
    for key, attr in TOP_KEYS.items():
        value = getattr(settings, attr)
        out.append((key, dict(value) if key == "per-file-ignores" else value, ""))
    out += [(key, settings.options.get(key, option.default), f"{code}: {option.doc}")
            for key, (code, option) in declared_options().items()]
    out += [(f"confirm.{key}", getattr(settings.confirm, key.replace("-", "_")), "") for key in CONFIRM_KEYS]
    return out


def render(settings: Settings) -> str:
    lines = [f"# configuration: {settings.config_path or 'none (defaults)'}"]
    if settings.project_root:
        lines.append(f"# project root: {settings.project_root}")
    for key, value, what in values(settings):
        shown = UNSET.get(key, "(unset)") if value is None else toml_value(value)
        if what:
            lines.append(f"# {what}")
        lines.append(f"{key} = {shown}  # {settings.origins.get(key, 'default')}")
    # The result cache has no configuration key: only --no-cache turns it off.
    lines.append(f"# cache: {'on' if settings.use_cache else 'off'}  # {settings.origins.get('cache', 'default')}")
    return "".join(line + "\n" for line in lines)
