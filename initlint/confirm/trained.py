"""Which of a model's outputs the script's loss takes, for a model that returns several.

A model that returns `(logits, features)` or `{"logits": ..., "h": ...}` is trained on what its
loss reads, and a gradient that reaches only the other outputs says nothing of the training
(a constant layer parted by the features it also returns stays symmetric under the loss on the
logits). The script's own loss calls answer it: `logits, _ = model(x); criterion(logits, y)`,
`criterion(model(x)[0], y)`, `out = model(x); F.cross_entropy(out["logits"], y)`.

The answer is given only when the file leaves no doubt: every read of an output part, in every
function, is an argument of a call named as a loss, each such name is bound once, and the model's
outputs are unpacked flat. Anything else (an auxiliary term written by hand, a part handed to a
helper, a rebound name, nested unpacking) is "not known", and the verdict then rests on each
output alone. Reads under `torch.no_grad()` (a monitoring loss) do not train and are left out.

Pure Python (ast): runs in the main process.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Optional, Union

from initlint.frameworks.tables import TORCH_LOSSES

Selector = Union[int, str]  # a tuple position or a dict key
WHOLE = "whole output"  # a read of the whole output: nothing to narrow

# Blocks whose reads do not train (a validation or monitoring pass).
NO_GRAD = frozenset({"no_grad", "inference_mode"})


class Unknown(Exception):
    """The file does not say which outputs the loss takes."""


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _is_loss_call(call: ast.Call) -> bool:
    name = _callee(call)
    low = name.lower()
    # torch's loss functions by name (Keras' `mse`, `mae` are common names of other things); any
    # callee whose name says "loss" or "criterion" too.
    return name in TORCH_LOSSES and name[:1].islower() or (("loss" in low or "criterion" in low) and name != "backward")


def _calls_model(node: ast.AST, var: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == var


def _selector(node: ast.expr) -> Optional[Selector]:
    value = node.value if isinstance(node, ast.Constant) else None
    return value if type(value) in (int, str) else None  # type: ignore[return-value]


def _no_grad(node: ast.With) -> bool:
    return any(isinstance(item.context_expr, ast.Call) and _callee(item.context_expr) in NO_GRAD for item in node.items)


def _own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """The nodes of one scope: not those of the functions and classes defined in it, nor of its
    `torch.no_grad()` blocks."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.With) and _no_grad(node):
            continue
        yield node
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


class _Scope:
    """One function (or the module's own statements): its names bound to the model's output or one
    part of it, and the parts its loss calls read."""

    def __init__(self, body: list[ast.stmt], var: str) -> None:
        self.var = var
        self.nodes = list(_own_nodes(body))
        self.parts: dict[str, Union[Selector, str]] = {}  # name -> its part (WHOLE: the whole output)
        stores: dict[str, int] = {}
        for node in self.nodes:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                stores[node.id] = stores.get(node.id, 0) + 1
        # `out[k]` bases and assigned values, by id: a model call read through them is not read bare.
        self.subscripted = {id(n.value) for n in self.nodes if isinstance(n, ast.Subscript) and _selector(n.slice) is not None}
        self.assigned = {id(n.value) for n in self.nodes if isinstance(n, ast.Assign)}
        for node in self.nodes:
            value = getattr(node, "value", None)
            if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) or value is None \
                    or not self._model_value(value):
                continue
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                raise Unknown
            target = node.targets[0]
            if isinstance(target, ast.Name):
                self.parts[target.id] = self._part_of(value)
            elif isinstance(target, (ast.Tuple, ast.List)) and _calls_model(value, var):
                for k, e in enumerate(target.elts):
                    if not isinstance(e, ast.Name):  # nested or starred unpacking
                        raise Unknown
                    self.parts[e.id] = k
            else:
                raise Unknown
        loaded = {n.id for n in self.nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if any(stores.get(name, 0) > 1 for name in self.parts if name in loaded):
            raise Unknown  # rebound and read: which value a read sees is not known

    def _model_value(self, node: ast.AST) -> bool:
        """`model(x)` or `model(x)[k]`: a value that binds the output or a part of it."""
        return _calls_model(node, self.var) or (isinstance(node, ast.Subscript) and _calls_model(node.value, self.var))

    def _part_of(self, value: ast.expr) -> Union[Selector, str]:
        """The part a `_model_value` binds: the whole output, or `model(x)[k]`'s constant `k`."""
        if not isinstance(value, ast.Subscript):
            return WHOLE
        sel = _selector(value.slice)
        if sel is None:
            raise Unknown  # `model(x)[i]` with a computed index
        return sel

    def loss_reads(self) -> tuple[set[Union[Selector, str]], int]:
        """The parts the loss calls read, and the first such call's line; Unknown when a part is read
        anywhere else."""
        in_loss: set[int] = set()
        line = 0
        for node in self.nodes:
            if isinstance(node, ast.Call) and _is_loss_call(node):
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    ids = {id(n) for n in ast.walk(arg)}
                    if any(self._read_part(n) is not None for n in ast.walk(arg)):
                        in_loss |= ids
                        line = min(line, node.lineno) if line else node.lineno
        found: set[Union[Selector, str]] = set()
        for node in self.nodes:
            read = self._read_part(node)
            if read is None:
                continue
            if id(node) not in in_loss:
                raise Unknown  # read by something that is not a loss (a hand-written term, a helper, a print)
            found.add(read)
        return found, line

    def _read_part(self, node: ast.AST) -> Optional[Union[Selector, str]]:
        """The part a node reads: a loaded name bound to one, `model(x)[k]`, `out[k]` of a whole-output
        name, or a bare `model(x)`; None for any other node. `out[k]`'s own `out` is not a read apart."""
        if isinstance(node, ast.Subscript):
            base, sel = node.value, _selector(node.slice)
            whole = _calls_model(base, self.var) or (
                isinstance(base, ast.Name) and self.parts.get(base.id) == WHOLE)
            if whole and sel is not None:
                return sel
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in self.parts:
            if self.parts[node.id] == WHOLE and self._subscripted(node):
                return None
            return self.parts[node.id]
        if _calls_model(node, self.var) and not self._subscripted(node) and not self._bound(node):
            return WHOLE
        return None

    def _subscripted(self, node: ast.AST) -> bool:
        return id(node) in self.subscripted

    def _bound(self, node: ast.AST) -> bool:
        return id(node) in self.assigned


def _scopes(tree: ast.Module) -> list[list[ast.stmt]]:
    bodies: list[list[ast.stmt]] = [tree.body]
    bodies += [n.body for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return bodies


def trained_outputs(tree: ast.Module, var: Optional[str]) -> Optional[tuple[list[Selector], int]]:
    """The parts of `var`'s output that the script's loss calls take, with the first such call's line;
    None when the file does not say (no loss reads a part, the whole output is read, or a part is read
    by something other than a loss)."""
    if not var:
        return None
    parts: set[Union[Selector, str]] = set()
    line = 0
    try:
        for body in _scopes(tree):
            found, first = _Scope(body, var).loss_reads()
            parts |= found
            if first:
                line = min(line, first) if line else first
    except Unknown:
        return None
    if not parts or WHOLE in parts or len({type(p) for p in parts}) > 1:
        return None
    return sorted(p for p in parts if p != WHOLE), line
