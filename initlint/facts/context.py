"""The interpreter's state as the semantics modules see it: scopes (`Env`), the
per-call context (`CallContext`), and the interface of the interpreter itself
(`Machine`) and of the event sink it records into (`Recorder`).

Python semantics, tensor algebra and the framework modules call back into the
interpreter (to run a user function or a layer) through `Machine`, so none of
them imports the interpreter: the import graph stays a tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

import libcst as cst

from initlint.facts.values import ClassInfo, Ext, Func, Loss, Obj, Param, Tensor, Value, copy_with


class Env:
    """A scope: local variables, then the enclosing scope."""

    __slots__ = ("vars", "parent")

    def __init__(self, parent: Optional[Env] = None) -> None:
        self.vars: dict[str, Value] = {}
        self.parent = parent

    def lookup(self, name: str) -> Optional[Value]:
        env: Optional[Env] = self
        while env is not None:
            if name in env.vars:
                return env.vars[name]
            env = env.parent
        return None

    def copy(self) -> Env:
        new = Env(self.parent)
        new.vars = dict(self.vars)
        return new


class Guard:
    """A block that may run or not (an undecided branch, a loop over an unknown count, an
    `except` body), knowing lazily which nodes lie inside it."""

    __slots__ = ("node", "_inside")

    def __init__(self, node: cst.CSTNode) -> None:
        self.node = node
        self._inside: Optional[set[int]] = None

    def encloses(self, node: cst.CSTNode) -> bool:
        if self._inside is None:
            inside: set[int] = set()
            stack: list[cst.CSTNode] = [self.node]
            while stack:
                n = stack.pop()
                inside.add(id(n))
                stack.extend(n.children)
            self._inside = inside
        return id(node) in self._inside


@dataclass
class CallContext:
    """Per-call interpretation context."""

    root: Optional[Obj] = None  # the model being analysed (its forward/__init__), for subjects
    root_kind: str = "script"  # "class" | "script" | "keras-script"
    root_name: str = ""
    conditional: bool = False  # inside a branch whose condition is unknown
    branches: int = 0  # how many such branches (or loops over an unknown count) enclose it in this call
    guard: Optional[Guard] = None  # the innermost of them
    entered: int = 0  # `fresh_uid()` when that block began: what is made later exists only if it ran
    no_grad: bool = False  # inside torch.no_grad(): no gradient events
    anchor: Optional[cst.CSTNode] = None  # constructor of the outermost called module
    depth: int = 0
    returns: list[Value] = field(default_factory=list)
    self_obj: Optional[Value] = None  # `self` of the method being run (for super())
    cls: Optional[ClassInfo] = None  # class whose method is being run (for super())
    in_init: bool = False

    def replaced(self, **changes: Any) -> CallContext:
        return copy_with(self, changes)  # the list of returns stays shared unless replaced

    def uncertain_for(self, p: Param) -> bool:
        """Is a change made here to `p` uncertain? Not when `p` was created in the same
        undecided block (`if __name__ == "__main__":`, `if args.init:`): whenever `p`
        exists, the block ran, so the change happened too."""
        if not self.conditional:
            return False
        if self.entered and p.uid > self.entered:
            return False  # made while the block ran, wherever its code is (`net = Block()` in it)
        return self.guard is None or p.site is None or not self.guard.encloses(p.site)




# The Recorder's event lists: what a root that fails, or a helper that turns out to build nothing, takes back.
EVENT_LISTS = ("products", "activations", "layer_calls", "zero_feeds", "losses", "keras_compiles", "keras_fits", "roots", "datasets",
               "model_arguments")


class Recorder(Protocol):
    """Where the interpreter records what the rules read (FileFacts)."""

    configured_classes: set[str]
    layer_calls: list[Any]  # LayerCallEvent, in the order they happened

    def product(self, op: str, node: Any, factors: list[Tensor], ctx: CallContext) -> None: ...
    def activation(self, kind: str, node: Any, x: Tensor, ctx: CallContext, dim: Any) -> None: ...
    def layer_call(self, layer: Optional[Obj], weight: Param, x: Tensor, node: Any, ctx: CallContext, fan_in: Optional[int] = None) -> None: ...
    def zero_feed(self, weight: Param, node: Any, ctx: CallContext) -> None: ...
    def loss(self, loss: Loss, node: Any, prediction: Tensor, target: Tensor, ctx: CallContext) -> None: ...
    def keras_compile(self, model: Obj, args: list[Any], kwargs: dict[str, Any], node: Any, ctx: CallContext) -> None: ...
    def keras_fit(self, model: Obj, args: list[Any], kwargs: dict[str, Any], node: Any, ctx: CallContext) -> None: ...
    def dataset(self, node: Any, transform: Any, ctx: CallContext, held_out: bool = False) -> None: ...
    def weights_loaded(self, obj: Obj) -> None: ...
    def direct_gradient(self, params: frozenset[Any]) -> None: ...
    def model_argument(self, target: str, position: Optional[int], keyword: Optional[str], model: str, local: bool, node: Any) -> None: ...


class Machine(Protocol):
    """The interpreter, as the semantics modules call it."""

    facts: Recorder
    globals: Env
    current_env: Optional[Env]
    closures: list[Env]
    tf_generations: set[int]  # 1 / 2: TF1-only / TF2-only names used from `tf` so far
    ext_attrs: dict[str, Obj]  # objects stored on imported modules (`tf.model = Sequential()`), by qualified name
    built_models: list[Obj]  # Keras models built outside a model class, each run as a root of its own (analysis.py)
    script_inits: set[int]  # uids of parameters the module-level code re-initialised

    def eval(self, node: Any, env: Env, ctx: CallContext) -> Value: ...
    def call(self, callee: Value, args: list[Value], kwargs: dict[str, Value], node: Any, env: Env, ctx: CallContext) -> Value: ...
    def call_function(self, func: Func, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value: ...
    def call_object(self, obj: Obj, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value: ...
    def assign(self, target: Any, value: Value, env: Env, ctx: CallContext) -> None: ...
    def rebind(self, expr: Any, value: Value) -> None: ...
    def iterate(self, value: Value) -> Optional[list[Value]]: ...
    def imported_function(self, ext: Ext) -> Optional[Func]: ...
    def imported_qualname(self, info: Any) -> Optional[str]: ...
    def truth(self, value: Value) -> Optional[bool]: ...
