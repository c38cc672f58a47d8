"""The events the interpreter records and the rules read: `FileFacts` and its lists.

- `products`: multiplicative ops with the abstract value of each factor (IL101)
- `activations`: activation calls with their input (IL102, IL103, IL302)
- `layer_calls`: weight layers / hand-made weights applied to an input (IL201, IL401, IL402)
- `zero_feeds`: a zero-initialized mixing weight whose output feeds another weight layer (IL201)
- `losses`: loss computations with the prediction's abstract value (IL3)
- `keras_compiles`: Keras `model.compile(...)` calls, with their loss and optimizer (IL3, IL403)
- `keras_fits`: Keras `model.fit(...)` / `train_on_batch(...)` calls, with their data (IL403)
- `datasets`: torchvision datasets and the transform they are built with (IL403)
- `roots`: every analysed model (class instance or script), to walk parameters
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

import libcst as cst

from initlint.config import Settings
from initlint.diagnostics import Subject
from initlint.facts.context import CallContext
from initlint.facts.modules import ForeignModule, place
from initlint.facts.uses import read_only_for_its_value, trains
from initlint.facts.values import Loss, Obj, Param, Seq, Tensor
from initlint.positions import Positions


@dataclass(frozen=True)
class RootRef:
    """Which analysis root an event happened in (for confirmation subjects)."""

    kind: str  # "class" | "script"
    name: str
    root: Optional[Obj]


@dataclass
class ProductEvent:
    """A product (`*`, `@`, a weight layer, ...) of tensors: the dead-gradient rules read these."""

    op: str  # "mul", "matmul", "layer", "square", "pow", "einsum", "norm", ...
    node: cst.CSTNode
    factors: tuple[Tensor, ...]
    where: RootRef


@dataclass
class ActivationEvent:
    """An activation applied to a tensor (`sigmoid`, `softmax`, ...)."""

    kind: str
    node: cst.CSTNode
    input: Tensor
    dim: Any
    where: RootRef


@dataclass
class LayerCallEvent:
    """A weight applied to an input: a layer call or a hand-made `x @ W`."""

    layer: Optional[Obj]  # None for a hand-made weight (`x @ W`)
    weight: Param
    input: Tensor
    node: cst.CSTNode
    where: RootRef
    fan_in: Optional[int] = None  # of a hand-made weight, from its shape and how it is applied (library.weight_fan_in)


@dataclass
class ZeroFeedEvent:
    """A zero mixing weight whose output another weight layer consumes."""

    weight: Param  # the zero mixing weight whose output is consumed
    node: cst.CSTNode  # the consuming weight layer call
    where: RootRef


@dataclass
class LossEvent:
    """A loss applied to a prediction and a target."""

    loss: Loss
    node: cst.CSTNode  # the loss call (or the compile call for Keras)
    prediction: Tensor
    target: Tensor
    where: RootRef


@dataclass
class KerasCompile:
    """A Keras `model.compile(loss=..., optimizer=...)`."""

    model: Obj
    node: cst.CSTNode
    loss: Any
    optimizer: Any
    where: RootRef


@dataclass
class KerasFit:
    """A Keras `fit` / `train_on_batch` call, with the data it is given."""

    model: Obj
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    node: cst.CSTNode  # the fit / train_on_batch call
    where: RootRef


@dataclass
class ModelArgumentEvent:
    """A model handed to the constructor of an imported class (`NFQAgent(NFQNetwork(), opt)`)."""

    target: str  # the imported class's qualified name
    position: Optional[int]
    keyword: Optional[str]
    model: str  # the model's imported class (qualified), or a class of this file
    local: bool
    node: cst.CSTNode  # the constructor call


@dataclass
class DatasetEvent:
    """A torchvision dataset built with a `transform=`."""

    node: cst.CSTNode  # a torchvision dataset's construction
    transform: Any  # its `transform=` (a values.Transform when known)
    where: RootRef
    held_out: bool = False  # `train=False` or `split="test"`: evaluation data, not trained on


@dataclass
class Root:
    """A model the analysis ran: where it is built and what it returned."""

    where: RootRef
    obj: Optional[Obj]
    output: Any = None

    def main_output(self) -> Optional[Tensor]:
        """What the model predicts: its output, or the first item of a returned tuple
        (`return logits, features`, used as `net(x)[0]`)."""
        out = self.output
        if isinstance(out, Seq) and out.is_tuple and out.items:
            out = out.items[0]
        return out if isinstance(out, Tensor) else None


@dataclass
class FileFacts:
    """Everything the interpreter learned about one file; every rule reads this one record."""

    path: str
    module: cst.Module
    settings: Settings
    products: list[ProductEvent] = field(default_factory=list)
    activations: list[ActivationEvent] = field(default_factory=list)
    layer_calls: list[LayerCallEvent] = field(default_factory=list)
    zero_feeds: list[ZeroFeedEvent] = field(default_factory=list)
    losses: list[LossEvent] = field(default_factory=list)
    keras_compiles: list[KerasCompile] = field(default_factory=list)
    keras_fits: list[KerasFit] = field(default_factory=list)
    roots: list[Root] = field(default_factory=list)
    datasets: list[DatasetEvent] = field(default_factory=list)
    model_arguments: list[ModelArgumentEvent] = field(default_factory=list)
    positions: Positions = field(init=False)
    # Weights that come from a checkpoint (`x.load_state_dict(...)` in the file): the classes
    # of such instances, and the parameters of the instances themselves. How they were
    # initialized does not decide how they train, so the init rules leave them alone.
    checkpoint_classes: set[str] = field(default_factory=set)
    checkpoint_params: set[int] = field(default_factory=set)  # Param.uid
    # Model classes the file's own code builds with known arguments and runs: their real
    # configurations, where the class root only guesses the defaults (`Net(batch_normalization=True)`).
    configured_classes: set[str] = field(default_factory=set)
    # Parameters a loss term reaches directly (`model.add_loss(lambda: tf.reduce_mean(d.kernel))`):
    # their gradient does not pass through the layers, so a zero product is not dead.
    direct_gradient_params: set[int] = field(default_factory=set)  # Param.uid
    budget_exhausted: bool = False
    partial_roots: list[str] = field(default_factory=list)  # what ran out of budget: "class `Net`", ...
    analysis_errors: list[str] = field(default_factory=list)  # roots abandoned on an interpreter error
    # Project modules whose definitions the analysis read (`from model import Block`): events may
    # carry their nodes, which engine.py places through facts/modules.py.
    foreign: list[ForeignModule] = field(default_factory=list)
    # Class names whose call sites in other project files were looked up (facts/callsites.py), and the
    # files read for them ((absolute path, digest)): the result depends on both.
    lookups: dict[str, None] = field(default_factory=dict)
    callers: dict[str, str] = field(default_factory=dict)
    # Imported functions this file's code ran, each with the call here that ran it (ProjectImports.entries).
    foreign_entries: list[tuple[cst.CSTNode, cst.CSTNode]] = field(default_factory=list)
    _metric_only: dict[int, bool] = field(default_factory=dict, repr=False)
    _file_trains: Optional[bool] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.positions = Positions(self.module)

    def line_of(self, node: cst.CSTNode) -> int:
        """The 1-based line of a node, for messages (positions are resolved on first use)."""
        where = place(node, self.foreign) if self.foreign else None
        return self.positions.span(node).line if where is None else where[1].line

    def metric_only(self, loss_call: cst.CSTNode) -> bool:
        """Whether a loss call's value is only read for its number (uses.read_only_for_its_value) in a
        file that trains with something (uses.trains), once per call."""
        key = id(loss_call)
        if key not in self._metric_only:
            # A call in an imported helper (`bce_metric(p, y)`) is judged in its own module.
            where = place(loss_call, self.foreign) if self.foreign else None
            module = where[0].module_holding(loss_call) if where is not None else self.module
            self._metric_only[key] = module is not None and read_only_for_its_value(module, loss_call) and self._trains()
        return self._metric_only[key]

    def _trains(self) -> bool:
        if self._file_trains is None:
            self._file_trains = trains(self.module)
        return self._file_trains

    def imported(self, node: cst.CSTNode) -> bool:
        """Whether a node belongs to a project module this file imports, not to the file itself."""
        return bool(self.foreign) and place(node, self.foreign) is not None

    def line_text(self, node: cst.CSTNode) -> str:
        """`line 10`, or `line 10 of model.py` for a node of an imported module."""
        where = place(node, self.foreign) if self.foreign else None
        if where is None:
            return f"line {self.positions.span(node).line}"
        return f"line {where[1].line} of {os.path.basename(where[0].path)}"

    # ------------------------------------------------------------ recorder API
    @staticmethod
    def _where(ctx: CallContext) -> RootRef:
        return RootRef(ctx.root_kind, ctx.root_name, ctx.root)

    def product(self, op: str, node: Any, factors: list[Tensor], ctx: CallContext) -> None:
        self.products.append(ProductEvent(op, node, tuple(factors), self._where(ctx)))

    def activation(self, kind: str, node: Any, x: Tensor, ctx: CallContext, dim: Any) -> None:
        self.activations.append(ActivationEvent(kind, node, x, dim, self._where(ctx)))

    def layer_call(self, layer: Optional[Obj], weight: Param, x: Tensor, node: Any, ctx: CallContext, fan_in: Optional[int] = None) -> None:
        self.layer_calls.append(LayerCallEvent(layer, weight, x, node, self._where(ctx), fan_in))

    def zero_feed(self, weight: Param, node: Any, ctx: CallContext) -> None:
        self.zero_feeds.append(ZeroFeedEvent(weight, node, self._where(ctx)))

    def loss(self, loss: Loss, node: Any, prediction: Tensor, target: Tensor, ctx: CallContext) -> None:
        self.losses.append(LossEvent(loss, node, prediction, target, self._where(ctx)))

    def keras_compile(self, model: Obj, args: list[Any], kwargs: dict[str, Any], node: Any, ctx: CallContext) -> None:
        self.keras_compiles.append(KerasCompile(model, node, kwargs.get("loss", args[1] if len(args) > 1 else None), kwargs.get("optimizer", args[0] if args else None), self._where(ctx)))

    def dataset(self, node: Any, transform: Any, ctx: CallContext, held_out: bool = False) -> None:
        self.datasets.append(DatasetEvent(node, transform, self._where(ctx), held_out))

    def weights_loaded(self, obj: Obj) -> None:
        if obj.cls is not None:
            self.checkpoint_classes.add(obj.cls.name)
        self.checkpoint_params.update(p.uid for _, p in obj.all_params())

    def direct_gradient(self, params: frozenset[Any]) -> None:
        self.direct_gradient_params.update(p.uid for p in params)

    def model_argument(self, target: str, position: Optional[int], keyword: Optional[str], model: str, local: bool, node: Any) -> None:
        self.model_arguments.append(ModelArgumentEvent(target, position, keyword, model, local, node))

    def keras_fit(self, model: Obj, args: list[Any], kwargs: dict[str, Any], node: Any, ctx: CallContext) -> None:
        self.keras_fits.append(KerasFit(model, tuple(args), dict(kwargs), node, self._where(ctx)))

    # ------------------------------------------------------------ helpers for rules
    def subject(self, where: RootRef, params: Any = (), layers: Any = ()) -> Subject:
        """A confirmation subject naming parameters by their dotted path in the root."""
        names = param_names(where.root) if where.root is not None else {}
        param_list = tuple(dict.fromkeys(names[p.uid] for p in params if p.uid in names))
        return Subject(kind=where.kind, name=where.name, params=param_list, layers=tuple(layers))


    def display_name(self, param: Param, where: RootRef) -> str:
        """How the user would name a parameter: `video_emb.weight`, or the variable `a`."""
        if where.root is not None:
            name = param_names(where.root).get(param.uid)
            if name:
                return name
        if param.owner is not None and param.owner.name:
            return f"{param.owner.name}.{param.name}"
        return param.name or "a parameter"

    def zero_causes(self, tensors: Any, where: RootRef) -> tuple[list[str], list[tuple[cst.CSTNode, str]]]:
        """The zero-initialized parameters behind zero values.

        Returns labels for messages (`` `video_emb.weight` zeroed at line 10 ``) and
        related locations (the initializer of each).
        """
        labels: list[str] = []
        related: list[tuple[cst.CSTNode, str]] = []
        seen: set[str] = set()
        for tensor in tensors:
            for node, cause in tensor.zero_sites:
                if not isinstance(cause, Param) or node is None:
                    continue
                name = self.display_name(cause, where)
                if name in seen:
                    continue
                seen.add(name)
                labels.append(f"`{name}` zeroed at {self.line_text(node)}")
                how = cause.init.description if cause.init.node is node else "its construction"
                related.append((node, f"`{name}` starts at zero ({how})"))
        return labels, related

    def code(self, node: cst.CSTNode, limit: int = 60) -> str:
        """Source text of a node, on one line, without its comments, shortened for messages."""
        text = " ".join(self.module.code_for_node(_without_comments(node)).split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


def param_names(root: Obj) -> dict[int, str]:
    """uid -> dotted name of every parameter under `root` (first path wins, like named_parameters)."""
    names: dict[int, str] = {}
    visited: set[int] = set()

    def walk(module: Obj, prefix: str) -> None:
        if module.uid in visited:
            return
        visited.add(module.uid)
        for n, p in module.params.items():
            names.setdefault(p.uid, prefix + n)
        for n, child in module.children:
            walk(child, f"{prefix}{n}.")

    walk(root, "")
    return names


def module_names(root: Obj) -> dict[int, str]:
    """uid -> dotted name of every sub-module under `root`."""
    names: dict[int, str] = {}

    def walk(module: Obj, prefix: str) -> None:
        if module.uid in names:
            return
        names[module.uid] = prefix.rstrip(".")
        for n, child in module.children:
            walk(child, f"{prefix}{n}.")

    walk(root, "")
    return names


class _DropComments(cst.CSTTransformer):
    def leave_Comment(self, original_node: cst.Comment, updated_node: cst.Comment) -> cst.RemovalSentinel:  # type: ignore[override]
        return cst.RemoveFromParent()


def _without_comments(node: cst.CSTNode) -> cst.CSTNode:
    """`node` without its comments: a message quotes code, not notes."""
    return node.visit(_DropComments())  # type: ignore[return-value]
