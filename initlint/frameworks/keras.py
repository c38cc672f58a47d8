"""Keras (keras / tf.keras): layer construction, initializers, activations given
by name, and a model's output activation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Optional

import libcst as cst

from initlint.facts.context import CallContext, Machine
from initlint.facts.names import strip_tf1
from initlint.facts.python import iterate
from initlint.facts.tensors import _last, argument, new_param, shape_of, truthy
from initlint.facts.values import (
    INDEP,
    LIVE,
    UNKNOWN,
    UNKNOWN_STATE,
    ZERO,
    Const,
    Ext,
    InitEvent,
    Initializer,
    Mapping,
    Obj,
    OutputActivation,
    Seq,
    Tensor,
    Value,
    const_int,
    const_number,
)
from initlint.frameworks.tables import (
    ACT_NAMES,
    KERAS_INITIALIZERS,
    NORM_LAYERS,
    PASS_LAYERS,
    SQUASH_ACTS,
    framework_of,
    last,
)
from initlint.frameworks.torch import _optional_param


def keras_initializer(value: Value, node: Any) -> Optional[InitEvent]:
    """The InitEvent a Keras/TF initializer argument stands for, when known."""
    if isinstance(value, Initializer):
        return InitEvent(value.event.kind, node, value.event.description, value=value.event.value, distribution=value.event.distribution, std=value.event.std)
    if isinstance(value, Const) and isinstance(value.value, str):
        spec = KERAS_INITIALIZERS.get(value.value)
        if spec is None:
            return InitEvent("unknown", node, repr(value.value))
        kind, extra = spec
        if kind == "zero":
            return InitEvent("zero", node, f"'{value.value}'")
        if kind == "const":
            return InitEvent("const", node, f"'{value.value}'", value=float(extra) if isinstance(extra, (int, float)) else None)
        return InitEvent("random", node, f"'{value.value}'", distribution=str(extra), std=0.05 / math.sqrt(3) if extra == "uniform_small" else None)
    if isinstance(value, Ext):
        qual, tf1 = strip_tf1(value.qualname)
        # An initializer class passed uncalled: TF1's when spelled so, else unknown for low-level TF.
        return keras_initializer_call(last(qual), [], {}, node, tf1_always if tf1 else tf1_never if framework_of(qual) == "keras" else tf1_unknown)
    if isinstance(value, Const) and value.value is None:
        return None
    return InitEvent("unknown", node, "an initializer")


def tf1_never() -> Optional[bool]:
    return False


def tf1_always() -> Optional[bool]:
    return True


def tf1_unknown() -> Optional[bool]:
    return None


# Initializers whose defaults changed between TF1 and TF2 (TF docs, "How to Map Arguments" of
# tf.compat.v1.random_normal_initializer / random_uniform_initializer: stddev 1.0 -> 0.05,
# minval 0 -> -0.05, maxval 1.0 -> 0.05). Keras' own (RandomNormal, and its lowercase
# aliases `keras.initializers.random_normal`) always had the TF2 values.
_NORMAL_INITIALIZERS = {"RandomNormal", "random_normal", "random_normal_initializer", "TruncatedNormal", "truncated_normal", "truncated_normal_initializer"}


_UNIFORM_INITIALIZERS = {"RandomUniform", "random_uniform", "random_uniform_initializer"}


def keras_initializer_call(name: str, args: list[Value], kwargs: dict[str, Value], node: Any, tf1: Callable[[], Optional[bool]] = tf1_never) -> InitEvent:
    """The InitEvent of an initializer built by a call; `tf1` says whether TF1's defaults apply
    (asked only when a default is needed; None: unknown, so the default is unknown too)."""

    def given(i: int, key: str) -> bool:
        return key in kwargs or i < len(args)

    def number(i: int, key: str, default: Optional[float]) -> Optional[float]:
        if key in kwargs:
            return const_number(kwargs[key])
        return const_number(args[i]) if i < len(args) else default

    def legacy() -> Optional[bool]:
        """TF1's defaults: never for Keras' CamelCase classes, else as the caller says."""
        return False if name[0].isupper() else tf1()

    spec = KERAS_INITIALIZERS.get(name)
    if spec is not None and spec[0] in ("zero", "const"):
        return InitEvent(spec[0], node, f"`{name}`", value=spec[1] if isinstance(spec[1], (int, float)) else None)
    if name in ("Constant", "constant", "constant_initializer"):
        v = number(0, "value", 0.0)
        if v is None:
            return InitEvent("unknown", node, f"`{name}`")
        return InitEvent("zero" if v == 0 else "const", node, f"`{name}({v:g})`", value=v)
    if name in _NORMAL_INITIALIZERS:
        if given(1, "stddev"):
            std = number(1, "stddev", None)
        else:
            old = legacy()
            std = None if old is None else 1.0 if old else 0.05
        return InitEvent("random", node, f"`{name}`", distribution="normal", std=std, value=number(0, "mean", 0.0))
    if name in _UNIFORM_INITIALIZERS:
        old = legacy() if not (given(0, "minval") and given(1, "maxval")) else False
        lo = number(0, "minval", None if old is None else 0.0 if old else -0.05)
        hi = number(1, "maxval", None if old is None else 1.0 if old else 0.05)
        std = (hi - lo) / math.sqrt(12) if lo is not None and hi is not None else None
        return InitEvent("random", node, f"`{name}`", distribution="uniform", std=std, value=(lo + hi) / 2 if lo is not None and hi is not None else None)
    if spec is not None:
        return InitEvent("random", node, f"`{name}`", distribution=spec[1] if isinstance(spec[1], str) else None)
    return InitEvent("unknown", node, f"`{name}`")


def initializer_output(init: Initializer, args: list[Value], kwargs: dict[str, Value], node: Any) -> Tensor:
    """`w_init(shape=(n_in, n_out))`: a tensor drawn by an initializer object (TF2's custom-layer idiom)."""
    event = init.event
    drawn = InitEvent(event.kind, node, event.description, value=event.value, distribution=event.distribution, std=event.std)
    size = argument(args, kwargs, 0, "shape", Const(None))
    shape = shape_of([size]) if isinstance(size, Seq) else None
    state = ZERO if drawn.kind == "zero" else INDEP if drawn.kind == "const" else LIVE if drawn.kind == "random" else UNKNOWN_STATE
    return Tensor(state=state, key=("init", id(node)), creation=drawn, shape=shape, last_dim=_last(shape))


def construct(interp: Machine, obj: Obj, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> None:
    if name in ("Dense", "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose", "Conv1DTranspose", "dense", "conv2d", "conv1d"):
        units = const_int(argument(args, kwargs, 0, "units" if name in ("Dense", "dense") else "filters"))
        obj.config["out_features"] = Const(units)
        obj.config["activation"] = argument(args, kwargs, 1 if name in ("Dense", "dense") else 99, "activation", Const(None))
        kernel = keras_initializer(kwargs.get("kernel_initializer", Const("glorot_uniform")), node) or InitEvent("random", node, "glorot_uniform", distribution="xavier")
        if kernel.node is None:
            kernel.node = node
        obj.params["kernel"] = new_param("kernel", "weight", (None, units), kernel, obj, node)
        bias_event = keras_initializer(kwargs.get("bias_initializer", Const("zeros")), node) or InitEvent("zero", node, "'zeros'")
        _optional_param(obj, "bias", "bias", (units,), bias_event, truthy(kwargs.get("use_bias", Const(True))), node)
        act = keras_activation_kind(obj.config["activation"])
        if units == 1 and name in ("Dense", "dense") and act in ("softmax", "log_softmax") and not ctx.no_grad:
            # Its output's last axis has one unit wherever it is used (a list in a config dict, a
            # custom model's loop), so the softmax is constant before any call: IL103 at the layer.
            interp.facts.activation(act, node, Tensor(last_dim=1), ctx, Const(-1))
        input_shape = kwargs.get("input_shape", kwargs.get("input_dim", Const(None)))
        if isinstance(input_shape, Seq) and input_shape.items:
            obj.config["in_features"] = Const(const_int(input_shape.items[-1]))
        elif const_int(input_shape) is not None:
            obj.config["in_features"] = input_shape
        if name in ("Dense", "dense"):  # a Conv's fan-in is its channels times its kernel size
            obj.config["fan_in"] = obj.config.get("in_features", Const(None))
    elif name == "Embedding":
        obj.config.update(num_embeddings=argument(args, kwargs, 0, "input_dim"), embedding_dim=argument(args, kwargs, 1, "output_dim"))
        event = keras_initializer(kwargs.get("embeddings_initializer", Const("uniform")), node) or InitEvent("random", node, "uniform")
        obj.params["embeddings"] = new_param("embeddings", "embedding", None, event, obj, node)
    elif name in NORM_LAYERS:
        obj.params["gamma"] = new_param("gamma", "norm_weight", None, InitEvent("const", None, "ones", value=1.0), obj, node)
        obj.params["beta"] = new_param("beta", "norm_bias", None, InitEvent("zero", None, "zeros"), obj, node)
    elif name == "Activation":
        obj.config["activation"] = argument(args, kwargs, 0, "activation", Const(None))
        obj.config["dim"] = Const(-1)  # Keras activations normalize over the last axis
    elif name == "Softmax":
        obj.config["dim"] = kwargs.get("axis", Const(-1))
    elif name in ("Sequential",):
        layers = argument(args, kwargs, 0, "layers", Const(None))
        items = iterate(interp, layers) if isinstance(layers, Seq) else []
        for i, item in enumerate(items or []):
            if isinstance(item, Obj):
                obj.children.append((str(i), item))
    elif name in ("Model", "Functional"):
        # Keras 1 spelled them `input=` / `output=`.
        obj.config["inputs"] = argument(args, kwargs, 0, "inputs", kwargs.get("input", UNKNOWN))
        obj.config["outputs"] = argument(args, kwargs, 1, "outputs", kwargs.get("output", UNKNOWN))


def keras_activation_kind(value: Value) -> Optional[str]:
    if isinstance(value, Const) and isinstance(value.value, str):
        return ACT_NAMES.get(value.value, value.value)
    if isinstance(value, Ext):
        return ACT_NAMES.get(last(value.qualname))
    if isinstance(value, Const) and value.value is None:
        return None
    return "unknown"


def model_output(obj: Obj) -> Optional[tuple[str, Any]]:
    """(kind, node) of a Keras model's output activation (sigmoid, softmax, ...), else None.

    A `Sequential`: its last layer that is not a pass-through (a `Dense` with an
    `activation`, or an `Activation`/`Softmax` layer). A functional `Model`: the
    squash of its `outputs` tensor.
    """
    if obj.cls is not None and obj.cls.framework == "keras" and obj.kind.startswith("user:"):
        # A subclassed model built with its defaults: what its call() returned as a class root.
        out = obj.cls.output if obj.config.get("default_args") else None
        return (out.squash.kind, out.squash.node) if isinstance(out, Tensor) and out.squash is not None else None
    if obj.kind in ("keras.Model", "keras.Functional"):
        out = obj.config.get("outputs")
        return (out.squash.kind, out.squash.node) if isinstance(out, Tensor) and out.squash is not None else None
    if obj.kind != "keras.Sequential":
        return None
    for _, layer in reversed(known_tail(obj) if obj.config.get("incomplete") else obj.children):
        kind = last(layer.kind)
        if layer.config.get("uncertain"):
            return None  # maybe never added: the last layer is not known
        if kind in PASS_LAYERS:
            continue
        act = layer_activation(layer)
        return (act, layer.site) if act in SQUASH_ACTS else None
    return None


def output_tensor(obj: Obj) -> Optional[Tensor]:
    """What a Keras model outputs, for a loss function of the user's (`compile(loss=my_loss)`): a
    functional model's `outputs` tensor, or a live tensor carrying a Sequential's output activation."""
    if obj.kind in ("keras.Model", "keras.Functional"):
        out = obj.config.get("outputs")
        return out if isinstance(out, Tensor) else None
    output = model_output(obj) if obj.kind == "keras.Sequential" else None
    # A Keras layer's activation: its output caches the logits for Keras' own cross-entropies.
    return Tensor(state=LIVE, squash=OutputActivation(output[0], output[1], caches_logits=True)) if output is not None else None


def model_width(obj: Obj) -> Optional[tuple[int, Any]]:
    """(units, layer site) of the layer that sets a Keras model's output width, when certain.

    A `Sequential`: its last layer that is not a pass-through or an activation layer, when it
    is a `Dense`. A functional `Model`: the width of its `outputs` tensor.
    """
    if obj.kind in ("keras.Model", "keras.Functional"):
        out = obj.config.get("outputs")
        if not isinstance(out, Tensor) or out.last_dim is None:
            return None
        layer = next((c.layer for c in reversed(out.chain) if c.kind == "weight"), None)
        return (out.last_dim, layer.site if layer is not None else None)
    if obj.kind != "keras.Sequential" or obj.config.get("incomplete"):
        return None
    for _, layer in reversed(obj.children):
        kind = last(layer.kind)
        if layer.config.get("uncertain"):
            return None
        if kind in PASS_LAYERS or (kind in ACT_NAMES or kind == "Activation") and not layer.params:
            continue
        units = const_int(layer.config.get("out_features", UNKNOWN))
        return (units, layer.site) if kind == "Dense" and units is not None else None
    return None


def known_tail(obj: Obj) -> list[tuple[str, Obj]]:
    """The layers added to an incomplete container after its last unknown one (its known end)."""
    tail = obj.config.get("tail")
    return obj.children[tail.value:] if isinstance(tail, Const) and isinstance(tail.value, int) else []


def layer_activation(layer: Obj) -> Optional[str]:
    """The activation a layer applies, by kind: an activation layer (`nn.Sigmoid`, Keras
    `Softmax`, `Activation('softmax')`) or a layer's `activation=` argument; None for none,
    "unknown" when it is not known."""
    if "activation" in layer.config:
        return keras_activation_kind(layer.config["activation"])
    return ACT_NAMES.get(last(layer.kind))


def activation_argument(node: Any) -> Any:
    """Where a layer's fused activation is written: the value of its `activation=` argument
    (`Dense(64,\n      activation="sigmoid")`), else `node` itself."""
    if isinstance(node, cst.Call):
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "activation":
                return arg.value
    return node


def single_loss(loss: Value) -> Value:
    """`compile(loss=['mse'])` or `loss={'out': 'mse'}`: the one loss of a list or dict of one
    (a single-output model's); any other loss as given."""
    if isinstance(loss, Seq) and loss.complete and len(loss.items) == 1:
        return loss.items[0]
    if isinstance(loss, Mapping) and loss.complete and len(loss.items) == 1:
        return next(iter(loss.items.values()))
    return loss


# keras.datasets whose images load_data() returns as uint8 pixels in [0, 255].
PIXEL_DATASETS = {"mnist", "fashion_mnist", "cifar10", "cifar100"}


def load_data(qual: str, node: Any) -> Value:
    """`keras.datasets.mnist.load_data()`: ((x_train, y_train), (x_test, y_test)), the images raw pixels."""
    parts = qual.split(".")
    if len(parts) < 2 or parts[-2] not in PIXEL_DATASETS:
        return UNKNOWN

    def split() -> Seq:
        return Seq([Tensor(state=LIVE, origin=("pixels", 0.0, 255.0, node)), Tensor(state=LIVE)], is_tuple=True)

    return Seq([split(), split()], is_tuple=True)


def keras_input(args: list[Value], kwargs: dict[str, Value]) -> Tensor:
    shape = argument(args, kwargs, 0, "shape", Const(None))
    last_dim = const_int(shape.items[-1]) if isinstance(shape, Seq) and shape.items else None
    return Tensor(state=LIVE, last_dim=last_dim)
