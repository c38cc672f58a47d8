"""Which of a model's outputs the script's loss takes, for a model that returns several.

A model that returns `(logits, features)` or `{"logits": ..., "h": ...}` is trained on what its
loss reads, and a gradient that reaches only the other outputs says nothing of the training
(a constant layer parted by the features it also returns stays symmetric under the loss on the
logits). The script's own loss calls answer it: `logits, _ = model(x); criterion(logits, y)`,
`criterion(model(x)[0], y)`, `out = model(x); F.cross_entropy(out["logits"], y)`.

Pure Python (ast): runs in the main process.
"""

from __future__ import annotations

import ast
from typing import Optional, Union

Selector = Union[int, str]  # a tuple position or a dict key

# Loss functions known by name; any callee whose name says "loss" or "criterion" counts too.
LOSS_FUNCTIONS = frozenset({
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss", "margin_ranking_loss",
    "triplet_margin_loss", "hinge_embedding_loss", "poisson_nll_loss", "ctc_loss", "multilabel_soft_margin_loss",
})


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _is_loss_call(call: ast.Call) -> bool:
    name = _callee(call)
    low = name.lower()
    return name in LOSS_FUNCTIONS or (("loss" in low or "criterion" in low) and name != "backward")


def _calls_model(node: ast.AST, var: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == var


def _selector(node: ast.expr) -> Optional[Selector]:
    value = node.value if isinstance(node, ast.Constant) else None
    return value if type(value) in (int, str) else None  # type: ignore[return-value]


class _Scope:
    """The names of one function (or the module) bound to the model's output or to one part of it."""

    def __init__(self, body: list[ast.stmt], var: str) -> None:
        self.parts: dict[str, Optional[Selector]] = {}  # name -> its part (None: the whole output)
        for node in (n for stmt in body for n in ast.walk(stmt)):
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            target, value = node.targets[0], node.value
            if isinstance(target, ast.Name):
                if _calls_model(value, var):
                    self.parts[target.id] = None
                elif isinstance(value, ast.Subscript) and _calls_model(value.value, var):
                    sel = _selector(value.slice)
                    if sel is not None:
                        self.parts[target.id] = sel
            elif isinstance(target, (ast.Tuple, ast.List)) and _calls_model(value, var) \
                    and not any(isinstance(e, ast.Starred) for e in target.elts):
                for k, e in enumerate(target.elts):
                    if isinstance(e, ast.Name):
                        self.parts[e.id] = k

    def read(self, arg: ast.expr, var: str) -> Optional[set[Optional[Selector]]]:
        """The parts of the model's output an argument of the loss reads (None: the whole output);
        None when the argument does not read the model's output at all."""
        found: set[Optional[Selector]] = set()
        covered: set[int] = set()
        for node in ast.walk(arg):
            if id(node) in covered:
                continue
            if isinstance(node, ast.Subscript):
                base = node.value
                sel = _selector(node.slice)
                whole = _calls_model(base, var) or (isinstance(base, ast.Name) and base.id in self.parts
                                                    and self.parts[base.id] is None)
                if whole and sel is not None:
                    found.add(sel)
                    covered.update(id(n) for n in ast.walk(base))
                    continue
            if _calls_model(node, var):
                found.add(None)
                covered.update(id(n) for n in ast.walk(node))
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in self.parts:
                found.add(self.parts[node.id])
        return found or None


def _scopes(tree: ast.Module) -> list[list[ast.stmt]]:
    bodies: list[list[ast.stmt]] = [tree.body]
    bodies += [n.body for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return bodies


def trained_outputs(tree: ast.Module, var: Optional[str]) -> Optional[tuple[list[Selector], int]]:
    """The parts of `var`'s output that the script's loss calls take, with the first such call's line;
    None when no loss call reads a part (the whole output, or no loss in the file: not known)."""
    if not var:
        return None
    parts: set[Optional[Selector]] = set()
    line = 0
    for body in _scopes(tree):
        scope = _Scope(body, var)
        for node in (n for stmt in body for n in ast.walk(stmt)):
            if not (isinstance(node, ast.Call) and _is_loss_call(node)):
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                read = scope.read(arg, var)
                if read:
                    parts |= read
                    line = min(line, node.lineno) if line else node.lineno
    if not parts or None in parts or len({type(p) for p in parts}) > 1:
        return None
    return sorted(p for p in parts if p is not None), line
