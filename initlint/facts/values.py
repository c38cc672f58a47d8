"""Abstract values: what the interpreter knows about each Python object at init time.

Tensors carry the zero analysis (RULES.md, IL1): a tensor is `zero`
(identically zero whatever the input), `indep` (the same for every input,
with a structural `key` so that equal values cancel in a difference),
`live` (depends on the input or on a random parameter in an input-dependent
way) or `unknown`. Rules stay quiet on `unknown`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Optional, TypeVar

import libcst as cst

ZERO = "zero"
INDEP = "indep"
LIVE = "live"
UNKNOWN_STATE = "unknown"

_ids = itertools.count(1)


def fresh_uid() -> int:
    """A uid no value made so far has: every Param or Obj made after it has a larger one."""
    return next(_ids)

_Record = TypeVar("_Record")


def copy_with(record: _Record, changes: dict[str, Any]) -> _Record:
    """A copy of a dataclass instance with some fields changed: `dataclasses.replace`
    without re-running `__init__` field by field (for the interpreter's most frequent
    copies, of tensors and of call contexts). Other fields are shared, as there."""
    new = object.__new__(type(record))
    new.__dict__.update(record.__dict__)
    new.__dict__.update(changes)
    return new


class Value:
    """Base of every abstract value."""

    __slots__ = ()


class Unknown(Value):
    """Anything the interpreter cannot know; every operation on it is unknown."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Unknown"


UNKNOWN = Unknown()


class Const(Value):
    """A Python constant (int, float, str, bool, None). Immutable.

    A plain slotted class rather than a frozen dataclass: it is the value the
    interpreter creates most (every literal it evaluates), and a frozen
    dataclass's `__init__` costs several times as much.
    """

    __slots__ = ("value",)
    value: Any

    def __init__(self, value: Any) -> None:
        object.__setattr__(self, "value", value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Const is immutable; cannot set {name!r}")

    def __repr__(self) -> str:
        return f"Const(value={self.value!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Const, (self.value,))


@dataclass(eq=False)
class Seq(Value):
    """A Python list or tuple; `complete` is False when elements were lost (loop caps)."""

    items: list[Value]
    is_tuple: bool = False
    complete: bool = True


@dataclass(eq=False)
class Mapping(Value):
    """A dict literal (string-keyed factories, config dicts)."""

    items: dict[Any, Value]
    complete: bool = True


@dataclass(eq=False)
class Ext(Value):
    """An imported object, known by its qualified name (`torch.nn.Linear`)."""

    qualname: str
    # The attribute that named it (`F.binary_cross_entropy` in `loss_fn = F.binary_cross_entropy`):
    # a loss function called elsewhere is reported as chosen here.
    site: Any = None


# The layer steps a tensor remembers: the last ones (a 100-layer stack keeps its last 64 steps).
CHAIN_LIMIT = 64


@dataclass(frozen=True)
class ChainItem:
    """One step of the layer chain a tensor went through since the last reset.

    kind: "weight" (Linear, Conv, Dense, matmul with a parameter), "sigmoid",
    "tanh", "norm" (resets), "act" (any other activation).
    node: where the step is written (the activation call or layer constructor).
    anchor: the constructor of the outermost module that contains the step,
    or the step's own node (where a "stack" is reported).
    """

    kind: str
    node: cst.CSTNode
    anchor: cst.CSTNode
    layer: Optional[Obj] = None


@dataclass(frozen=True)
class OutputActivation:
    """The output activation a tensor went through last (sigmoid, softmax, log_softmax)."""

    kind: str
    node: cst.CSTNode
    path: Optional[str] = None  # set when the squash comes from another file
    # Keras 2's `backend.sigmoid`: its output caches the logits, which Keras' binary cross-entropy uses.
    caches_logits: bool = False


# `OutputActivation.kind` of `1 - sigmoid(z)` (also plus an epsilon, or clipped): in float32 it is
# exactly 0 once z >= 17, so a log of it is -inf (a hand-written binary cross-entropy, IL303).
SIGMOID_COMPLEMENT = "1-sigmoid"
# `OutputActivation.kind` of a sigmoid output scaled or shifted by a number (`5 * torch.sigmoid(z) + 0.5`,
# a rating in [0.5, 5.5]): a squared error on it still carries σ'(z), which vanishes at saturation (IL301).
SCALED_SIGMOID = "scaled-sigmoid"


@dataclass(frozen=True, eq=False)
class Tensor(Value):
    """A tensor flowing through the model: its zero state, its upstream parameters, its width."""

    state: str = UNKNOWN_STATE
    key: Any = None  # structural identity of an `indep` value
    params: frozenset[Any] = frozenset()  # upstream trainable Param objects
    zero_sites: tuple[Any, ...] = ()  # (node, description) of the initializers that made it zero
    last_dim: Optional[int] = None
    squash: Optional[OutputActivation] = None
    chain: tuple[Any, ...] = ()  # ChainItem, most recent last
    zero_layer: Optional[Param] = None  # a zero mixing weight whose output this is
    ext_output: Optional[str] = None  # output of an imported model class (cross-file link)
    creation: Optional[InitEvent] = None  # how a freshly created tensor was filled (zeros, randn * s, ...)
    origin: Optional[tuple[Any, ...]] = None  # data provenance for IL403: ("range" | "pixels", low, high, node)
    shape: Optional[tuple[Any, ...]] = None  # known sizes (ints or None) of a freshly created tensor
    difference: bool = False  # the result of `a - b` (so that `norm` of it is a distance)
    difference_of: Optional[OutputActivation] = None  # `sigmoid(z) - y`: squaring it is a hand-written MSE on that output
    unit_norm: bool = False  # `F.normalize(x)`: unit L2 norm, so entries of RMS 1/sqrt(width) (IL401)

    def replaced(self, **changes: Any) -> Tensor:
        return copy_with(self, changes)

    @property
    def is_zero(self) -> bool:
        return self.state == ZERO

    @property
    def is_indep(self) -> bool:
        return self.state in (ZERO, INDEP)


def unknown_tensor(**kw: Any) -> Tensor:
    return Tensor(state=UNKNOWN_STATE, **kw)


@dataclass(eq=False)
class InitEvent:
    """One thing initialization did to a parameter (last one wins)."""

    kind: str  # "zero", "const", "random", "default", "copy", "unknown"
    node: Optional[cst.CSTNode]
    description: str
    value: Optional[float] = None  # the constant for "const"
    distribution: Optional[str] = None  # "normal", "uniform", "randn", "kaiming", "xavier", "trunc_normal", ...
    std: Optional[float] = None  # standard deviation when known
    conditional: bool = False  # happened under a condition the interpreter could not decide


@dataclass(eq=False)
class Param(Value):
    """A trainable tensor (or a frozen one / buffer): its shape and initialization history."""

    name: str  # dotted path inside its owner ("dense.bias") or the variable name
    role: str  # "weight", "bias", "embedding", "norm_weight", "norm_bias", "scale", "raw", "buffer"
    shape: Optional[tuple[Any, ...]] = None  # ints or None entries
    init: InitEvent = field(default_factory=lambda: InitEvent("default", None, "framework default"))
    history: list[InitEvent] = field(default_factory=list)
    trainable: bool = True
    owner: Optional[Obj] = None
    site: Optional[cst.CSTNode] = None  # where the parameter was created
    uid: int = field(default_factory=lambda: next(_ids))

    def set_init(self, event: InitEvent) -> None:
        if event.conditional and self.init.kind != event.kind:
            # Unknown which branch ran: the parameter may or may not be changed.
            event = InitEvent("unknown", event.node, "conditional " + event.description, conditional=True)
        self.init = event
        self.history.append(event)

    @property
    def is_zero(self) -> bool:
        return self.init.kind == "zero" or (self.init.kind == "const" and self.init.value == 0)

    def __hash__(self) -> int:
        return self.uid

    def __eq__(self, other: object) -> bool:
        return self is other


@dataclass(eq=False)
class Obj(Value):
    """An instance: a framework layer (`kind` = normalized qualname) or a user class.

    For framework layers, `params` holds the layer's own parameters and
    `config` the constructor arguments the rules read (in/out features,
    activation, bias...). `children` are sub-modules in registration order.
    For user classes, `cls` is the ClassInfo and `attrs` the instance dict.
    """

    kind: str
    site: Optional[cst.CSTNode] = None
    cls: Optional[Any] = None  # ClassInfo for user classes
    attrs: dict[str, Value] = field(default_factory=dict)
    params: dict[str, Param] = field(default_factory=dict)
    children: list[tuple[str, Obj]] = field(default_factory=list)
    config: dict[str, Value] = field(default_factory=dict)
    name: str = ""  # dotted path from the root model ("blocks.0.fc")
    uid: int = field(default_factory=lambda: next(_ids))

    def __hash__(self) -> int:
        return self.uid

    def __eq__(self, other: object) -> bool:
        return self is other

    def iter_modules(self, _seen: Optional[set[Any]] = None) -> list[Obj]:
        """This module and every sub-module, depth first (like nn.Module.modules())."""
        seen = _seen if _seen is not None else set()
        if self.uid in seen:
            return []
        seen.add(self.uid)
        out = [self]
        for _, child in self.children:
            out.extend(child.iter_modules(seen))
        return out

    def all_params(self) -> list[tuple[str, Param]]:
        out: list[tuple[str, Param]] = []
        seen: set[int] = set()
        for module in self.iter_modules():
            for name, p in module.params.items():
                if p.uid not in seen:
                    seen.add(p.uid)
                    out.append((name, p))
        return out


@dataclass(eq=False)
class Func(Value):
    """A user function, method or lambda with the environment it closes over."""

    node: Any  # cst.FunctionDef or cst.Lambda
    closure: Any  # Env
    bound_self: Optional[Value] = None
    owner_class: Optional[Any] = None
    is_static: bool = False


@dataclass(eq=False)
class ClassInfo(Value):
    """A class defined in the file."""

    name: str
    node: cst.ClassDef
    bases: list[Value]
    methods: dict[str, Func] = field(default_factory=dict)
    class_attrs: dict[str, Value] = field(default_factory=dict)
    framework: Optional[str] = None  # "torch" | "keras" when it derives from nn.Module / keras.Model|Layer
    output: Optional[Value] = None  # what forward/call returned when the class ran as a root (default arguments)

    def lookup(self, name: str) -> Optional[Value]:
        if name in self.methods:
            return self.methods[name]
        if name in self.class_attrs:
            return self.class_attrs[name]
        for base in self.bases:
            if isinstance(base, ClassInfo):
                found = base.lookup(name)
                if found is not None:
                    return found
        return None


@dataclass(eq=False)
class Loss(Value):
    """A loss object (`nn.MSELoss()`, a Keras loss) or a loss name; `kind` is normalized."""

    kind: str  # "mse", "bce", "bce_logits", "ce", "nll", "keras_bce", ...
    node: cst.CSTNode
    from_logits: Optional[bool] = None
    framework: str = ""  # "torch" | "keras" | "tf": Keras and TF losses take (labels, predictions)


@dataclass(eq=False)
class BoundMethod(Value):
    """`obj.method` of a framework object (e.g. `model.add`), resolved when called."""

    target: Value
    name: str


@dataclass(eq=False)
class Symbolic(Value):
    """A placeholder for a model-building input (Keras `Input`, a forward argument)."""

    tensor: Tensor


# ---------------------------------------------------------------------------- interpreter helper values
@dataclass(eq=False)
class Partial(Value):
    """`functools.partial(func, ...)`: a call with some arguments bound."""

    func: Value
    args: list[Value]
    kwargs: dict[str, Value]


@dataclass(eq=False)
class Property(Value):
    """A `@property`, evaluated when its attribute is read."""

    func: Func


@dataclass(eq=False)
class SuperRef(Value):
    """`super()` inside a method: attribute lookups start after `cls` in the MRO."""

    self_obj: Optional[Value]
    cls: Optional[ClassInfo]


@dataclass(eq=False)
class SliceValue(Value):
    """A slice `a:b:c` used as a subscript."""

    lower: Value
    upper: Value
    step: Value


@dataclass(eq=False)
class Initializer(Value):
    """A Keras / TF initializer object or name, as an InitEvent template."""

    event: InitEvent


@dataclass(eq=False)
class Builtin(Value):
    """A Python builtin (`len`, `range`, `getattr`, ...) the interpreter knows."""

    name: str


class ThisModule(Value):
    """`sys.modules[__name__]`: the file's own module; its attributes are its globals."""

    __slots__ = ()


def const_number(value: Value) -> Optional[float]:
    if isinstance(value, Const) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
        return float(value.value)
    return None


def const_int(value: Value) -> Optional[int]:
    if isinstance(value, Const) and isinstance(value.value, int) and not isinstance(value.value, bool):
        return value.value
    return None


@dataclass(eq=False)
class Transform(Value):
    """A torchvision transform or `Compose` pipeline: the step names, in order."""

    steps: tuple[str, ...]
    node: Any
    complete: bool = True


@dataclass(eq=False)
class ChunkedTensor(Value):
    """`a, b = x.chunk(2)`: every piece has x's state."""

    piece: Tensor
