"""`[tool.initlint]` in pyproject.toml (or --config) -> a frozen Settings.

Loading and validation live here; every other stage reads Settings only.
A bad configuration raises `ConfigError` with a message that names the
file, the key and what was expected; the command line prints it and exits 2.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from initlint.diagnostics import Severity
from initlint.options import OptionValue, declared_options

DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "build",
    "dist",
    "__pycache__",
    ".ipynb_checkpoints",  # Jupyter's autosaved copies of the notebooks beside it
    "node_modules",
    ".tox",
    ".nox",
    "site-packages",
    ".initlint_cache",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
)

# `ALL`, a family prefix (`IL`, `IL1`, `IL10`) or one code (`IL101`).
SELECTOR = re.compile(r"^(ALL|IL[0-9]{0,3})$")


class ConfigError(Exception):
    """A configuration the user must fix; the message is shown as is."""


@dataclass(frozen=True)
class ConfirmSettings:
    """How the opt-in confirmation stage runs (`[tool.initlint.confirm]`)."""

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
    """The resolved configuration: files, command-line flags and defaults, in that order of weight."""

    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    fail_on: Severity = Severity.WARNING
    # The rules' options set in the configuration, by key (each rule declares its own, with
    # its default: Rule.option); sorted, so that equal settings print alike in the cache key.
    options: dict[str, OptionValue] = field(default_factory=dict)
    confirm: ConfirmSettings = field(default_factory=ConfirmSettings)
    report_unused_suppressions: bool = False
    project_root: Optional[str] = None
    config_path: Optional[str] = None
    # The result cache and parallelism (runner.py): None means the defaults
    # (`.initlint_cache` under the project root; one worker per core).
    cache_dir: Optional[str] = None
    use_cache: bool = True
    jobs: Optional[int] = None
    # Where each value came from (`--show-settings`), by its `[tool.initlint]` key
    # (`confirm.timeout` inside the confirm table): a configuration file's path or a
    # flag. A key not here has its default. Not part of equality: it changes no result.
    origins: dict[str, str] = field(default_factory=dict, compare=False)
    # A baseline file of accepted findings (baseline.py); an absolute path once loaded.
    baseline: Optional[str] = None

    @property
    def selectors(self) -> tuple[str, ...]:
        return self.select + self.extend_select


def find_pyproject(start: str) -> Optional[str]:
    """The nearest pyproject.toml in `start` (a file's folder, or a folder) or above it."""
    directory = os.path.abspath(start)
    if not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _mentions_initlint(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return b"initlint" in handle.read()
    except OSError:
        return True  # let the TOML reader explain


def _read_toml(path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
    try:
        with open(path, "rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 ({exc.reason})") from None
    return data


class _Reader:
    """Typed access to one table, with errors that say where and what was expected."""

    def __init__(self, path: str, prefix: str, table: dict[str, Any]) -> None:
        self.path = path
        self.prefix = prefix
        self.table = table

    def fail(self, key: str, expected: str) -> ConfigError:
        value = self.table.get(key)
        return ConfigError(
            f"{self.path}: `{self.prefix}.{key}` must be {expected}, got {_describe(value)}"
        )

    def boolean(self, key: str) -> bool:
        value = self.table[key]
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value

    def number(self, key: str, integer: bool = False, positive: bool = True) -> float:
        value = self.table[key]
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or (isinstance(value, float) and not math.isfinite(value)):
            raise self.fail(key, "an integer" if integer else "a number")
        if positive and value <= 0:
            raise self.fail(key, "a positive " + ("integer" if integer else "number"))
        return value  # type: ignore[no-any-return]

    def string(self, key: str) -> str:
        value = self.table[key]
        if not isinstance(value, str):
            raise self.fail(key, "a string")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "a list of strings")
        return tuple(value)

    def selectors(self, key: str) -> tuple[str, ...]:
        return tuple(check_selector(s, f"{self.path}: `{self.prefix}.{key}`") for s in self.strings(key))

    def unknown(self, known: set[str]) -> None:
        for key in self.table:
            if key not in known:
                hint = ", ".join(sorted(known))
                raise ConfigError(f"{self.path}: unknown key `{self.prefix}.{key}` (known keys: {hint})")


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, list):
        return "a list" if all(isinstance(v, str) for v in value) else "a list with non-string items"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def check_selector(selector: str, where: str) -> str:
    """A rule selector, upper-cased; a code that names no rule is an error."""
    text = selector.strip().upper()
    if not SELECTOR.match(text):
        raise ConfigError(f"{where}: {selector!r} is not a rule code or prefix (expected e.g. IL101, IL1 or ALL)")
    if len(text) == 5:
        # The codes come from the rule modules' names: no rule is imported to read settings.
        from initlint.codes import rule_codes

        if text not in rule_codes():
            raise ConfigError(f"{where}: unknown rule code {text} (see `initlint rules`)")
    return text


# The `[tool.initlint]` keys besides the rules' options and `confirm` -> their Settings field.
TOP_KEYS: dict[str, str] = {
    "select": "select",
    "extend-select": "extend_select",
    "ignore": "ignore",
    "per-file-ignores": "per_file_ignores",
    "exclude": "exclude",
    "extend-exclude": "extend_exclude",
    "respect-gitignore": "respect_gitignore",
    "fail-on": "fail_on",
    "report-unused-suppressions": "report_unused_suppressions",
    "cache-dir": "cache_dir",
    "jobs": "jobs",
    "baseline": "baseline",
}
CONFIRM_KEYS = ("enabled", "timeout", "total-timeout", "memory-mb", "device", "seed", "modules")


def _confirm(reader: _Reader, base: ConfirmSettings) -> ConfirmSettings:
    reader.unknown(set(CONFIRM_KEYS))
    values: dict[str, Any] = {}
    parsers: dict[str, Callable[[str], Any]] = {
        "enabled": reader.boolean,
        "timeout": reader.number,
        "total-timeout": reader.number,
        "memory-mb": lambda key: int(reader.number(key, integer=True)),
        "device": reader.string,
        "seed": lambda key: int(reader.number(key, integer=True, positive=False)),
    }
    for key, parse in parsers.items():
        if key in reader.table:
            values[key.replace("-", "_")] = parse(key)
    if "modules" in reader.table:
        values["modules"] = _modules(reader)
    return replace(base, **values)


def _modules(reader: _Reader) -> dict[str, dict[str, Any]]:
    table = reader.table["modules"]
    if not isinstance(table, dict):
        raise reader.fail("modules", "a table of class names")
    out: dict[str, dict[str, Any]] = {}
    for name, spec in table.items():
        where = f"{reader.prefix}.modules.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{reader.path}: `{where}` must be a table with args, kwargs and inputs, got {_describe(spec)}")
        sub = _Reader(reader.path, where, spec)
        sub.unknown({"args", "kwargs", "inputs"})
        if "args" in spec and not isinstance(spec["args"], list):
            raise sub.fail("args", "a list of constructor arguments")
        if "kwargs" in spec and not isinstance(spec["kwargs"], dict):
            raise sub.fail("kwargs", "a table of keyword arguments")
        if "inputs" in spec:
            inputs = spec["inputs"]
            if not isinstance(inputs, list) or not all(
                isinstance(shape, list) and shape and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
                for shape in inputs
            ):
                raise sub.fail("inputs", "a list of shapes, each a list of positive integers (e.g. [[2, 16]])")
        out[name] = dict(spec)
    return out


def settings_from_table(table: dict[str, Any], path: str, base: Optional[Settings] = None) -> Settings:
    """Validate a `[tool.initlint]` table and apply it over `base` (the defaults)."""
    settings = base or Settings()
    reader = _Reader(path, "tool.initlint", table)
    # The rules' option declarations are read only when the table sets something else.
    declared = declared_options() if any(k not in TOP_KEYS and k != "confirm" for k in table) else {}
    reader.unknown({*TOP_KEYS, "confirm", *declared})
    values: dict[str, Any] = {}
    for key in ("select", "ignore", "extend-select"):
        if key in table:
            values[key.replace("-", "_")] = reader.selectors(key)
    if values.get("select") == ():
        # An empty list would silently switch every rule off; ruff refuses it too.
        raise reader.fail("select", 'a non-empty list of codes or prefixes (["ALL"] for every rule)')
    for key in ("exclude", "extend-exclude"):
        if key in table:
            values[key.replace("-", "_")] = reader.strings(key)
    for key in ("respect-gitignore", "report-unused-suppressions"):
        if key in table:
            values[key.replace("-", "_")] = reader.boolean(key)
    if "fail-on" in table:
        try:
            values["fail_on"] = Severity.parse(reader.string("fail-on"))
        except ValueError:
            raise reader.fail("fail-on", '"error", "warning" or "info"') from None
    if "cache-dir" in table:
        values["cache_dir"] = reader.string("cache-dir")
    if "baseline" in table:
        baseline = reader.string("baseline")
        if not baseline.strip():
            raise reader.fail("baseline", "a file name (relative to this file's folder)")
        # Relative to the configuration's folder, as `extend-exclude` is, wherever initlint runs from.
        values["baseline"] = os.path.join(os.path.dirname(os.path.abspath(path)), baseline)
    if "jobs" in table:
        values["jobs"] = int(reader.number("jobs", integer=True))
    if "per-file-ignores" in table:
        ignores = table["per-file-ignores"]
        if not isinstance(ignores, dict):
            raise reader.fail("per-file-ignores", 'a table of glob = ["IL101", ...]')
        sub = _Reader(path, "tool.initlint.per-file-ignores", ignores)
        values["per_file_ignores"] = tuple((glob, sub.selectors(glob)) for glob in ignores)
    options = {key: reader.number(key, integer=option.type is int) for key, (_, option) in declared.items()
               if key in table}
    if options:
        values["options"] = dict(sorted({**settings.options, **options}.items()))
    confirm = table.get("confirm")
    if isinstance(confirm, bool):
        values["confirm"] = replace(settings.confirm, enabled=confirm)
    elif isinstance(confirm, dict):
        values["confirm"] = _confirm(_Reader(path, "tool.initlint.confirm", confirm), settings.confirm)
    elif "confirm" in table:
        raise reader.fail("confirm", "true, false or a table")
    values["project_root"] = os.path.dirname(os.path.abspath(path))
    values["config_path"] = path
    origins = dict(settings.origins)
    for key in table:
        if key != "confirm":
            origins[key] = path
        elif isinstance(confirm, dict):
            origins.update((f"confirm.{sub}", path) for sub in confirm)
        else:
            origins["confirm.enabled"] = path  # `confirm = true`
    values["origins"] = origins
    return replace(settings, **values)


def override(settings: Settings, key: str, flag: str, extends: bool = False, **changes: Any) -> Settings:
    """`replace(settings, **changes)` for a command-line flag, noting that `key` now comes
    from `flag`; `extends` for a flag that adds to the configured value (`--ignore`)."""
    origin = f"{settings.origins[key]} + {flag}" if extends and key in settings.origins else flag
    return replace(settings, origins={**settings.origins, key: origin}, **changes)


def load_settings(path: str, base: Optional[Settings] = None) -> Settings:
    """Settings from one TOML file: `[tool.initlint]` of a pyproject.toml, or the top level of
    any other file given with --config (as ruff's own `ruff.toml`)."""
    if os.path.basename(path) == "pyproject.toml" and not _mentions_initlint(path):
        # Most projects' pyproject.toml says nothing to initlint: no need to parse it (or to
        # import a TOML parser, ~6 ms of a one-file run), nor to fail on TOML that is not ours.
        return settings_from_table({}, path, base)
    data = _read_toml(path)
    tool = data.get("tool")
    if isinstance(tool, dict) and "initlint" in tool:
        table = tool["initlint"]
    elif os.path.basename(path) == "pyproject.toml":
        table = {}
    else:
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: `tool.initlint` must be a table")
    return settings_from_table(table, path, base)


def discover_settings(first_path: str, config: Optional[str] = None) -> Settings:
    """--config FILE if given, else the nearest pyproject.toml above the first path, else the defaults."""
    if config is not None:
        if not os.path.isfile(config):
            raise ConfigError(f"{config}: configuration file not found")
        return load_settings(config)
    pyproject = find_pyproject(first_path)
    if pyproject is None:
        return Settings()
    return load_settings(pyproject)

