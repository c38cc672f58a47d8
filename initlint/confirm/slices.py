"""Module-level code that builds a model: factory functions and the script's own statements.

A finding outside any model class is confirmed on what the script builds
there. A factory (`def make_mlp(): return nn.Sequential(...)`) is built by
calling it, with the arguments of a literal call in the file or its own
defaults, never with guessed ones.

Pure Python (ast): runs in the main process.
"""

from __future__ import annotations

import ast
from typing import Optional

from initlint.confirm.recipe import script_blocks

# Functions with these words build or train, not construct: never called to get a model.
NOT_FACTORIES = ("train", "fit", "loss", "eval", "test", "predict", "main", "load", "plot", "save", "step")


def _returns_value(fn: ast.FunctionDef) -> bool:
    returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
    return bool(returns) and all(r.value is not None and not isinstance(r.value, ast.Constant) for r in returns)


def factory_at(tree: ast.Module, line: int) -> Optional[ast.FunctionDef]:
    """The top-level function on `line` when it returns a built model."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.lineno <= line <= (node.end_lineno or node.lineno):
            if any(word in node.name.lower() for word in NOT_FACTORIES) or not _returns_value(node):
                return None
            return node
    return None


def factory_call(tree: ast.Module, fn: ast.FunctionDef) -> Optional[tuple[str, str, int]]:
    """How to call the factory: (expression, origin, line of the call or 0)."""
    for block in script_blocks(tree):
        for stmt in block:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == fn.name:
                    try:
                        args = [ast.literal_eval(a) for a in node.args]
                        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
                    except ValueError:
                        continue
                    if len(kwargs) != len(node.keywords):
                        continue
                    text = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
                    return f"{fn.name}({text})", f"the call on line {node.lineno}", node.lineno
    positional = fn.args.posonlyargs + fn.args.args
    required = len(positional) - len(fn.args.defaults)
    if required == 0 and all(d is not None for d in fn.args.kw_defaults):
        return f"{fn.name}()", "the factory's defaults", 0
    return None
