"""Where a node sits, and whether anything besides a loss reads a model's output.

Fixes that rewrite a model (drop its final sigmoid or softmax) change what it
returns, so they are safe only when nothing else in the file uses that output.
These walks run only for a finding that has such a fix, never per file.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Optional

import libcst as cst

_BUILTINS = frozenset(dir(builtins))
# Methods of a model that compute its output's ingredients, not read it.
_MODEL_PLUMBING = ("__init__", "forward", "call", "build", "reset_parameters", "_init_weights")


def ancestry(module: cst.Module, target: cst.CSTNode) -> Optional[list[cst.CSTNode]]:
    """The nodes from `module` down to `target` (both included), or None if it is not there."""

    class Finder(cst.CSTVisitor):
        def __init__(self) -> None:
            self.stack: list[cst.CSTNode] = []
            self.found: Optional[list[cst.CSTNode]] = None

        def on_visit(self, node: cst.CSTNode) -> bool:
            if self.found is not None:
                return False
            self.stack.append(node)
            if node is target:
                self.found = list(self.stack)
                return False
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            if self.stack and self.stack[-1] is original_node:
                self.stack.pop()

    finder = Finder()
    module.visit(finder)
    return finder.found


def parent(path: Sequence[cst.CSTNode], skip: tuple[type, ...] = ()) -> Optional[cst.CSTNode]:
    """The nearest ancestor in an `ancestry` path that is not of a `skip` type."""
    for node in reversed(path[:-1]):
        if not isinstance(node, skip):
            return node
    return None


def _within(node: cst.CSTNode, roots: Sequence[cst.CSTNode], module: cst.Module) -> bool:
    return any(ancestry_contains(root, node) for root in roots)


def ancestry_contains(root: cst.CSTNode, node: cst.CSTNode) -> bool:
    """Whether `node` is `root` or lies inside it."""
    return _contains(root, lambda current: current is node)


def _contains(root: cst.CSTNode, matches: Callable[[cst.CSTNode], bool]) -> bool:
    """Whether `root` or a node inside it `matches` (the walk stops at the first)."""

    class Finder(cst.CSTVisitor):
        found = False

        def on_visit(self, current: cst.CSTNode) -> bool:
            if matches(current):
                self.found = True
            return not self.found

    finder = Finder()
    root.visit(finder)
    return finder.found


def output_used_elsewhere(
    module: cst.Module, squash: cst.CSTNode, losses: Sequence[cst.CSTNode], other_losses: Sequence[cst.CSTNode]
) -> bool:
    """Whether anything in the file besides the loss calls `losses` may read the value `squash`
    produces, so that dropping the squash would change it. `other_losses` are the file's other
    loss calls (calling a loss object is not a use of the model). True when in doubt.
    """
    path = ancestry(module, squash)
    if path is None:
        return True
    classes = [n for n in path if isinstance(n, cst.ClassDef)]
    if classes:
        return _model_called_elsewhere(module, classes[-1], losses, other_losses)
    return _value_read_elsewhere(module, path, losses)


def _value_read_elsewhere(module: cst.Module, path: list[cst.CSTNode], losses: Sequence[cst.CSTNode]) -> bool:
    """A squash outside any class: fine when written in the loss call, or bound to a name that
    only the loss calls read."""
    squash = path[-1]
    if _within(squash, losses, module):
        return False
    owner = parent(path, (cst.AssignTarget,))
    if not isinstance(owner, cst.Assign) or owner.value is not squash or len(owner.targets) != 1:
        return True
    bound = owner.targets[0].target
    if not isinstance(bound, cst.Name):
        return True
    target: cst.Name = bound

    class Reads(cst.CSTVisitor):
        def __init__(self) -> None:
            self.names: list[cst.Name] = []

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == target.value and node is not target:
                self.names.append(node)

    reads = Reads()
    module.visit(reads)
    return not reads.names or any(not _within(name, losses, module) for name in reads.names)


def _model_called_elsewhere(
    module: cst.Module, model: cst.ClassDef, losses: Sequence[cst.CSTNode], other_losses: Sequence[cst.CSTNode]
) -> bool:
    """Every call that may run the model class `model`, outside the loss calls, is a use."""
    methods = {
        s.name.value for s in model.body.body if isinstance(s, cst.FunctionDef) and s.name.value not in _MODEL_PLUMBING
    }

    class Calls(cst.CSTVisitor):
        def __init__(self) -> None:
            self.imported: set[str] = set()
            self.defined: set[str] = set()
            self.scopes: list[tuple[Optional[cst.ClassDef], str]] = []
            self.candidates: list[cst.Call] = []

        def visit_Import(self, node: cst.Import) -> None:
            for alias in node.names:
                bound = alias.asname.name if alias.asname is not None else alias.name
                if isinstance(bound, cst.Name):
                    self.imported.add(bound.value)
                elif isinstance(bound, cst.Attribute):
                    head: cst.BaseExpression = bound
                    while isinstance(head, cst.Attribute):
                        head = head.value
                    if isinstance(head, cst.Name):
                        self.imported.add(head.value)

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if isinstance(node.names, cst.ImportStar):
                return
            for alias in node.names:
                bound = alias.asname.name if alias.asname is not None else alias.name
                if isinstance(bound, cst.Name):
                    self.imported.add(bound.value)

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            self.defined.add(node.name.value)
            self.scopes.append((node, ""))

        def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
            self.scopes.pop()

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.defined.add(node.name.value)
            owner = self.scopes[-1][0] if self.scopes and self.scopes[-1][1] == "" else None
            self.scopes.append((owner, node.name.value))

        def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
            self.scopes.pop()

        def visit_Call(self, node: cst.Call) -> None:
            owner, method = self.scopes[-1] if self.scopes else (None, "")
            func = node.func
            if isinstance(func, cst.Name):
                if func.value == "self" or func.value not in _BUILTINS:
                    self.candidates.append(node)  # judged below, once every import and def is known
            elif isinstance(func, cst.Attribute):
                base = func.value
                if isinstance(base, cst.Name) and base.value == "self":
                    # `self.net(x)` inside the model's own plumbing builds the output; anywhere else
                    # (another method, another class holding the model) it may read it.
                    if owner is not model or method not in _MODEL_PLUMBING:
                        self.candidates.append(node)
                elif func.attr.value == "forward" or func.attr.value in methods:
                    self.candidates.append(node)

    calls = Calls()
    module.visit(calls)
    for call in calls.candidates:
        func = call.func
        if isinstance(func, cst.Name) and func.value != "self" and func.value in calls.imported | calls.defined:
            continue
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in calls.imported:
            continue
        if any(call is other for other in other_losses) or _within(call, losses, module):
            continue
        return True
    return False


# Reads of a tensor that take its value and leave its graph behind (`loss.item()` for a log line).
_VALUE_READS = frozenset({"item", "detach", "cpu", "tolist", "numpy"})
_VALUE_FUNCTIONS = frozenset({"print", "float", "str", "repr", "format", "round"})


def read_only_for_its_value(module: cst.Module, call: cst.CSTNode) -> bool:
    """Whether the value of a loss call is bound to a name that is only read for its number
    (`img_loss = mse(x, y)`, then only `img_loss.item()` or `print(img_loss)`): a metric, never
    backpropagated. Only the reads this binding reaches count: the statements after it, up to
    the name's next binding, in its block and the blocks around it, and a loop's body again from
    its start (a validation loop's `loss = criterion(...)`; `loss.item()` beside a training
    loop's own `loss = ...; loss.backward()`). False when in doubt (no such name, or any other read)."""
    path = ancestry(module, call)
    if path is not None and len(path) > 2 and _value_read(path[-2], path[-3], call):
        return True  # read in place: `F.binary_cross_entropy(p, y).item()`, `print(mse(x, y))`
    owner = parent(path, (cst.AssignTarget,)) if path is not None else None
    if path is None or not isinstance(owner, cst.Assign) or owner.value is not call or len(owner.targets) != 1:
        return False
    bound = owner.targets[0].target
    if not isinstance(bound, cst.Name):
        return False
    reads = _Reads(bound.value, bound)
    scope = next((n for n in reversed(path) if isinstance(n, cst.FunctionDef)), module)
    if _read_in_nested_functions(scope, path, bound.value):
        return False  # a function of this scope reads it as a global or closure: when is unknown
    for depth in range(len(path) - 2, -1, -1):
        node, child = path[depth], path[depth + 1]
        body = _statements(node)
        if body is not None and child in body:
            at = body.index(child)
            if not reads.scan(body[at + 1:]):
                break  # the name is bound again: later statements read another value
            if isinstance(node, cst.IndentedBlock) and depth > 0 and isinstance(path[depth - 1], (cst.For, cst.While)):
                reads.scan(body[:at])  # the next iteration, up to this statement
        if isinstance(node, cst.FunctionDef):
            break
    return reads.value_reads > 0 and reads.other_reads == 0


def _statements(node: cst.CSTNode) -> Optional[Sequence[cst.CSTNode]]:
    """The statements a block holds, in order: a module's, an indented block's, and the small
    statements of one line (`loss = f(x); loss.backward()`, `if t: loss = f(x); loss.backward()`)."""
    if isinstance(node, (cst.Module, cst.IndentedBlock, cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return node.body
    return None


def _read_in_nested_functions(scope: cst.CSTNode, path: Sequence[cst.CSTNode], name: str) -> bool:
    """Whether a function or lambda inside `scope`, other than those around the binding, reads `name`."""
    around = {id(n) for n in path}

    class Finder(cst.CSTVisitor):
        found = False

        def on_visit(self, node: cst.CSTNode) -> bool:
            if node is not scope and isinstance(node, (cst.FunctionDef, cst.Lambda)) and id(node) not in around:
                self.found = self.found or _contains(node, lambda n: isinstance(n, cst.Name) and n.value == name)
                return False
            return not self.found

    finder = Finder()
    scope.visit(finder)
    return finder.found


class _Reads(cst.CSTVisitor):
    """Counts the reads of one name: value reads (`.item()`, `print(x)`) and any other."""

    def __init__(self, name: str, bound: cst.CSTNode) -> None:
        self.name, self.bound = name, bound
        self.stack: list[cst.CSTNode] = []
        # Per nested block being visited: whether the name was bound again in it (later reads there,
        # a training loop's `loss = ...; loss.backward()`, read another value).
        self.rebound: list[bool] = []
        self.value_reads = 0
        self.other_reads = 0

    def scan(self, statements: Sequence[cst.CSTNode]) -> bool:
        """Count the reads in `statements` in order; False at one that binds the name again."""
        for statement in statements:
            statement.visit(self)
            if _rebinds(statement, self.name):
                return False
        return True

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Name) and node.value == self.name and node is not self.bound and not any(self.rebound):
            self._judge(node)
        if isinstance(node, cst.IndentedBlock):
            self.rebound.append(False)
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()
        if isinstance(original_node, cst.IndentedBlock):
            self.rebound.pop()
        elif self.rebound and _rebinds(original_node, self.name):
            self.rebound[-1] = True

    def _judge(self, node: cst.Name) -> None:
        up = self.stack[-1] if self.stack else None
        above = self.stack[-2] if len(self.stack) > 1 else None
        if isinstance(up, cst.AssignTarget):
            return  # rebound, not read
        if _value_read(up, above, node):
            self.value_reads += 1
        else:
            self.other_reads += 1


def _value_read(up: Optional[cst.CSTNode], above: Optional[cst.CSTNode], node: cst.CSTNode) -> bool:
    """Whether `node`, under `up` and `above`, is read for its number only (`x.item()`, `print(x)`, an f-string)."""
    method = isinstance(up, cst.Attribute) and up.value is node and up.attr.value in _VALUE_READS and isinstance(above, cst.Call)
    printed = isinstance(up, cst.Arg) and isinstance(above, cst.Call) and isinstance(above.func, cst.Name) \
        and above.func.value in _VALUE_FUNCTIONS
    return method or printed or isinstance(up, cst.FormattedStringExpression)


def _rebinds(statement: cst.CSTNode, name: str) -> bool:
    """Whether a simple statement (or one small statement of it) binds `name` at its own level."""
    smalls = statement.body if isinstance(statement, cst.SimpleStatementLine) else [statement]
    return any(
        isinstance(small, cst.Assign) and any(isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets)
        for small in smalls
    )


# Calls that train: where a file makes none, no loss of it is a mere metric beside a training one.
_TRAINING_CALLS = frozenset({"backward", "grad", "minimize", "fit", "fit_generator", "train_on_batch", "gradient"})


def trains(module: cst.Module) -> bool:
    """Does the file backpropagate anything (`loss.backward()`, `fit`, `tape.gradient`, `minimize`)?
    A demo that only prints its loss is showing the loss it would train with."""
    return _contains(module, _is_training_call)


def _is_training_call(node: cst.CSTNode) -> bool:
    if not isinstance(node, cst.Call):
        return False
    func = node.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    return name in _TRAINING_CALLS
