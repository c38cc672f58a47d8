"""`argparse`: a parser's declared defaults, and the `Namespace` parsing gives.

A script configured on the command line builds its model from `args.hidden`,
`args.act`: with each option's literal `default=`, the model is the one a plain
`python train.py` builds. An option without a literal default, a positional or
required one, and every option of a parser that is not fully known (subparsers,
`parents=`, options named by a variable) stay unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from initlint.facts.values import UNKNOWN, Const, Seq, Value

PARSER = "argparse.ArgumentParser"
# Actions with an implied default when none is given.
_FLAG_DEFAULTS = {"store_true": False, "store_false": True}


@dataclass(eq=False)
class ArgParser(Value):
    """An `ArgumentParser` (or one of its argument groups, which add to it)."""

    defaults: dict[str, Value] = field(default_factory=dict)
    complete: bool = True


@dataclass(eq=False)
class Namespace(Value):
    """What `parse_args()` returns: each option's default; anything else unknown."""

    values: dict[str, Value] = field(default_factory=dict)

    def attribute(self, name: str) -> Value:
        return self.values.get(name, UNKNOWN)


def make_parser(kwargs: dict[str, Value]) -> ArgParser:
    return ArgParser(complete="parents" not in kwargs and "**" not in kwargs)


def parser_method(parser: ArgParser, name: str, args: list[Value], kwargs: dict[str, Value]) -> Value:
    if name == "add_argument":
        _add_argument(parser, args, kwargs)
        return UNKNOWN
    if name in ("add_argument_group", "add_mutually_exclusive_group"):
        return parser  # a group's options are the parser's
    if name == "set_defaults":
        if "**" in kwargs or args:
            parser.complete = False
        parser.defaults.update({k: v for k, v in kwargs.items() if k != "**"})
        return Const(None)
    if name == "parse_args" and not args and not kwargs:
        return Namespace(dict(parser.defaults)) if parser.complete else UNKNOWN
    if name == "parse_known_args" and not args and not kwargs:
        return Seq([Namespace(dict(parser.defaults)) if parser.complete else UNKNOWN, UNKNOWN], is_tuple=True)
    parser.complete = False  # add_subparsers, parse_args(argv), ...: what it parses is not known
    return UNKNOWN


def _add_argument(parser: ArgParser, args: list[Value], kwargs: dict[str, Value]) -> None:
    flags = [a.value for a in args if isinstance(a, Const) and isinstance(a.value, str)]
    if len(flags) != len(args) or not flags or "**" in kwargs:
        parser.complete = False
        return
    dest = _dest(flags, kwargs.get("dest"))
    if dest is None:
        parser.complete = False
        return
    action = kwargs.get("action")
    action_name = action.value if isinstance(action, Const) and isinstance(action.value, str) else None
    default = kwargs.get("default")
    required = kwargs.get("required")
    positional = not flags[0].startswith("-")
    if positional or (isinstance(required, Const) and required.value is True) or required is not None and not isinstance(required, Const):
        parser.defaults[dest] = UNKNOWN
    elif default is not None:
        parser.defaults[dest] = default if isinstance(default, Const) else UNKNOWN
    elif action_name in _FLAG_DEFAULTS:
        parser.defaults[dest] = Const(_FLAG_DEFAULTS[action_name])
    else:
        parser.defaults[dest] = UNKNOWN  # None unless given, and usually given


def _dest(flags: list[str], dest: Optional[Value]) -> Optional[str]:
    """The attribute an option is stored under, as argparse derives it."""
    if dest is not None:
        return dest.value if isinstance(dest, Const) and isinstance(dest.value, str) else None
    long = next((f for f in flags if f.startswith("--")), None)
    name: Any = long[2:] if long else flags[0].lstrip("-")
    return str(name).replace("-", "_") or None
