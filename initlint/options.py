"""Rule options: what a rule declares it can be tuned by, known without importing any rule.

A rule lists its options on its class (`options = (Option(...), ...)`, see
rule.py); each one is a flat `[tool.initlint]` key. Reading settings must not
load every rule (and the parser they pull in), so the declarations are read
from the rule modules' text here, the way codes.py reads their codes from
their names. That both readings agree is checked by the tests
(tests/test_rule_docs.py), not on every start: parsing the rule files' text
costs a one-file run about 10 ms.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Union

OptionValue = Union[int, float]


@dataclass(frozen=True)
class Option:
    """One setting of a rule: its `[tool.initlint]` key, type (int or float), default and a one-line doc."""

    name: str
    type: type
    default: OptionValue
    doc: str


def _literal_option(node: ast.expr, where: str) -> Option:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Option"
            and len(node.args) == 4 and not node.keywords):
        raise ImportError(f"{where}: each option must be written Option(name, int | float, default, doc)")
    name, kind, default, doc = node.args
    if not (isinstance(kind, ast.Name) and kind.id in ("int", "float")):
        raise ImportError(f"{where}: an option's type must be int or float")
    try:
        values = ast.literal_eval(name), ast.literal_eval(default), ast.literal_eval(doc)
    except ValueError:
        raise ImportError(f"{where}: an option's name, default and doc must be literals") from None
    return Option(values[0], int if kind.id == "int" else float, values[1], values[2])


def _module_options(path: str, module: str) -> tuple[Option, ...]:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if "Option(" not in text:
        return ()
    found: list[Option] = []
    for node in ast.parse(text).body:
        if not isinstance(node, ast.ClassDef):
            continue
        for stmt in node.body:
            if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                    and stmt.targets[0].id == "options" and isinstance(stmt.value, (ast.Tuple, ast.List))):
                found += [_literal_option(elt, f"initlint.rules.{module}") for elt in stmt.value.elts]
    return tuple(found)


@lru_cache(maxsize=1)
def declared_options() -> dict[str, tuple[str, Option]]:
    """Every rule option by its key -> (the rule's code, the option), in code order."""
    from initlint.codes import rule_modules

    spec = importlib.util.find_spec("initlint.rules")
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    out: dict[str, tuple[str, Option]] = {}
    for module in rule_modules():
        path = next((os.path.join(d, module + ".py") for d in locations
                     if os.path.isfile(os.path.join(d, module + ".py"))), None)
        if path is None:
            continue
        for option in _module_options(path, module):
            out[option.name] = (module[:5].upper(), option)
    return out
