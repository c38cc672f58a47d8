"""What framework objects do, for the interpreter: layers, initializers, tensor ops, losses.

PyTorch, Keras (keras / tf.keras) and low-level TensorFlow are described
here, and nowhere else. Names arrive canonical (names.canonical): `torch.*`,
`keras.*`, `tf.*`, `np.*`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

import libcst as cst

from initlint.facts.names import canonical, strip_tf1
from initlint.facts.values import (
    INDEP,
    LIVE,
    UNKNOWN,
    UNKNOWN_STATE,
    ZERO,
    BoundMethod,
    ChainItem,
    ClassInfo,
    Const,
    Ext,
    Func,
    InitEvent,
    Loss,
    Mapping,
    Obj,
    Param,
    Seq,
    Squash,
    Tensor,
    Unknown,
    Value,
)

if TYPE_CHECKING:
    from initlint.facts.interpret import Ctx, Interpreter


# ---------------------------------------------------------------------------- helper values
@dataclass(eq=False)
class Partial(Value):
    func: Value
    args: list[Value]
    kwargs: dict[str, Value]


@dataclass(eq=False)
class Property(Value):
    func: Func


@dataclass(eq=False)
class SuperRef(Value):
    self_obj: Optional[Value]
    cls: Optional[ClassInfo]


@dataclass(eq=False)
class SliceValue(Value):
    lower: Value
    upper: Value
    step: Value


@dataclass(eq=False)
class Initializer(Value):
    """A Keras / TF initializer object or name, as an InitEvent template."""

    event: InitEvent


@dataclass(eq=False)
class Builtin(Value):
    name: str


# ---------------------------------------------------------------------------- vocabulary
ZERO_PRESERVING_ACTS = {"relu", "relu6", "gelu", "silu", "tanh", "elu", "selu", "leaky_relu", "mish", "hardswish", "hardtanh", "softsign", "celu", "prelu", "rrelu", "glu"}
# Derivative exactly 0 at 0 in PyTorch: a zero pre-activation kills the gradient (IL102).
DEAD_AT_ZERO_ACTS = {"relu", "relu6", "rrelu"}
SQUASH_ACTS = {"sigmoid", "hardsigmoid", "softmax", "log_softmax"}
ACT_NAMES = {
    "relu": "relu", "relu_": "relu", "relu6": "relu6", "ReLU": "relu", "ReLU6": "relu6",
    "gelu": "gelu", "GELU": "gelu", "silu": "silu", "SiLU": "silu", "swish": "silu",
    "tanh": "tanh", "Tanh": "tanh", "tanh_": "tanh",
    "sigmoid": "sigmoid", "Sigmoid": "sigmoid", "sigmoid_": "sigmoid",
    "hardsigmoid": "hardsigmoid", "Hardsigmoid": "hardsigmoid", "hard_sigmoid": "hardsigmoid",
    "softmax": "softmax", "Softmax": "softmax", "log_softmax": "log_softmax", "LogSoftmax": "log_softmax",
    "elu": "elu", "ELU": "elu", "selu": "selu", "SELU": "selu", "celu": "celu", "CELU": "celu",
    "leaky_relu": "leaky_relu", "LeakyReLU": "leaky_relu", "mish": "mish", "Mish": "mish",
    "hardswish": "hardswish", "Hardswish": "hardswish", "hardtanh": "hardtanh", "Hardtanh": "hardtanh",
    "softplus": "softplus", "Softplus": "softplus", "softsign": "softsign", "Softsign": "softsign",
    "PReLU": "prelu", "prelu": "prelu", "RReLU": "rrelu", "GLU": "glu", "glu": "glu",
    "exponential": "exp", "linear": "identity",
}
NORM_LAYERS = {
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm1d",
    "InstanceNorm2d", "InstanceNorm3d", "RMSNorm", "LocalResponseNorm", "BatchNormalization",
    "LayerNormalization", "GroupNormalization", "UnitNormalization", "LazyBatchNorm1d", "LazyBatchNorm2d",
}
WEIGHT_LAYERS = {
    "Linear", "Bilinear", "LazyLinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
    "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "Dense", "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose",
    "Conv1DTranspose", "Conv3DTranspose", "SeparableConv2D", "DepthwiseConv2D", "Convolution2D", "EinsumDense",
}
PASS_LAYERS = {
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "Identity", "Flatten", "Unflatten",
    "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "Reshape", "Permute",
    "InputLayer", "ActivityRegularization", "Masking",
}
POOL_LAYERS = {
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "MaxPooling1D",
    "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Upsample", "UpSampling2D", "PixelShuffle", "ZeroPad2d",
    "ZeroPadding2D", "ReflectionPad2d", "ReplicationPad2d", "ConstantPad2d",
}
CONTAINERS = {"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}
EMBEDDINGS = {"Embedding", "EmbeddingBag"}
RNN_LAYERS = {"RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "SimpleRNN"}
# Canonical loss kinds. "_probs" losses expect probabilities, the others logits or raw values.
TORCH_LOSSES = {
    "MSELoss": "mse", "mse_loss": "mse", "L1Loss": "l1", "l1_loss": "l1", "SmoothL1Loss": "l1",
    "smooth_l1_loss": "l1", "HuberLoss": "l1", "huber_loss": "l1",
    "BCELoss": "bce", "binary_cross_entropy": "bce",
    "BCEWithLogitsLoss": "bce_logits", "binary_cross_entropy_with_logits": "bce_logits",
    "CrossEntropyLoss": "ce", "cross_entropy": "ce", "NLLLoss": "nll", "nll_loss": "nll",
    "KLDivLoss": "kl", "kl_div": "kl", "TripletMarginLoss": "triplet", "triplet_margin_loss": "triplet",
}
KERAS_LOSSES = {
    "mse": "mse", "mean_squared_error": "mse", "MeanSquaredError": "mse", "MSE": "mse",
    "mae": "l1", "mean_absolute_error": "l1", "MeanAbsoluteError": "l1", "huber": "l1", "Huber": "l1",
    "binary_crossentropy": "keras_bce", "BinaryCrossentropy": "keras_bce", "binary_focal_crossentropy": "keras_bce",
    "categorical_crossentropy": "keras_cce", "CategoricalCrossentropy": "keras_cce",
    "sparse_categorical_crossentropy": "keras_cce", "SparseCategoricalCrossentropy": "keras_cce",
}
TF_LOSSES = {
    "sigmoid_cross_entropy_with_logits": "bce_logits", "sigmoid_cross_entropy": "bce_logits",
    "softmax_cross_entropy_with_logits": "ce", "softmax_cross_entropy_with_logits_v2": "ce",
    "sparse_softmax_cross_entropy_with_logits": "ce", "softmax_cross_entropy": "ce",
    "sparse_softmax_cross_entropy": "ce", "mean_squared_error": "mse", "log_loss": "bce",
}
MATMUL_OPS = {"matmul", "mm", "bmm", "einsum", "dot", "inner", "tensordot", "baddbmm", "addmm", "linear", "bilinear", "conv1d", "conv2d", "conv3d", "outer", "ger", "mv", "matvec"}
MUL_OPS = {"mul", "multiply", "mul_"}
SQUARE_OPS = {"square"}
DISTANCE_OPS = {"norm", "cdist", "dist", "cosine_similarity", "vector_norm"}
SHAPE_OPS = {
    "view", "reshape", "squeeze", "unsqueeze", "flatten", "transpose", "permute", "contiguous", "clone",
    "expand", "expand_as", "repeat", "t", "T", "mT", "float", "double", "half", "to", "cuda", "cpu", "type_as",
    "detach", "view_as", "squeeze_", "unsqueeze_", "expand_dims", "flatten", "movedim", "swapaxes", "tile",
}
DATASET_OPS = {"cache", "shuffle", "batch", "prefetch", "repeat"}
REDUCE_OPS = {"sum", "mean", "reduce_sum", "reduce_mean", "amax", "max", "min", "amin", "logsumexp", "prod", "nansum", "nanmean"}
PASS_OPS = {"dropout", "dropout1d", "dropout2d", "identity", "pad", "interpolate", "avg_pool2d", "max_pool2d", "adaptive_avg_pool2d", "adaptive_avg_pool1d", "avg_pool1d", "max_pool1d", "roll", "flip", "gather", "index_select", "masked_fill", "where", "narrow", "select", "unfold", "fold", "pixel_shuffle", "upsample", "scaled_dot_product_attention", "layer_norm", "group_norm", "batch_norm", "normalize", "rms_norm"}
INIT_FUNCTIONS = {
    "zeros_", "ones_", "constant_", "normal_", "uniform_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "trunc_normal_", "orthogonal_", "eye_", "dirac_", "sparse_", "lecun_normal_", "variance_scaling_",
    "trunc_normal_tf_",
}
WELL_SCALED_INITS = {"xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "lecun_normal_", "variance_scaling_", "sparse_", "dirac_", "eye_"}
KERAS_INITIALIZERS = {
    "zeros": ("zero", None), "Zeros": ("zero", None), "zeros_initializer": ("zero", None),
    "ones": ("const", 1.0), "Ones": ("const", 1.0), "ones_initializer": ("const", 1.0),
    "glorot_uniform": ("random", "xavier"), "GlorotUniform": ("random", "xavier"), "glorot_normal": ("random", "xavier"),
    "GlorotNormal": ("random", "xavier"), "he_normal": ("random", "kaiming"), "HeNormal": ("random", "kaiming"),
    "he_uniform": ("random", "kaiming"), "HeUniform": ("random", "kaiming"), "lecun_normal": ("random", "lecun"),
    "LecunNormal": ("random", "lecun"), "lecun_uniform": ("random", "lecun"), "LecunUniform": ("random", "lecun"),
    "orthogonal": ("random", "orthogonal"), "Orthogonal": ("random", "orthogonal"), "orthogonal_initializer": ("random", "orthogonal"),
    "glorot_uniform_initializer": ("random", "xavier"), "glorot_normal_initializer": ("random", "xavier"),
    "variance_scaling_initializer": ("random", "variance_scaling"), "VarianceScaling": ("random", "variance_scaling"),
    "uniform": ("random", "uniform_small"),
}


def last(qual: str) -> str:
    return qual.rsplit(".", 1)[-1]


def framework_of(qual: str) -> str:
    return qual.split(".", 1)[0]






# ---------------------------------------------------------------------------- conversions
def const_number(value: Value) -> Optional[float]:
    if isinstance(value, Const) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
        return float(value.value)
    return None


def const_int(value: Value) -> Optional[int]:
    if isinstance(value, Const) and isinstance(value.value, int) and not isinstance(value.value, bool):
        return value.value
    return None


def param_tensor(p: Param) -> Tensor:
    params = frozenset([p]) if p.trainable else frozenset()
    last_dim = p.shape[-1] if p.shape and isinstance(p.shape[-1], int) else None
    if p.is_zero:
        return Tensor(state=ZERO, params=params, zero_sites=((p.init.node, p),) if p.init.node is not None else ((p.site, p),), last_dim=last_dim)
    if p.init.kind in ("const", "random", "default"):
        return Tensor(state=INDEP, key=("param", p.uid), params=params, last_dim=last_dim)
    return Tensor(state=UNKNOWN_STATE, params=params, last_dim=last_dim)


def as_tensor(value: Value) -> Optional[Tensor]:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, Param):
        return param_tensor(value)
    if isinstance(value, Unknown):
        return Tensor()
    return None


def broadcast_dim(a: Optional[int], b: Optional[int]) -> Optional[int]:
    """The last dimension of an element-wise result (size-1 axes broadcast)."""
    if a is None or b is None:
        return None
    if a == 1:
        return b
    return a


def merge_params(*tensors: Tensor) -> frozenset[Any]:
    out: frozenset[Any] = frozenset()
    for t in tensors:
        out = out | t.params
    return out


def merge_sites(*tensors: Tensor) -> tuple[Any, ...]:
    seen: list[Any] = []
    for t in tensors:
        for site in t.zero_sites:
            if site not in seen:
                seen.append(site)
    return tuple(seen)


def join_tensors(a: Tensor, b: Tensor) -> Tensor:
    params = a.params | b.params
    if a.state == b.state and a.key == b.key and a.state != UNKNOWN_STATE:
        return a.but(params=params, zero_sites=merge_sites(a, b), squash=a.squash if a.squash == b.squash else None)
    # Both branches end in the same output activation (or the same imported model): keep it.
    return Tensor(state=UNKNOWN_STATE, params=params, last_dim=a.last_dim if a.last_dim == b.last_dim else None,
                  squash=a.squash if a.squash == b.squash else None, ext_output=a.ext_output if a.ext_output == b.ext_output else None)


def taint_arguments(args: list[Value], kwargs: dict[str, Value], node: Any) -> None:
    """An unknown callee may change any parameter it receives: forget their init."""
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, Param):
            value.set_init(InitEvent("unknown", node, "passed to an unknown function"))
        elif isinstance(value, Obj):
            for _, p in value.all_params():
                p.set_init(InitEvent("unknown", node, "passed to an unknown function"))
            value.config["tainted"] = Const(True)


# ---------------------------------------------------------------------------- builtins
_BUILTIN_NAMES = {
    "range", "len", "zip", "enumerate", "isinstance", "hasattr", "getattr", "setattr", "list", "tuple", "dict",
    "int", "float", "min", "max", "sum", "print", "reversed", "sorted", "any", "all", "abs", "round", "iter",
    "next", "str", "bool", "type", "issubclass", "map", "filter", "set", "frozenset", "divmod", "pow", "callable",
    "super", "object", "staticmethod", "classmethod", "property", "vars",
}


def builtin(name: str) -> Value:
    if name in _BUILTIN_NAMES:
        return Builtin(name)
    return UNKNOWN


def iterate(interp: "Interpreter", value: Value) -> Optional[list[Value]]:
    if isinstance(value, Seq):
        return list(value.items) if value.complete else None
    if isinstance(value, Mapping):
        return [Const(k) for k in value.items] if value.complete else None
    if isinstance(value, Obj) and value.kind.endswith(("Sequential", "ModuleList", "ParameterList")):
        if value.config.get("incomplete"):
            return None
        return [c for _, c in value.children] + [p for p in value.params.values()] if value.kind.endswith("ParameterList") else [c for _, c in value.children]
    if isinstance(value, Obj) and value.kind.endswith(("ModuleDict", "ParameterDict")):
        names: list[Value] = [Const(n) for n, _ in value.children]
        return names + [Const(n) for n in value.params]
    if isinstance(value, Const) and isinstance(value.value, (str, tuple)):
        return [Const(v) for v in value.value]
    return None


def unpack_item(value: Value, index: int) -> Value:
    if isinstance(value, Tensor):
        return value  # `out, (h, c) = lstm(x)` style unpacking keeps the state
    if isinstance(value, Pieces):
        return value.piece  # `q, k, v = qkv.chunk(3)`
    return UNKNOWN


def call_builtin(interp: "Interpreter", name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> Value:
    if name == "range":
        ints = [const_int(a) for a in args]
        if args and all(i is not None for i in ints):
            try:
                values = range(*ints)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return UNKNOWN
            capped = values[:256]  # a range slices lazily: range(10**9) costs nothing
            return Seq([Const(i) for i in capped], complete=len(values) <= 256)
        return UNKNOWN
    if name == "len":
        if args and isinstance(args[0], Seq) and args[0].complete:
            return Const(len(args[0].items))
        if args and isinstance(args[0], Obj) and args[0].kind.endswith(("Sequential", "ModuleList")):
            return Const(len(args[0].children))
        if args and isinstance(args[0], Const) and isinstance(args[0].value, (str, tuple)):
            return Const(len(args[0].value))
        return UNKNOWN
    if name in ("zip", "enumerate", "reversed", "sorted", "list", "tuple", "iter"):
        lists = [iterate(interp, a) for a in args[:3]]
        if name == "enumerate" and lists and lists[0] is not None:
            return Seq([Seq([Const(i), v], is_tuple=True) for i, v in enumerate(lists[0])])
        if name == "zip" and lists and all(lst is not None for lst in lists):
            return Seq([Seq(list(row), is_tuple=True) for row in zip(*[lst for lst in lists if lst is not None])])
        if name == "reversed" and lists and lists[0] is not None:
            return Seq(list(reversed(lists[0])))
        if name in ("list", "tuple", "iter", "sorted") and lists and lists[0] is not None:
            return Seq(list(lists[0]), is_tuple=name == "tuple")
        if name in ("list", "tuple") and not args:
            return Seq([], is_tuple=name == "tuple")
        return UNKNOWN
    if name == "dict":
        if not args:
            return Mapping({k: v for k, v in kwargs.items() if k != "**"}, complete="**" not in kwargs)
        return UNKNOWN
    if name == "isinstance" and len(args) == 2:
        return isinstance_check(args[0], args[1])
    if name in ("hasattr", "getattr") and len(args) >= 2 and isinstance(args[1], Const) and isinstance(args[1].value, str):
        target, attr = args[0], args[1].value
        found = lookup_attribute(interp, target, attr)
        if name == "hasattr":
            if isinstance(target, Obj):
                return Const(found is not None)
            return UNKNOWN
        if found is not None:
            return found
        return args[2] if len(args) > 2 else UNKNOWN
    if name == "setattr" and len(args) == 3 and isinstance(args[1], Const) and isinstance(args[1].value, str):
        set_attribute(interp, args[0], args[1].value, args[2], node, ctx)
        return Const(None)
    if name in ("int", "float", "abs", "round") and args:
        number = const_number(args[0])
        if number is not None:
            try:
                converters: dict[str, Any] = {"int": int, "float": float, "abs": abs, "round": round}
                return Const(converters[name](number))
            except (ValueError, OverflowError):
                return UNKNOWN
        return UNKNOWN
    if name in ("min", "max") and args:
        candidates: list[Value] = (iterate(interp, args[0]) or []) if len(args) == 1 else list(args)
        numbers = [n for n in (const_number(v) for v in candidates) if n is not None]
        if numbers and len(numbers) == len(candidates):
            result = min(numbers) if name == "min" else max(numbers)
            all_ints = all(isinstance(v, Const) and isinstance(v.value, int) for v in candidates)
            return Const(int(result) if all_ints else result)
        return UNKNOWN
    if name == "type" and len(args) == 1:
        return type_of(args[0])
    if name == "print":
        return Const(None)
    if name == "str" and args and isinstance(args[0], Const):
        return Const(str(args[0].value))
    return UNKNOWN


def type_of(value: Value) -> Value:
    """`type(m)` / `m.__class__` of a module: its class, so `type(m) == nn.Linear` can be decided."""
    if isinstance(value, Obj):
        if isinstance(value.cls, ClassInfo) and value.kind.startswith("user:"):
            return value.cls
        return Ext(value.kind)
    if isinstance(value, Param):
        return Ext("torch.nn.Parameter")
    return UNKNOWN


def isinstance_check(value: Value, classes: Value) -> Value:
    options = classes.items if isinstance(classes, Seq) else [classes]
    result: Optional[bool] = False
    for option in options:
        outcome = _isinstance_one(value, option)
        if outcome is True:
            return Const(True)
        if outcome is None:
            result = None
    return UNKNOWN if result is None else Const(False)


_BASE_GROUPS = {
    "_ConvNd": {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"},
    "_BatchNorm": {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"},
    "_NormBase": {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"},
    "_InstanceNorm": {"InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"},
    "RNNBase": {"RNN", "LSTM", "GRU"},
    "Module": None,  # everything
    "Layer": None,
}


# Builtin type names an isinstance check may name (plain classes: a parameterized generic
# such as tuple[Any, ...] makes isinstance raise).
_PY_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool, "tuple": tuple, "list": list}


def _isinstance_one(value: Value, option: Value) -> Optional[bool]:
    if isinstance(option, ClassInfo):
        if isinstance(value, Obj):
            if value.cls is None:
                return False
            return _class_derives(value.cls, option)
        if isinstance(value, (Param, Tensor, Const)):
            return False
        return None
    if isinstance(option, Ext):
        wanted = last(option.qualname)
        if isinstance(value, Param):
            if wanted in ("Parameter", "Tensor", "Variable"):
                return True
            return False
        if isinstance(value, Obj):
            kind = last(value.kind)
            if wanted in _BASE_GROUPS:
                group = _BASE_GROUPS[wanted]
                return True if group is None else kind in group
            if value.cls is not None and value.kind.startswith("user:"):
                return False
            return kind == wanted
        if isinstance(value, Const):
            py = _PY_TYPES.get(wanted)
            return isinstance(value.value, py) if py else False
        return None
    if isinstance(option, Builtin) and isinstance(value, Const):
        py = _PY_TYPES.get(option.name)
        return isinstance(value.value, py) if py else None
    if isinstance(option, Builtin) and isinstance(value, (Obj, Param, Tensor)):
        return False
    if isinstance(option, Builtin) and isinstance(value, Seq):
        return option.name == ("tuple" if value.is_tuple else "list")
    return None


def _class_derives(cls: ClassInfo, target: ClassInfo) -> bool:
    if cls is target:
        return True
    return any(isinstance(b, ClassInfo) and _class_derives(b, target) for b in cls.bases)


def class_framework(info: ClassInfo) -> Optional[str]:
    for base in info.bases:
        if isinstance(base, ClassInfo) and base.framework:
            return base.framework
        if isinstance(base, Ext):
            fw = framework_of(base.qualname)
            if fw == "torch" and base.qualname.startswith("torch.nn."):
                return "torch"
            if fw in ("keras", "tf"):
                return "keras"
            if last(base.qualname) in ("Module", "LightningModule"):
                return "torch"
    return None


def framework_base_kind(info: ClassInfo) -> Optional[str]:
    """`class MyLinear(nn.Linear)`: the framework layer a user class extends."""
    for base in info.bases:
        if isinstance(base, ClassInfo):
            found = framework_base_kind(base)
            if found:
                return found
        if isinstance(base, Ext) and last(base.qualname) not in ("Module", "Layer", "Model", "LightningModule", "object"):
            if base.qualname.startswith(("torch.nn.", "keras.")):
                return base.qualname
    return None


# ---------------------------------------------------------------------------- attributes
def lookup_attribute(interp: "Interpreter", owner: Value, name: str) -> Optional[Value]:
    if isinstance(owner, Obj):
        if name in owner.attrs:
            return owner.attrs[name]
        if name in owner.params:
            return owner.params[name]
        for child_name, child in owner.children:
            if child_name == name:
                return child
        if owner.cls is not None:
            found = owner.cls.lookup(name)
            if isinstance(found, Func):
                return Func(node=found.node, closure=found.closure, bound_self=None if found.is_static else owner, owner_class=found.owner_class, is_static=found.is_static)
            if isinstance(found, Property):
                return interp.call_function(found.func, [owner], {}, found.func.node, _blank_ctx())
            if isinstance(found, Value):
                return found
        if name in owner.config:
            return owner.config[name]
        return None
    return None


def _blank_ctx() -> "Ctx":
    from initlint.facts.interpret import Ctx

    return Ctx()


_OBJ_METHODS = {
    "add", "add_module", "apply", "modules", "named_modules", "children", "named_children", "parameters",
    "named_parameters", "register_buffer", "register_parameter", "reset_parameters", "compile", "fit", "to", "cuda",
    "cpu", "train", "eval", "requires_grad_", "append", "extend", "insert", "zero_grad", "build", "summary",
    "float", "double", "half", "state_dict", "load_state_dict", "get_layer", "init_weights", "keys", "values", "items",
    "forward", "predict", "evaluate", "train_on_batch", "type", "bfloat16", "register_module", "_init_weights", "add_weight",
}


def get_attribute(interp: "Interpreter", owner: Value, name: str, node: Any, ctx: "Ctx") -> Value:
    if isinstance(owner, Ext):
        if name == "__name__":
            return Const(last(owner.qualname))
        if owner.qualname in _TF_ROOTS:
            note_tf_generation(interp, owner.qualname, name)
        # `tf.keras.X` is keras.X, `tf.compat.v2.X` is tf.X (names.canonical)
        return Ext(canonical(f"{owner.qualname}.{name}"))
    if isinstance(owner, Obj):
        if name == "__class__":
            return type_of(owner)
        found = lookup_attribute(interp, owner, name)
        if found is not None:
            return found
        if name == "weight" or name == "bias":
            return Const(None) if owner.kind and not owner.kind.startswith("user:") and not owner.config.get("tainted") else UNKNOWN
        if name in _OBJ_METHODS or owner.cls is None:
            return BoundMethod(owner, name)
        return UNKNOWN
    if isinstance(owner, Param):
        if name in ("data", "weight"):
            return owner
        if name == "shape":
            return Seq([Const(d) if isinstance(d, int) else UNKNOWN for d in owner.shape], is_tuple=True) if owner.shape else UNKNOWN
        if name in ("requires_grad",):
            return Const(owner.trainable)
        if name in ("T", "mT"):
            return param_tensor(owner)
        return BoundMethod(owner, name)
    if isinstance(owner, Tensor):
        if name in ("T", "mT", "data", "real"):
            return owner
        if name == "shape":
            return UNKNOWN
        return BoundMethod(owner, name)
    if isinstance(owner, (Seq, Mapping, Loss)):
        return BoundMethod(owner, name)
    if isinstance(owner, ClassInfo):
        if name == "__name__":
            return Const(owner.name)
        found = owner.lookup(name)
        return found if found is not None else UNKNOWN
    if isinstance(owner, SuperRef):
        return UNKNOWN
    if isinstance(owner, Const) and isinstance(owner.value, str):
        return BoundMethod(owner, name)
    return UNKNOWN


# Which TensorFlow a file targets decides some defaults (`random_normal_initializer`'s
# stddev is 1.0 in TF1, 0.05 in TF2). These names exist only in TF1's root namespace
# (TF2 moved them to tf.compat.v1), so a file that spells them `tf.X` runs on TF1.
_TF_ROOTS = ("tf", "tf.train")
TF1_ONLY_API = {
    "placeholder", "placeholder_with_default", "Session", "InteractiveSession", "get_variable", "variable_scope",
    "layers", "contrib", "global_variables_initializer", "initialize_all_variables", "random_normal",
    "truncated_normal", "random_uniform", "get_default_graph", "reset_default_graph", "to_float",
}
TF2_ONLY_API = {"function", "GradientTape"}  # with a TF1-only name too, the file's target is unclear


def note_tf_generation(interp: "Interpreter", owner: str, name: str) -> None:
    """Record a TF1-only (`tf.placeholder`, `tf.train.AdamOptimizer`) or TF2-only name used from the root `tf`."""
    if owner == "tf.train":
        if name.endswith("Optimizer"):
            interp.tf_generations.add(1)  # TF2 has only tf.keras.optimizers
    elif name in TF1_ONLY_API:
        interp.tf_generations.add(1)
    elif name in TF2_ONLY_API:
        interp.tf_generations.add(2)


def tf1_defaults(interp: "Interpreter") -> Optional[bool]:
    """Whether a bare `tf.X` has TF1's defaults in this file: True for a file that uses
    TF1-only names, False for one that does not (TF2), None when it uses both kinds."""
    generations = interp.tf_generations
    if 1 in generations:
        return None if 2 in generations else True
    return False


def set_attribute(interp: "Interpreter", owner: Value, name: str, value: Value, node: Any, ctx: "Ctx") -> None:
    if isinstance(owner, Obj):
        if isinstance(value, Obj):
            owner.children = [(n, c) for n, c in owner.children if n != name]
            owner.children.append((name, value))
            owner.attrs.pop(name, None)
            owner.params.pop(name, None)
            if not value.name:
                value.name = name
            return
        if isinstance(value, Param):
            owner.params[name] = value
            owner.attrs.pop(name, None)
            if value.owner is None:
                value.owner = owner
                value.name = name
            return
        if ctx.conditional and name in owner.attrs:
            from initlint.facts.interpret import join

            owner.attrs[name] = join(owner.attrs[name], value)
            return
        if name in owner.params and isinstance(value, Tensor):
            # `self.weight = ...` replacing a parameter by a tensor: forget what we knew.
            owner.params[name].set_init(InitEvent("unknown", node, "reassigned"))
            return
        owner.attrs[name] = value
        return
    if isinstance(owner, Param):
        if name == "data":
            init_from_tensor(owner, value, node, ctx)
        elif name == "requires_grad":
            owner.trainable = not (isinstance(value, Const) and value.value is False)


def subscript_assign(interp: "Interpreter", owner: Value, value: Value, target: Any, ctx: "Ctx") -> None:
    if isinstance(owner, Tensor) and owner.state in (ZERO, INDEP):
        # `ret[i, j] = 1` on a local tensor: it is no longer all zeros.
        interp.rebind(target.value, Tensor(params=owner.params, last_dim=owner.last_dim, shape=owner.shape))
        return
    if isinstance(owner, Param):
        # `w[0] = ...` / `emb.weight[padding_idx] = 0`: a partial write; the whole is no longer known.
        if owner.init.kind in ("zero", "const"):
            owner.set_init(InitEvent("unknown", target, "partially assigned"))
    elif isinstance(owner, Seq):
        owner.complete = False


def super_method(interp: "Interpreter", ctx: "Ctx", name: str) -> Value:
    cls = ctx.cls
    self_obj = ctx.self_obj
    if cls is None:
        return UNKNOWN
    for base in cls.bases:
        if isinstance(base, ClassInfo):
            found = base.lookup(name)
            if isinstance(found, Func):
                return Func(node=found.node, closure=found.closure, bound_self=self_obj, owner_class=found.owner_class)
        elif isinstance(base, Ext) and isinstance(self_obj, Obj):
            if name == "__init__":
                kind = framework_base_kind(cls)
                if kind:
                    return Partial(Builtin("__construct_into__"), [self_obj, Const(kind)], {})
                return Builtin("__noop__")
            if name in ("forward", "call"):
                return Partial(Builtin("__apply_base__"), [self_obj], {})
    return Builtin("__noop__")


# ---------------------------------------------------------------------------- subscripts / comparisons
def subscript(interp: "Interpreter", owner: Value, keys: list[Value], node: Any, ctx: "Ctx") -> Value:
    key = keys[0] if len(keys) == 1 else None
    if isinstance(owner, Pieces):
        return owner.piece
    if isinstance(owner, Seq):
        if isinstance(key, Const) and isinstance(key.value, int) and owner.complete:
            try:
                return owner.items[key.value]
            except IndexError:
                return UNKNOWN
        if isinstance(key, SliceValue) and owner.complete:
            bounds = [const_int(v) if not (isinstance(v, Const) and v.value is None) else None for v in (key.lower, key.upper, key.step)]
            return Seq(owner.items[slice(*bounds)], is_tuple=owner.is_tuple)
        return UNKNOWN
    if isinstance(owner, Mapping):
        if isinstance(key, Const) and key.value in owner.items:
            return owner.items[key.value]
        return UNKNOWN
    if isinstance(owner, Obj) and owner.kind.endswith(("Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict")):
        if isinstance(key, Const):
            if isinstance(key.value, int) and not owner.config.get("incomplete"):
                items: list[Value] = [c for _, c in owner.children] + list(owner.params.values())
                try:
                    return items[key.value]
                except IndexError:
                    return UNKNOWN
            if isinstance(key.value, str):
                for n, c in owner.children:
                    if n == key.value:
                        return c
                return owner.params.get(key.value, UNKNOWN)
        if isinstance(key, SliceValue) and owner.kind.endswith(("Sequential", "ModuleList")):
            bounds = [const_int(v) if not (isinstance(v, Const) and v.value is None) else None for v in (key.lower, key.upper, key.step)]
            sub = Obj(kind=owner.kind, site=owner.site)
            sub.children = owner.children[slice(*bounds)]
            return sub
        return UNKNOWN
    tensor = as_tensor(owner)
    if tensor is not None and not isinstance(owner, Unknown):
        return tensor.but(squash=tensor.squash, last_dim=None if any(isinstance(k, SliceValue) for k in keys) else tensor.last_dim, zero_layer=tensor.zero_layer)
    if isinstance(owner, Const) and isinstance(owner.value, (tuple, str)) and isinstance(key, Const) and isinstance(key.value, int):
        try:
            return Const(owner.value[key.value])
        except IndexError:
            return UNKNOWN
    return UNKNOWN


def compare(op: str, left: Value, right: Value) -> Optional[bool]:
    if op in ("Is", "IsNot"):
        if isinstance(right, Const) and right.value is None:
            if isinstance(left, Const):
                result = left.value is None
            elif isinstance(left, (Obj, Param, Tensor, Func, Seq, Mapping)):
                result = False
            else:
                return None
            return result if op == "Is" else not result
        return None
    if op in ("In", "NotIn"):
        if isinstance(left, Const) and isinstance(right, Const) and isinstance(left.value, str) and isinstance(right.value, str):
            result = left.value in right.value
            return result if op == "In" else not result
        if isinstance(right, Seq) and right.complete and isinstance(left, Const):
            if all(isinstance(i, Const) for i in right.items):
                result = any(i.value == left.value for i in right.items)  # type: ignore[attr-defined]
                return result if op == "In" else not result
        if isinstance(right, Mapping) and right.complete and isinstance(left, Const):
            result = left.value in right.items
            return result if op == "In" else not result
        return None
    if op in ("Equal", "NotEqual", "Is", "IsNot") and isinstance(left, (Ext, ClassInfo)) and isinstance(right, (Ext, ClassInfo)):
        same = left is right or (isinstance(left, Ext) and isinstance(right, Ext) and last(left.qualname) == last(right.qualname))
        return same if op in ("Equal", "Is") else not same
    if isinstance(left, Const) and isinstance(right, Const):
        try:
            return bool({
                "Equal": lambda a, b: a == b,
                "NotEqual": lambda a, b: a != b,
                "LessThan": lambda a, b: a < b,
                "LessThanEqual": lambda a, b: a <= b,
                "GreaterThan": lambda a, b: a > b,
                "GreaterThanEqual": lambda a, b: a >= b,
            }[op](left.value, right.value))
        except (KeyError, TypeError):
            return None
    return None


def is_no_grad(value: Value, node: Any) -> bool:
    if isinstance(value, Ext):
        return last(value.qualname) in ("no_grad", "inference_mode")
    if isinstance(node, cst.Call):
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        return name in ("no_grad", "inference_mode")
    return False


# ---------------------------------------------------------------------------- tensor algebra
def _keyed(op: str, *tensors: Tensor) -> Any:
    return (op,) + tuple(t.key if t.state == INDEP else ("zero",) for t in tensors)


def product(interp: "Interpreter", op: str, factors: list[Tensor], node: Any, ctx: "Ctx", last_dim: Optional[int] = None) -> Tensor:
    """A multiplicative op: every factor's gradient is the product of the others."""
    if not ctx.no_grad:
        interp.rec.product(op, node, factors, ctx)
        squared = factors[0].difference_of if op in ("pow", "square") and factors else None
        if squared is not None:
            # `(sigmoid(z) - y) ** 2`: a squared error written by hand, on an activated output.
            interp.rec.loss(Loss(kind="mse", node=node), node, Tensor(state=factors[0].state, squash=squared), Tensor(), ctx)
    params = merge_params(*factors)
    states = [f.state for f in factors]
    if ZERO in states:
        zeros = [f for f in factors if f.state == ZERO]
        zero_layer = None
        if op in ("matmul", "layer") and factors[-1].state == ZERO and factors[-1].zero_layer is not None:
            zero_layer = factors[-1].zero_layer
        return Tensor(state=ZERO, params=params, zero_sites=merge_sites(*zeros), last_dim=last_dim, zero_layer=zero_layer, chain=_longest_chain(factors))
    if UNKNOWN_STATE in states:
        return Tensor(params=params, last_dim=last_dim, chain=_longest_chain(factors))
    if all(s == INDEP for s in states):
        return Tensor(state=INDEP, key=_keyed(op, *factors), params=params, last_dim=last_dim)
    return Tensor(state=LIVE, params=params, last_dim=last_dim, chain=_longest_chain(factors))


def _longest_chain(tensors: list[Tensor]) -> tuple[Any, ...]:
    chains = [t.chain for t in tensors if t.state == LIVE]
    # A factor that just went through a sigmoid/tanh is a gate (SE, GLU): the
    # other factor is the main path, and its depth is what counts (IL402).
    main = [c for c in chains if not (c and c[-1].kind in ("sigmoid", "tanh"))]
    if main and len(main) < len(chains):
        chains = main
    return max(chains, key=len) if chains else ()


def add(a: Tensor, b: Tensor, subtract: bool = False, operands: tuple[Value, Value] = (UNKNOWN, UNKNOWN)) -> Tensor:
    """`a + b` (`a - b`); `operands` are the values the tensors came from, when known."""
    result = _add(a, b, subtract, operands)
    return result.but(difference=True, difference_of=a.squash or b.squash) if subtract else result


def _input_free(t: Tensor, value: Value) -> bool:
    """A term that does not depend on the input: a parameter (a bias), or an input-independent value."""
    return isinstance(value, Param) or t.is_indep


def _add(a: Tensor, b: Tensor, subtract: bool, operands: tuple[Value, Value]) -> Tensor:
    params = a.params | b.params
    last_dim = broadcast_dim(a.last_dim, b.last_dim)
    if subtract and a.is_indep and b.is_indep and a.key == b.key:
        # Equal input-independent values cancel (seed 000's triplet homework).
        return Tensor(state=ZERO, params=params, zero_sites=merge_sites(a, b), last_dim=last_dim)
    if a.state == ZERO and b.state == ZERO:
        return Tensor(state=ZERO, params=params, zero_sites=merge_sites(a, b), last_dim=last_dim, zero_layer=a.zero_layer or b.zero_layer)
    if a.state == ZERO:
        return b.but(params=params, squash=None, zero_layer=None)
    if b.state == ZERO:
        return a.but(params=params, squash=None, zero_layer=None)
    if a.state == INDEP and b.state == INDEP:
        key = ("sub" if subtract else "add",) + tuple(sorted((repr(a.key), repr(b.key))) if not subtract else (repr(a.key), repr(b.key)))
        return Tensor(state=INDEP, key=key, params=params, last_dim=last_dim)
    if UNKNOWN_STATE in (a.state, b.state):
        # Adding a bias is not a residual connection: the path keeps its layer chain.
        path = a if _input_free(b, operands[1]) else b if _input_free(a, operands[0]) else None
        return Tensor(params=params, last_dim=last_dim, chain=path.chain if path is not None else ())
    # A sum with a live path: the shorter chain is the identity (residual) path.
    lives = [t for t in (a, b) if t.state == LIVE]
    chain = min((t.chain for t in lives), key=len)
    origin = a.origin if b.state != LIVE or _is_noise(b) else b.origin if a.state != LIVE or _is_noise(a) else None
    return Tensor(state=LIVE, params=params, last_dim=last_dim, chain=chain, origin=origin)


def _is_noise(t: Tensor) -> bool:
    """A freshly drawn random tensor (`np.random.normal(0, 0.1, x.shape)`), not data."""
    return t.creation is not None and t.creation.kind == "random" and not t.params and t.origin is None


def scale(t: Tensor, factor: Optional[float], op: str) -> Tensor:
    """Multiply or divide by a Python number."""
    creation = t.creation
    if creation is not None and creation.std is not None and factor is not None:
        std = creation.std * abs(factor)
        creation = InitEvent(creation.kind, creation.node, creation.description + f" scaled by {factor:g}", value=creation.value, distribution=creation.distribution, std=std)
    elif creation is not None and factor is None:
        creation = InitEvent("random" if creation.kind == "random" else "unknown", creation.node, creation.description + " scaled", distribution="scaled")
    origin = t.origin
    if origin is not None and factor is not None and origin[0] == "range":
        origin = ("range", origin[1] * factor, origin[2] * factor, origin[3])
    if t.state == ZERO:
        return t.but(creation=creation, squash=None)
    if factor == 0:
        return Tensor(state=ZERO, params=t.params, creation=creation)
    if t.state == INDEP:
        return t.but(key=(op, t.key, factor), creation=creation, squash=None, origin=origin)
    return t.but(creation=creation, squash=None, origin=origin, zero_layer=None if t.state != ZERO else t.zero_layer)


def shift(t: Tensor, amount: Optional[float]) -> Tensor:
    """Add a Python number."""
    if amount == 0:
        return t
    origin = t.origin
    if origin is not None and amount is not None and origin[0] == "range":
        origin = ("range", origin[1] + amount, origin[2] + amount, origin[3])
    creation = None if t.creation is None else InitEvent("unknown", t.creation.node, "shifted")
    if t.state in (ZERO, INDEP):
        return Tensor(state=INDEP, key=("shift", t.key, amount), params=t.params, last_dim=t.last_dim, creation=creation)
    return t.but(squash=None, origin=origin, creation=creation, zero_layer=None)


def binary(interp: "Interpreter", op: str, left: Value, right: Value, node: Any, ctx: "Ctx") -> Value:
    ln, rn = const_number(left), const_number(right)
    if isinstance(left, Const) and isinstance(right, Const):
        return _const_binary(op, left.value, right.value)
    if isinstance(left, Seq) and isinstance(right, Seq) and op == "Add":
        return Seq(left.items + right.items, is_tuple=left.is_tuple, complete=left.complete and right.complete)
    if isinstance(left, Seq) and op == "Multiply" and const_int(right) is not None:
        return Seq(left.items * min(max(0, const_int(right) or 0), 256), complete=left.complete and (const_int(right) or 0) <= 256)
    lt, rt = as_tensor(left), as_tensor(right)
    if lt is None and rt is None:
        return UNKNOWN
    if isinstance(left, Unknown) and isinstance(right, Unknown):
        return UNKNOWN
    if op == "MatrixMultiply" and lt is not None and rt is not None:
        return matmul(interp, lt, rt, right, node, ctx)
    if op == "Multiply":
        if lt is not None and rt is not None and not _is_number(left) and not _is_number(right):
            return product(interp, "mul", [lt, rt], node, ctx, last_dim=broadcast_dim(lt.last_dim, rt.last_dim))
        t, n = (lt, rn) if lt is not None and not _is_number(left) else (rt, ln)
        return scale(t, n, "mul") if t is not None else UNKNOWN
    if op == "Divide":
        if lt is not None and not _is_number(left):
            if rt is not None and not _is_number(right):
                if lt.state == ZERO:
                    return lt.but(params=lt.params | rt.params)
                return Tensor(state=LIVE if LIVE in (lt.state, rt.state) else lt.state if lt.state == rt.state else UNKNOWN_STATE, params=lt.params | rt.params, last_dim=lt.last_dim, chain=lt.chain)
            return scale(lt, 1.0 / rn if rn else None, "div")
        return Tensor(params=rt.params if rt else frozenset())
    if op == "Power":
        if lt is not None and rn is not None and not _is_number(left):
            if rn >= 2:
                return product(interp, "pow", [lt] * int(min(rn, 2)), node, ctx, last_dim=lt.last_dim)
            return lt.but(squash=None, creation=None) if lt.state != INDEP else lt.but(key=("pow", lt.key, rn))
        return UNKNOWN
    if op in ("Add", "Subtract"):
        if lt is not None and rt is not None and not _is_number(left) and not _is_number(right):
            return add(lt, rt, subtract=op == "Subtract", operands=(left, right))
        if lt is not None and not _is_number(left):
            return shift(lt, rn if op == "Add" else (-rn if rn is not None else None))
        if rt is not None:
            shifted = shift(rt, ln)
            return shifted if op == "Add" else scale(shifted, -1.0, "neg")
    return UNKNOWN


def _is_number(value: Value) -> bool:
    return isinstance(value, Const)


def _const_binary(op: str, a: Any, b: Any) -> Value:
    if op == "Multiply" and (isinstance(a, (str, bytes, tuple)) or isinstance(b, (str, bytes, tuple))):
        count = b if isinstance(b, int) else a if isinstance(a, int) else 0
        if count > 10_000:
            return UNKNOWN  # "x" * 10**9 would allocate before any check
    operations: dict[str, Callable[[], Any]] = {
        "Add": lambda: a + b,
        "Subtract": lambda: a - b,
        "Multiply": lambda: a * b,
        "Divide": lambda: a / b,
        "FloorDivide": lambda: a // b,
        "Modulo": lambda: a % b,
        "Power": lambda: a ** b if abs(b) < 64 else None,
    }
    try:
        result = operations[op]()
    except (KeyError, TypeError, ZeroDivisionError, ValueError, OverflowError):
        return UNKNOWN
    if result is None or (isinstance(result, (str, tuple, list)) and len(result) > 10_000):
        return UNKNOWN
    return Const(result)


# How an op applies a hand-made weight, which fixes the weight's fan-in (weight_fan_in).
IN_OUT = "in_out"  # `x @ W`, `tf.matmul(x, W)`: W is [..., in, out]
OUT_IN = "out_in"  # `F.linear(x, W)`, `tf.matmul(x, W, transpose_b=True)`: W is [..., out, in]
CONV_TF = "conv_tf"  # `tf.nn.conv2d(x, W)`: W is [k..., in, out]
CONV_TORCH = "conv_torch"  # `F.conv2d(x, W)`: W is [out, in / groups, k...]


def weight_fan_in(shape: Optional[tuple[Any, ...]], layout: Optional[str]) -> Optional[int]:
    """The inputs each output unit of a weight sums over, from its shape and how it is applied."""
    if not shape or layout is None or len(shape) < 2:
        return None
    if layout == IN_OUT:
        dims: tuple[Any, ...] = shape[-2:-1]
    elif layout == OUT_IN:
        dims = shape[-1:]
    elif layout == CONV_TF:
        dims = shape[:-1]
    elif layout == CONV_TORCH:
        dims = shape[1:]
    else:
        return None
    sizes = [d for d in dims if isinstance(d, int) and d > 0]
    return math.prod(sizes) if len(sizes) == len(dims) else None


def matmul(interp: "Interpreter", a: Tensor, b: Tensor, b_value: Value, node: Any, ctx: "Ctx", layout: Optional[str] = IN_OUT) -> Tensor:
    """`a @ b`: a product; with a parameter operand it is also a weight layer, applied as `layout`
    says (None: an orientation the analysis does not know)."""
    if a.zero_layer is not None and isinstance(b_value, Param) and not ctx.no_grad:
        interp.rec.zero_feed(a.zero_layer, node, ctx)
    out = product(interp, "matmul", [a, b], node, ctx, last_dim=b.last_dim)
    if isinstance(b_value, Param):
        interp.rec.layer_call(None, b_value, a, node, ctx, weight_fan_in(b_value.shape, layout))
        item = ChainItem("weight", node, ctx.anchor or node, None)
        chain = (a.chain + (item,))[-64:]
        zero_layer = b_value if b_value.is_zero and b_value.role in ("raw", "weight") else None
        return out.but(chain=chain, zero_layer=zero_layer if out.state == ZERO else None, origin=None)
    return out.but(origin=None)


def activation(interp: "Interpreter", kind: str, x: Tensor, node: Any, ctx: "Ctx", dim: Optional[Value] = None, layer: Optional[Obj] = None) -> Tensor:
    if not ctx.no_grad:
        interp.rec.activation(kind, node, x, ctx, dim)
    if kind == "identity":
        return x
    step = "sigmoid" if kind in ("sigmoid", "hardsigmoid") else "tanh" if kind == "tanh" else "act"
    chain = (x.chain + (ChainItem(step, node, ctx.anchor or node, layer),))[-64:]
    squash = Squash(kind, node) if kind in SQUASH_ACTS else None
    if x.state == ZERO:
        if kind in ZERO_PRESERVING_ACTS:
            return x.but(chain=chain, squash=squash)
        # Still the output of the zero layer: every unit gives the same value (IL201 zero feeds).
        return Tensor(state=INDEP, key=(kind, "zero"), params=x.params, last_dim=x.last_dim, chain=chain, squash=squash, zero_layer=x.zero_layer)
    if x.state == INDEP:
        return x.but(key=(kind, x.key), chain=chain, squash=squash, zero_layer=None)
    return x.but(chain=chain, squash=squash, creation=None, origin=None, zero_layer=x.zero_layer if kind in ZERO_PRESERVING_ACTS else None)




# ---------------------------------------------------------------------------- parameters & inits
def new_param(name: str, role: str, shape: Optional[tuple[Any, ...]], event: InitEvent, owner: Optional[Obj], site: Any, trainable: bool = True) -> Param:
    p = Param(name=name, role=role, shape=shape, owner=owner, site=site, trainable=trainable)
    p.init = event
    p.history.append(event)
    return p


def default_random(description: str, std: Optional[float] = None, distribution: str = "default") -> InitEvent:
    return InitEvent("default", None, description, distribution=distribution, std=std)


def init_from_tensor(p: Param, value: Value, node: Any, ctx: "Ctx") -> None:
    event = event_from_value(value, node)
    event.conditional = ctx.conditional
    p.set_init(event)
    t = as_tensor(value)
    if t is not None and t.shape and p.shape is None:
        p.shape = t.shape


def event_from_value(value: Value, node: Any) -> InitEvent:
    """How a tensor used to initialise a parameter was filled."""
    if isinstance(value, Param):
        return InitEvent(value.init.kind, value.init.node or node, value.init.description, value=value.init.value, distribution=value.init.distribution, std=value.init.std)
    t = as_tensor(value)
    if isinstance(value, Seq) or (isinstance(value, Const) and isinstance(value.value, (int, float))):
        numbers = _flatten_numbers(value)
        if numbers is not None and numbers and all(n == 0 for n in numbers):
            return InitEvent("zero", node, "a literal of zeros")
        if numbers is not None and numbers and len(set(numbers)) == 1:
            return InitEvent("const", node, "a literal constant", value=numbers[0])
        return InitEvent("random" if numbers and len(set(numbers)) > 1 else "unknown", node, "a literal", distribution="literal")
    if t is None or t.state == UNKNOWN_STATE and t.creation is None:
        return InitEvent("unknown", node, "an unknown value")
    if t.creation is not None:
        c = t.creation
        return InitEvent(c.kind, c.node or node, c.description, value=c.value, distribution=c.distribution, std=c.std)
    if t.state == ZERO:
        return InitEvent("zero", node, "a zero tensor")
    return InitEvent("unknown", node, "a computed tensor")


def _flatten_numbers(value: Value) -> Optional[list[float]]:
    if isinstance(value, Const):
        n = const_number(value)
        return None if n is None else [n]
    if isinstance(value, Seq) and value.complete:
        out: list[float] = []
        for item in value.items:
            sub = _flatten_numbers(item)
            if sub is None:
                return None
            out.extend(sub)
        return out
    return None


def shape_of(args: list[Value]) -> Optional[tuple[Any, ...]]:
    """The size arguments of `torch.zeros(2, 3)` / `zeros((2, 3))` / `zeros([2, 3])`."""
    if len(args) == 1 and isinstance(args[0], Seq):
        items = args[0].items if args[0].complete else None
    else:
        items = args
    if items is None:
        return None
    return tuple(const_int(v) for v in items)


def apply_init(interp: "Interpreter", fname: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> Value:
    """`nn.init.X_(tensor, ...)` and the matching in-place tensor methods."""
    if not args:
        return UNKNOWN
    target = args[0]
    rest = args[1:]

    def arg(i: int, name: str, default: Optional[float]) -> Optional[float]:
        if name in kwargs:
            return const_number(kwargs[name])
        if i < len(rest):
            return const_number(rest[i])
        return default

    base = fname.rstrip("_")
    if base in ("zeros", "zero"):
        event = InitEvent("zero", node, f"`{fname}`")
    elif base == "ones":
        event = InitEvent("const", node, f"`{fname}`", value=1.0)
    elif base in ("constant", "fill"):
        v = arg(0, "val", None) if base == "constant" else arg(0, "value", None)
        event = InitEvent("unknown", node, f"`{fname}`") if v is None else InitEvent("zero" if v == 0 else "const", node, f"`{fname}`", value=v)
    elif base == "normal":
        std = arg(1, "std", 1.0)
        event = InitEvent("random", node, f"`{fname}`", distribution="normal", std=std, value=arg(0, "mean", 0.0))
    elif base in ("trunc_normal", "trunc_normal_tf"):
        event = InitEvent("random", node, f"`{fname}`", distribution="trunc_normal", std=arg(1, "std", 1.0), value=arg(0, "mean", 0.0))
    elif base == "uniform":
        a, b = arg(0, "a" if "a" in kwargs or fname.endswith("_") else "from", 0.0), arg(1, "b" if "b" in kwargs or fname.endswith("_") else "to", 1.0)
        std = (b - a) / math.sqrt(12) if a is not None and b is not None else None
        mean = (a + b) / 2 if a is not None and b is not None else None
        event = InitEvent("random", node, f"`{fname}`", distribution="uniform", std=std, value=mean)
    elif fname in WELL_SCALED_INITS or base in ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "lecun_normal"):
        event = InitEvent("random", node, f"`{fname}`", distribution="scaled")
    else:
        event = InitEvent("unknown", node, f"`{fname}`")
    event.conditional = ctx.conditional
    if isinstance(target, Param):
        target.set_init(event)
        return target
    if isinstance(target, Tensor):
        call_arg = node.args[0].value if isinstance(node, cst.Call) and node.args else None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and fname.endswith("_") and not node.args:
            call_arg = node.func.value
        updated = Tensor(state=ZERO if event.kind == "zero" else INDEP if event.kind == "const" else LIVE if event.kind == "random" else UNKNOWN_STATE, key=("init", id(node)), creation=event, shape=target.shape, last_dim=target.last_dim)
        if call_arg is not None and event.kind != "unknown" and not ctx.conditional:
            interp.rebind(call_arg, updated)
        return updated
    return UNKNOWN


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
        return keras_initializer_call(last(qual), [], {}, node, _always if tf1 else _never if framework_of(qual) == "keras" else _unknown)
    if isinstance(value, Const) and value.value is None:
        return None
    return InitEvent("unknown", node, "an initializer")


def _never() -> Optional[bool]:
    return False


def _always() -> Optional[bool]:
    return True


def _unknown() -> Optional[bool]:
    return None


# Initializers whose defaults changed between TF1 and TF2 (TF docs, "How to Map Arguments" of
# tf.compat.v1.random_normal_initializer / random_uniform_initializer: stddev 1.0 -> 0.05,
# minval 0 -> -0.05, maxval 1.0 -> 0.05). Keras' own (RandomNormal, and its lowercase
# aliases `keras.initializers.random_normal`) always had the TF2 values.
_NORMAL_INITIALIZERS = {"RandomNormal", "random_normal", "random_normal_initializer", "TruncatedNormal", "truncated_normal", "truncated_normal_initializer"}
_UNIFORM_INITIALIZERS = {"RandomUniform", "random_uniform", "random_uniform_initializer"}


def keras_initializer_call(name: str, args: list[Value], kwargs: dict[str, Value], node: Any, tf1: Callable[[], Optional[bool]] = _never) -> InitEvent:
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
    size = _arg(args, kwargs, 0, "shape", Const(None))
    shape = shape_of([size]) if isinstance(size, Seq) else None
    state = ZERO if drawn.kind == "zero" else INDEP if drawn.kind == "const" else LIVE if drawn.kind == "random" else UNKNOWN_STATE
    return Tensor(state=state, key=("init", id(node)), creation=drawn, shape=shape, last_dim=_last(shape))


# ---------------------------------------------------------------------------- layer construction
def _arg(args: list[Value], kwargs: dict[str, Value], i: int, name: str, default: Value = UNKNOWN) -> Value:
    if name in kwargs:
        return kwargs[name]
    if i < len(args):
        return args[i]
    if "**" in kwargs:
        return UNKNOWN
    return default


def construct_into(interp: "Interpreter", obj: Obj, qual: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> Obj:
    """Fill `obj` as the framework layer `qual` built with these arguments."""
    name = last(qual)
    fw = framework_of(qual)
    obj.kind = qual
    if fw == "torch":
        _construct_torch(interp, obj, name, args, kwargs, node, ctx)
    else:
        _construct_keras(interp, obj, name, args, kwargs, node, ctx)
    return obj


def _truthy(value: Value, default: bool = True) -> Optional[bool]:
    if isinstance(value, Const):
        return bool(value.value)
    if isinstance(value, Unknown):
        return None
    return default


def _optional_param(obj: Obj, name: str, role: str, shape: Optional[tuple[Any, ...]], event: InitEvent, present: Optional[bool], node: Any) -> None:
    if present is False:
        return
    if present is None:
        event = InitEvent("unknown", node, "may be absent")
    obj.params[name] = new_param(name, role, shape, event, obj, node)


def _construct_torch(interp: "Interpreter", obj: Obj, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> None:
    if name in ("Linear", "LazyLinear"):
        i0 = 1 if name == "LazyLinear" else 0
        n_in = const_int(_arg(args, kwargs, 0, "in_features")) if name == "Linear" else None
        n_out = const_int(_arg(args, kwargs, 1 - i0, "out_features"))
        obj.config.update(in_features=Const(n_in), out_features=Const(n_out), fan_in=Const(n_in))
        std = 1 / math.sqrt(3 * n_in) if n_in else None
        obj.params["weight"] = new_param("weight", "weight", (n_out, n_in), default_random("nn.Linear default (kaiming_uniform)", std, "scaled"), obj, node)
        _optional_param(obj, "bias", "bias", (n_out,), default_random("nn.Linear default bias", std), _truthy(_arg(args, kwargs, 2 - i0, "bias", Const(True))), node)
    elif name in ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"):
        dims = int(name[-2])
        c_in = const_int(_arg(args, kwargs, 0, "in_channels"))
        c_out = const_int(_arg(args, kwargs, 1, "out_channels"))
        k = _arg(args, kwargs, 2, "kernel_size")
        ks = [const_int(k)] * dims if const_int(k) is not None else ([const_int(v) for v in k.items] if isinstance(k, Seq) else [None] * dims)
        groups = const_int(_arg(args, kwargs, 7 if "Transpose" in name else 6, "groups", Const(1))) or 1
        fan_in = c_in // groups * math.prod(ks) if c_in and all(ks) else None  # type: ignore[arg-type]
        obj.config.update(in_features=Const(c_in), out_features=Const(c_out), fan_in=Const(fan_in), groups=Const(groups))
        std = 1 / math.sqrt(3 * fan_in) if fan_in else None
        obj.params["weight"] = new_param("weight", "weight", (c_out, c_in, *ks), default_random(f"nn.{name} default (kaiming_uniform)", std, "scaled"), obj, node)
        bias_index = 7 if "Transpose" not in name else 8
        _optional_param(obj, "bias", "bias", (c_out,), default_random(f"nn.{name} default bias", std), _truthy(_arg(args, kwargs, bias_index, "bias", Const(True))), node)
    elif name in EMBEDDINGS:
        num = const_int(_arg(args, kwargs, 0, "num_embeddings"))
        dim = const_int(_arg(args, kwargs, 1, "embedding_dim"))
        obj.config.update(num_embeddings=Const(num), embedding_dim=Const(dim), padding_idx=_arg(args, kwargs, 2, "padding_idx", Const(None)))
        obj.params["weight"] = new_param("weight", "embedding", (num, dim), default_random("nn.Embedding default (normal, std 1)", 1.0, "normal"), obj, node)
    elif name in NORM_LAYERS:
        affine_key = "elementwise_affine" if name in ("LayerNorm", "RMSNorm") else "affine"
        affine_default = Const(False) if name.startswith("InstanceNorm") else Const(True)
        affine_index = {"LayerNorm": 2, "RMSNorm": 2, "GroupNorm": 3}.get(name, 3 if not name.startswith("InstanceNorm") else 3)
        affine = _truthy(_arg(args, kwargs, affine_index, affine_key, affine_default))
        size = const_int(_arg(args, kwargs, 1 if name == "GroupNorm" else 0, "num_channels" if name == "GroupNorm" else "num_features"))
        _optional_param(obj, "weight", "norm_weight", (size,), InitEvent("const", None, f"nn.{name} default weight (ones)", value=1.0), affine, node)
        if name != "RMSNorm":
            has_bias = affine if name != "LayerNorm" else (affine and _truthy(kwargs.get("bias", Const(True))))
            _optional_param(obj, "bias", "norm_bias", (size,), InitEvent("zero", None, f"nn.{name} default bias (zeros)"), has_bias, node)
    elif name in ("Softmax", "LogSoftmax", "Softmin"):
        obj.config["dim"] = _arg(args, kwargs, 0, "dim", Const(None))
    elif name in ("Sequential",):
        if len(args) == 1 and isinstance(args[0], Mapping):
            obj.children = [(str(k), v) for k, v in args[0].items.items() if isinstance(v, Obj)]
            obj.config["incomplete"] = Const(not args[0].complete)
        else:
            for i, a in enumerate(args):
                if isinstance(a, Obj):
                    obj.children.append((str(i), a))
                else:
                    obj.config["incomplete"] = Const(True)
            if "**" in kwargs:
                obj.config["incomplete"] = Const(True)
    elif name in ("ModuleList", "ParameterList"):
        items = iterate(interp, args[0]) if args else []
        if items is None:
            obj.config["incomplete"] = Const(True)
            items = []
        for i, item in enumerate(items):
            if isinstance(item, Obj):
                obj.children.append((str(i), item))
            elif isinstance(item, Param):
                obj.params[str(i)] = item
                if item.owner is None:
                    item.owner, item.name = obj, str(i)
            else:
                obj.config["incomplete"] = Const(True)
    elif name in ("ModuleDict", "ParameterDict"):
        source = args[0] if args else Mapping({})
        if isinstance(source, Mapping):
            for k, v in source.items.items():
                if isinstance(v, Obj):
                    obj.children.append((str(k), v))
                elif isinstance(v, Param):
                    obj.params[str(k)] = v
            if not source.complete:
                obj.config["incomplete"] = Const(True)
        else:
            obj.config["incomplete"] = Const(True)
    elif name in RNN_LAYERS:
        size = const_int(_arg(args, kwargs, 1, "hidden_size"))
        obj.config.update(hidden_size=Const(size), input_size=_arg(args, kwargs, 0, "input_size"))
        std = 1 / math.sqrt(size) if size else None
        obj.params["weight_ih_l0"] = new_param("weight_ih_l0", "weight", None, default_random(f"nn.{name} default", std), obj, node)
        obj.params["weight_hh_l0"] = new_param("weight_hh_l0", "weight", None, default_random(f"nn.{name} default", std), obj, node)
    elif name == "MultiheadAttention":
        obj.params["in_proj_weight"] = new_param("in_proj_weight", "weight", None, default_random("xavier_uniform", None, "scaled"), obj, node)


def _construct_keras(interp: "Interpreter", obj: Obj, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> None:
    if name in ("Dense", "Conv1D", "Conv2D", "Conv3D", "Convolution2D", "Conv2DTranspose", "Conv1DTranspose", "dense", "conv2d", "conv1d"):
        units = const_int(_arg(args, kwargs, 0, "units" if name in ("Dense", "dense") else "filters"))
        obj.config["out_features"] = Const(units)
        obj.config["activation"] = _arg(args, kwargs, 1 if name in ("Dense", "dense") else 99, "activation", Const(None))
        kernel = keras_initializer(kwargs.get("kernel_initializer", Const("glorot_uniform")), node) or InitEvent("random", node, "glorot_uniform", distribution="xavier")
        if kernel.node is None:
            kernel.node = node
        obj.params["kernel"] = new_param("kernel", "weight", (None, units), kernel, obj, node)
        bias_event = keras_initializer(kwargs.get("bias_initializer", Const("zeros")), node) or InitEvent("zero", node, "'zeros'")
        _optional_param(obj, "bias", "bias", (units,), bias_event, _truthy(kwargs.get("use_bias", Const(True))), node)
        input_shape = kwargs.get("input_shape", kwargs.get("input_dim", Const(None)))
        if isinstance(input_shape, Seq) and input_shape.items:
            obj.config["in_features"] = Const(const_int(input_shape.items[-1]))
        elif const_int(input_shape) is not None:
            obj.config["in_features"] = input_shape
    elif name == "Embedding":
        obj.config.update(num_embeddings=_arg(args, kwargs, 0, "input_dim"), embedding_dim=_arg(args, kwargs, 1, "output_dim"))
        event = keras_initializer(kwargs.get("embeddings_initializer", Const("uniform")), node) or InitEvent("random", node, "uniform")
        obj.params["embeddings"] = new_param("embeddings", "embedding", None, event, obj, node)
    elif name in NORM_LAYERS:
        obj.params["gamma"] = new_param("gamma", "norm_weight", None, InitEvent("const", None, "ones", value=1.0), obj, node)
        obj.params["beta"] = new_param("beta", "norm_bias", None, InitEvent("zero", None, "zeros"), obj, node)
    elif name == "Activation":
        obj.config["activation"] = _arg(args, kwargs, 0, "activation", Const(None))
    elif name == "Softmax":
        obj.config["dim"] = kwargs.get("axis", Const(-1))
    elif name in ("Sequential",):
        layers = _arg(args, kwargs, 0, "layers", Const(None))
        items = iterate(interp, layers) if isinstance(layers, Seq) else []
        for i, item in enumerate(items or []):
            if isinstance(item, Obj):
                obj.children.append((str(i), item))
    elif name in ("Model", "Functional"):
        obj.config["inputs"] = _arg(args, kwargs, 0, "inputs")
        obj.config["outputs"] = _arg(args, kwargs, 1, "outputs")


def keras_activation_kind(value: Value) -> Optional[str]:
    if isinstance(value, Const) and isinstance(value.value, str):
        return ACT_NAMES.get(value.value, value.value)
    if isinstance(value, Ext):
        return ACT_NAMES.get(last(value.qualname))
    if isinstance(value, Const) and value.value is None:
        return None
    return "unknown"


# ---------------------------------------------------------------------------- applying layers
def apply_layer(interp: "Interpreter", obj: Obj, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> Value:
    if obj.kind.startswith("ext:"):
        return Tensor(ext_output=obj.kind[4:])
    kind = last(obj.kind)
    x_value = args[0] if args else kwargs.get("input", kwargs.get("inputs", UNKNOWN))
    if kind in CONTAINERS and kind == "Sequential" or obj.kind == "keras.Sequential":
        if obj.config.get("incomplete"):
            return Tensor()
        value: Value = x_value
        for _, child in obj.children:
            value = interp.call_object(child, [value], {}, child.site or node, ctx)
        return value
    if obj.kind in ("keras.Model", "keras.Functional"):
        out = obj.config.get("outputs", UNKNOWN)
        return out
    if kind in ("Dot", "Multiply") and isinstance(x_value, Seq) and x_value.complete:
        factors = [t for t in (as_tensor(v) for v in x_value.items) if t is not None]
        return product(interp, "mul" if kind == "Multiply" else "dot", factors, node, ctx) if len(factors) >= 2 else Tensor()
    x = as_tensor(x_value)
    if x is None:
        x = Tensor()
    site = obj.site if obj.site is not None else node
    if kind in WEIGHT_LAYERS or obj.kind in ("tf.layers.dense",):
        return weight_layer(interp, obj, x, node, ctx)
    if kind in EMBEDDINGS:
        w = obj.params.get("weight") or obj.params.get("embeddings")
        if w is None:
            return Tensor()
        wt = param_tensor(w)
        dim = const_int(obj.config.get("embedding_dim", UNKNOWN))
        if wt.state == ZERO:
            return Tensor(state=ZERO, params=wt.params | x.params, zero_sites=wt.zero_sites, last_dim=dim)
        if wt.state == UNKNOWN_STATE:
            return Tensor(params=wt.params, last_dim=dim)
        return Tensor(state=LIVE if x.state != INDEP else INDEP, key=("emb", w.uid, x.key), params=wt.params | x.params, last_dim=dim)
    if kind in NORM_LAYERS:
        params = [p for p in obj.params.values()]
        norm_tensors = [param_tensor(p) for p in params]
        item = ChainItem("norm", site, ctx.anchor or site, obj)
        all_params = merge_params(x, *norm_tensors)
        if x.state == ZERO:
            bias = obj.params.get("bias") or obj.params.get("beta")
            if bias is None or bias.is_zero:
                return x.but(params=all_params, chain=x.chain + (item,), squash=None)
            return Tensor(state=INDEP, key=("param", bias.uid), params=all_params, chain=x.chain + (item,))
        return x.but(params=all_params, chain=x.chain + (item,), squash=None, zero_layer=None, origin=None)
    act = ACT_NAMES.get(kind)
    if act is not None or kind == "Activation":
        act = act or keras_activation_kind(obj.config.get("activation", Const(None)))
        if act is None or act == "unknown":
            return x if act is None else Tensor(params=x.params)
        return activation(interp, act, x, site, ctx, dim=obj.config.get("dim"), layer=obj)
    if kind in PASS_LAYERS:
        return x
    if kind in POOL_LAYERS:
        return x.but(squash=None, last_dim=None)
    if kind in RNN_LAYERS or kind == "MultiheadAttention":
        rnn_params = merge_params(x, *[param_tensor(p) for p in obj.params.values()])
        return Tensor(state=LIVE if x.state == LIVE else UNKNOWN_STATE, params=rnn_params)
    return Tensor(params=x.params)


def weight_layer(interp: "Interpreter", obj: Obj, x: Tensor, node: Any, ctx: "Ctx") -> Tensor:
    """Linear / Conv / Dense: `x W + b`, a product of the input and the weight."""
    site = obj.site if obj.site is not None else node
    w = obj.params.get("weight") or obj.params.get("kernel")
    b = obj.params.get("bias")
    out_dim = const_int(obj.config.get("out_features", UNKNOWN))
    if w is None:
        return Tensor(params=x.params, last_dim=out_dim)
    wt = param_tensor(w)
    if x.zero_layer is not None and not ctx.no_grad:
        interp.rec.zero_feed(x.zero_layer, node, ctx)
    out = product(interp, "layer", [x, wt], node, ctx, last_dim=out_dim)
    interp.rec.layer_call(obj, w, x, node, ctx)
    item = ChainItem("weight", site, ctx.anchor or site, obj)
    chain = (x.chain + (item,))[-64:]
    if b is not None:
        bt = param_tensor(b)
        if out.state == ZERO:
            if bt.state == ZERO:
                out = out.but(params=out.params | bt.params, zero_sites=merge_sites(out, bt))
            elif bt.state == INDEP:
                out = Tensor(state=INDEP, key=("param", b.uid), params=out.params | bt.params, last_dim=out_dim)
            else:
                out = Tensor(params=out.params | bt.params, last_dim=out_dim)
        elif out.state == INDEP:
            out = out.but(key=("affine", out.key, b.uid), params=out.params | bt.params)
        else:
            out = out.but(params=out.params | bt.params)
    elif out.state == ZERO:
        # No bias: the layer's output is zero; the site of `bias=False` explains it.
        out = out.but(zero_sites=merge_sites(out))
    zero_layer = w if w.is_zero and out.state == ZERO and (out_dim is None or out_dim != 1) else None
    out = out.but(chain=chain, zero_layer=zero_layer, squash=None, origin=None)
    act = keras_activation_kind(obj.config.get("activation", Const(None))) if "activation" in obj.config else None
    if act == "unknown":
        return Tensor(params=out.params, last_dim=out_dim, chain=chain)
    if act is not None:
        return activation(interp, act, out, site, ctx, dim=Const(-1), layer=obj)
    return out


# ---------------------------------------------------------------------------- losses
def make_loss(qual: str, args: list[Value], kwargs: dict[str, Value], node: Any) -> Optional[Loss]:
    name = last(qual)
    fw = framework_of(qual)
    kind = None
    if fw == "torch":
        kind = TORCH_LOSSES.get(name)
    elif fw == "keras":
        kind = KERAS_LOSSES.get(name)
    elif fw == "tf":
        kind = TF_LOSSES.get(name) or KERAS_LOSSES.get(name)
    if kind is None:
        return None
    from_logits = kwargs.get("from_logits")
    return Loss(kind=kind, node=node, from_logits=bool(from_logits.value) if isinstance(from_logits, Const) else None, framework=fw)


def apply_loss(interp: "Interpreter", loss: Loss, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> Value:
    prediction = args[0] if args else kwargs.get("input", kwargs.get("logits", kwargs.get("y_pred", kwargs.get("predictions", UNKNOWN))))
    target = args[1] if len(args) > 1 else kwargs.get("target", kwargs.get("labels", kwargs.get("y_true", UNKNOWN)))
    if loss.kind in ("bce_logits", "ce") and "logits" in kwargs:
        prediction = kwargs["logits"]
    if (framework_of_loss(loss) == "keras" or loss.framework in ("keras", "tf")) and len(args) >= 2 and "y_pred" not in kwargs:
        # Keras and TF losses take (y_true, y_pred) / (labels, logits).
        prediction, target = args[1], args[0]
    elif loss.framework in ("keras", "tf") and len(args) == 1:
        # `tf.losses.mean_squared_error(y, predictions=p)`: the one positional is the labels.
        prediction = kwargs.get("y_pred", kwargs.get("predictions", kwargs.get("logits", UNKNOWN)))
        target = args[0]
    t = as_tensor(prediction) or Tensor()
    if not ctx.no_grad:
        interp.rec.loss(loss, node, t, as_tensor(target) or Tensor(), ctx)
    return Tensor(state=LIVE if t.state == LIVE else t.state, params=t.params)


def framework_of_loss(loss: Loss) -> str:
    return "keras" if loss.kind.startswith("keras_") else "other"


# ---------------------------------------------------------------------------- dispatch: imported callables
_TENSOR_CREATORS_ZERO = {"zeros", "zeros_like", "new_zeros"}
_TENSOR_CREATORS_ONE = {"ones", "ones_like", "new_ones"}
_TENSOR_CREATORS_RANDOM = {"randn": ("normal", 1.0), "randn_like": ("normal", 1.0), "rand": ("uniform01", 1 / math.sqrt(12)), "rand_like": ("uniform01", 1 / math.sqrt(12)), "normal": ("normal", None), "random_normal": ("normal", None), "truncated_normal": ("normal", None), "random_uniform": ("uniform", None), "uniform": ("uniform", None), "standard_normal": ("normal", 1.0), "randint": ("int", None)}


def call_ext(interp: "Interpreter", qual: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> Value:
    qual, tf1 = strip_tf1(qual)  # `tf.compat.v1.X` means `tf.X`, with TF1's defaults
    name = last(qual)
    fw = framework_of(qual)
    if qual in ("functools.partial",) and args:
        return Partial(args[0], args[1:], dict(kwargs))
    if qual.startswith("math.") or (fw == "np" and name in ("sqrt", "log", "exp", "prod", "pi")):
        numbers = [const_number(a) for a in args]
        if name == "pi":
            return Const(math.pi)
        if numbers and all(n is not None for n in numbers) and hasattr(math, name):
            try:
                return Const(getattr(math, name)(*numbers))
            except (TypeError, ValueError, OverflowError):
                return UNKNOWN
        return UNKNOWN
    if qual in ("collections.OrderedDict", "typing.OrderedDict"):
        if args and isinstance(args[0], Seq) and args[0].complete:
            items: dict[Any, Value] = {}
            for pair in args[0].items:
                if isinstance(pair, Seq) and len(pair.items) == 2 and isinstance(pair.items[0], Const):
                    items[pair.items[0].value] = pair.items[1]
                else:
                    return Mapping({}, complete=False)
            return Mapping(items)
        return Mapping({}, complete=not args)
    if qual == "torch.nn.parallel.data_parallel" and args and isinstance(args[0], Obj):
        return interp.call_object(args[0], args[1:2], {}, node, ctx)  # module(input), replicated
    if qual.startswith("torchvision.transforms"):
        return transform_step(interp, name, args, node)
    if qual.startswith("torchvision.datasets") and name[:1].isupper():
        interp.rec.dataset(node, kwargs.get("transform", Const(None) if "**" not in kwargs else UNKNOWN), ctx)
        return UNKNOWN
    if fw not in ("torch", "keras", "tf", "np"):
        if name in INIT_FUNCTIONS:
            return apply_init(interp, name, args, kwargs, node, ctx)
        taint_arguments(args, kwargs, node)
        if name[:1].isupper() and fw not in ("math", "collections", "typing", "functools", "dataclasses", "enum", "pathlib"):
            # An instance of a class imported from another module (maybe a model of this
            # project): calling it yields a tensor the project index can link (facts/project.py).
            return imported_instance(qual, node)
        return UNKNOWN
    if fw == "keras" and ".optimizers." in qual and name[:1].isupper():
        return Ext(qual)  # an optimizer instance, known by its class (IL403 reads `compile(optimizer=...)`)
    # Initializers.
    if qual.startswith("torch.nn.init.") or (fw == "torch" and name in INIT_FUNCTIONS):
        return apply_init(interp, name, args, kwargs, node, ctx)
    if fw in ("keras", "tf") and (".initializers." in qual or name.endswith("_initializer") or qual.startswith("keras.initializers")):
        legacy: Callable[[], Optional[bool]] = _never if fw == "keras" else _always if tf1 else lambda: tf1_defaults(interp)
        return Initializer(keras_initializer_call(name, args, kwargs, node, legacy))
    # Losses.
    loss = make_loss(qual, args, kwargs, node)
    if loss is not None:
        is_class = name[:1].isupper()
        if fw == "torch" and is_class:
            return loss
        if fw == "keras" and (is_class or not args):
            return loss
        return apply_loss(interp, loss, args, kwargs, node, ctx)
    # Layers and containers (classes).
    if name == "Parameter" and fw == "torch" or (fw == "tf" and name in ("Variable", "get_variable")):
        return make_variable(interp, qual, args, kwargs, node, ctx)
    if fw == "torch" and qual.startswith("torch.nn.") and name[:1].isupper() and not qual.startswith("torch.nn.functional"):
        return construct_into(interp, Obj(kind=qual, site=node), qual, args, kwargs, node, ctx)
    if fw == "keras" and (qual.startswith("keras.layers.") or name in ("Sequential", "Model")) and name[:1].isupper():
        if name == "Input" or name == "InputLayer":
            return keras_input(args, kwargs)
        canonical_kind = "keras." + name if name in ("Sequential", "Model") else qual
        return construct_into(interp, Obj(kind=canonical_kind, site=node), canonical_kind, args, kwargs, node, ctx)
    if fw == "keras" and name == "Input":
        return keras_input(args, kwargs)
    if fw == "tf" and qual.startswith("tf.layers.") and name in ("dense", "conv2d", "conv1d"):
        obj = construct_into(interp, Obj(kind="keras.layers.Dense", site=node), "keras.layers.Dense", args[1:], kwargs, node, ctx)
        label = kwargs.get("name")
        obj.name = str(label.value) if isinstance(label, Const) else name
        return weight_layer(interp, obj, as_tensor(args[0] if args else kwargs.get("inputs", UNKNOWN)) or Tensor(), node, ctx)
    result = tensor_function(interp, qual, name, args, kwargs, node, ctx)
    if isinstance(result, Tensor) and fw == "torch" and _truthy(kwargs.get("requires_grad", Const(False))):
        # `torch.zeros(10, 4, requires_grad=True)`: a plain tensor the optimizer trains.
        return new_param("", "raw", result.shape, event_from_value(result, node), None, node)
    return result


def imported_instance(qual: str, node: Any) -> Obj:
    """An opaque instance of an imported class; calling it gives `Tensor(ext_output=qual)`."""
    return Obj(kind="ext:" + qual, site=node, config={"incomplete": Const(True), "tainted": Const(True)})


def model_output(obj: Obj) -> Optional[tuple[str, Any]]:
    """(kind, node) of a Keras model's output activation (sigmoid, softmax, ...), else None.

    A `Sequential`: its last layer that is not a pass-through (a `Dense` with an
    `activation`, or an `Activation`/`Softmax` layer). A functional `Model`: the
    squash of its `outputs` tensor.
    """
    if obj.kind in ("keras.Model", "keras.Functional"):
        out = obj.config.get("outputs")
        return (out.squash.kind, out.squash.node) if isinstance(out, Tensor) and out.squash is not None else None
    if obj.kind != "keras.Sequential" or obj.config.get("incomplete"):
        return None
    for _, layer in reversed(obj.children):
        kind = last(layer.kind)
        if kind in PASS_LAYERS:
            continue
        if kind == "Softmax":
            return ("softmax", layer.site)
        act = keras_activation_kind(layer.config.get("activation", Const(None))) if "activation" in layer.config else ACT_NAMES.get(kind)
        return (act, layer.site) if act in SQUASH_ACTS else None
    return None


@dataclass(eq=False)
class Transform(Value):
    """A torchvision transform or `Compose` pipeline: the step names, in order."""

    steps: tuple[str, ...]
    node: Any
    complete: bool = True


def transform_step(interp: "Interpreter", name: str, args: list[Value], node: Any) -> Value:
    if name in ("Compose", "RandomApply", "RandomOrder"):
        items = iterate(interp, args[0]) if args else None
        if items is None:
            return Transform((), node, complete=False)
        steps: list[str] = []
        complete = True
        for item in items:
            if isinstance(item, Transform):
                steps.extend(item.steps)
                complete = complete and item.complete
            else:
                complete = False  # a lambda or a user transform: it may normalise
        return Transform(tuple(steps), node, complete)
    return Transform((name,), node)


def keras_input(args: list[Value], kwargs: dict[str, Value]) -> Tensor:
    shape = _arg(args, kwargs, 0, "shape", Const(None))
    last_dim = const_int(shape.items[-1]) if isinstance(shape, Seq) and shape.items else None
    return Tensor(state=LIVE, last_dim=last_dim)


def make_variable(interp: "Interpreter", qual: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> Value:
    if framework_of(qual) == "torch":
        data = _arg(args, kwargs, 0, "data", UNKNOWN)
        trainable = _truthy(_arg(args, kwargs, 1, "requires_grad", Const(True))) is not False
    else:
        if last(qual) == "get_variable":
            # get_variable(name, shape=None, dtype=None, initializer=None, ...)
            init = _arg(args, kwargs, 3, "initializer", Const(None))
            event: Optional[InitEvent] = InitEvent("random", node, "tf.get_variable default (glorot)", distribution="xavier")
            if not (isinstance(init, Const) and init.value is None):
                event = keras_initializer(init, node)
            size = _arg(args, kwargs, 1, "shape", Const(None))
            shape = shape_of([size]) if isinstance(size, Seq) else None
            p = new_param(_name_of(args), "raw", shape, event or InitEvent("unknown", node, "initializer"), None, node)
            p.trainable = _truthy(kwargs.get("trainable", Const(True))) is not False
            return p
        data = _arg(args, kwargs, 0, "initial_value", UNKNOWN)
        trainable = _truthy(kwargs.get("trainable", Const(True))) is not False
    if isinstance(data, Param) and not data.trainable and data.owner is None:
        data.trainable = trainable
        data.role = "raw"
        data.site = node
        return data
    event = event_from_value(data, node)
    t = as_tensor(data)
    shape = t.shape if t is not None and t.shape else None
    if shape is None and isinstance(data, Seq):
        shape = _literal_shape(data)
    return new_param("", "raw", shape, event, None, node, trainable=trainable)


def _literal_shape(value: Value) -> Optional[tuple[Any, ...]]:
    if isinstance(value, Seq) and value.complete:
        inner = _literal_shape(value.items[0]) if value.items else ()
        return (len(value.items),) + (inner or ())
    return ()


def _name_of(args: list[Value]) -> str:
    return str(args[0].value) if args and isinstance(args[0], Const) else ""


def _dim_arg(args: list[Value], kwargs: dict[str, Value], index: int = 1) -> Value:
    for key in ("dim", "axis"):
        if key in kwargs:
            return kwargs[key]
    return args[index] if len(args) > index else Const(None)


def tensor_function(interp: "Interpreter", qual: str, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> Value:
    """`torch.X`, `F.X`, `tf.X`, `tf.nn.X`, `np.X`, `keras.ops.X` on tensors."""
    fw = framework_of(qual)
    tensors = [as_tensor(a) for a in args]
    first = tensors[0] if tensors and tensors[0] is not None else None
    # Creation.
    if name in _TENSOR_CREATORS_ZERO or (fw == "np" and name == "zeros"):
        return Tensor(state=ZERO, creation=InitEvent("zero", node, f"`{name}`"), shape=shape_of(args) if "like" not in name else None, last_dim=_last(shape_of(args)))
    if name in _TENSOR_CREATORS_ONE:
        return Tensor(state=INDEP, key=("const", 1.0), creation=InitEvent("const", node, f"`{name}`", value=1.0), shape=shape_of(args), last_dim=_last(shape_of(args)))
    if name in ("full", "full_like", "fill"):
        size_args = args[:1]
        value = const_number(_arg(args, kwargs, 1, "fill_value"))
        kind = "unknown" if value is None else "zero" if value == 0 else "const"
        return Tensor(state=ZERO if kind == "zero" else INDEP if kind == "const" else UNKNOWN_STATE, key=("const", value), creation=InitEvent(kind, node, f"`{name}`", value=value), shape=shape_of(size_args))
    if name in ("empty", "empty_like", "Tensor", "FloatTensor"):
        return Tensor(state=UNKNOWN_STATE, creation=InitEvent("unknown", node, f"`{name}` (uninitialised)"), shape=shape_of(args))
    if name in _TENSOR_CREATORS_RANDOM and (fw in ("torch", "np") or qual.startswith(("tf.random.", "np.random.", "tf.random_"))):
        dist, std = _TENSOR_CREATORS_RANDOM[name]
        if name in ("normal", "random_normal", "truncated_normal"):
            std = const_number(kwargs.get("std", kwargs.get("stddev", kwargs.get("scale", args[1] if len(args) > 1 and fw != "tf" else Const(1.0)))))
        shape = shape_of(args) if name in ("randn", "rand", "standard_normal") else shape_of([args[0]]) if args and fw == "tf" else None
        return Tensor(state=LIVE, creation=InitEvent("random", node, f"`{name}`", distribution=dist, std=std, value=0.5 if dist == "uniform01" else 0.0), shape=shape, last_dim=_last(shape))
    if name in ("tensor", "as_tensor", "from_numpy", "array", "asarray", "constant", "convert_to_tensor", "FloatTensor", "LongTensor"):
        data = args[0] if args else UNKNOWN
        if isinstance(data, (Tensor, Param)):
            return as_tensor(data) or Tensor()
        event = event_from_value(data, node)
        state = ZERO if event.kind == "zero" else INDEP if event.kind in ("const", "random") else UNKNOWN_STATE
        return Tensor(state=state, key=("literal", id(node)), creation=event, shape=_literal_shape(data) if isinstance(data, Seq) else None)
    if name in ("from_tensor_slices", "from_tensors") and fw == "tf" and args:
        # The dataset of (features, targets): IL403 reads where the features came from.
        data = args[0].items[0] if isinstance(args[0], Seq) and args[0].items else args[0]
        features = as_tensor(data)
        return Tensor(state=LIVE, origin=features.origin if features is not None else None)
    if name in ("arange", "linspace", "range", "logspace") and fw in ("torch", "np", "tf"):
        numbers = [const_number(a) for a in args[:2]]
        if name == "arange" and len(args) == 1:
            numbers = [0.0, numbers[0]]
        origin = ("range", numbers[0], numbers[1], node) if len(numbers) == 2 and None not in numbers else None
        return Tensor(state=LIVE, origin=origin)
    if first is None and not tensors:
        return Tensor() if fw in ("torch", "tf") else UNKNOWN
    is_torch_lookup = name == "embedding" and qual.startswith("torch.nn.functional") and len(args) >= 2
    is_tf_lookup = name in ("embedding_lookup", "embedding_lookup_sparse", "gather") and fw == "tf" and len(args) >= 1
    if is_torch_lookup or is_tf_lookup:
        # F.embedding(ids, weight) / tf.nn.embedding_lookup(params, ids): zero when the table is.
        table = as_tensor(args[1] if is_torch_lookup else args[0]) or Tensor()
        if table.state in (ZERO, UNKNOWN_STATE):
            return table.but(last_dim=table.last_dim, zero_layer=None)
        return Tensor(state=LIVE, params=table.params, last_dim=table.last_dim)
    # Activations.
    act = ACT_NAMES.get(name) if not (name == "linear" and fw == "torch") else None  # F.linear is a layer, not Keras' identity
    if act is not None and (qual.startswith(("torch.nn.functional.", "tf.nn.", "tf.math.", "keras.activations.", "keras.ops.")) or qual in ("torch." + name, "tf." + name)):
        x = first or Tensor()
        return activation(interp, act, x, node, ctx, dim=_dim_arg(args, kwargs))
    return tensor_op(interp, name, first or Tensor(), args, kwargs, node, ctx, fw)


def _last(shape: Optional[tuple[Any, ...]]) -> Optional[int]:
    return shape[-1] if shape else None


def tensor_op(interp: "Interpreter", name: str, x: Tensor, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx", fw: str, is_method: bool = False) -> Value:
    """A function or method on a tensor `x` (args exclude x for methods)."""
    others = args if is_method else args[1:]
    other_tensors: list[Tensor] = [t for t in (as_tensor(a) for a in others if not isinstance(a, Const)) if t is not None]
    if name in ("matmul", "mm", "bmm", "dot", "inner", "mv", "outer", "tensordot", "matvec") and other_tensors:
        transposed = _truthy(kwargs.get("transpose_b", kwargs.get("adjoint_b", Const(False))))
        layout = IN_OUT if name in ("matmul", "mm", "bmm", "dot") else OUT_IN if name == "inner" else None
        if transposed is not False:
            layout = OUT_IN if transposed and layout == IN_OUT else None
        if _truthy(kwargs.get("transpose_a", kwargs.get("adjoint_a", Const(False)))) is not False:
            layout = None  # the input is transposed: its last axis is not what the weight sums over
        return matmul(interp, x, other_tensors[0], others[0] if others else UNKNOWN, node, ctx, layout)
    if name in ("linear", "conv1d", "conv2d", "conv3d") and other_tensors and others and not isinstance(others[0], Const):
        # F.linear(x, W, b), F.conv2d(x, W, b), tf.nn.conv2d(x, W, strides, padding)
        layout = OUT_IN if name == "linear" else CONV_TF if fw == "tf" else CONV_TORCH
        out = matmul(interp, x, other_tensors[0], others[0], node, ctx, layout)
        bias = _arg(others, kwargs, 1, "bias", Const(None)) if fw == "torch" else Const(None)
        bias_tensor = as_tensor(bias) if not isinstance(bias, Const) else None
        if bias_tensor is not None:
            return add(out, bias_tensor, operands=(UNKNOWN, bias))
        return out
    if name == "einsum":
        tensors = [as_tensor(a) for a in args[1:]]
        factors = [t for t in tensors if t is not None]
        if len(factors) == 1 and isinstance(args[1], Seq):
            factors = [t for t in (as_tensor(v) for v in args[1].items) if t is not None]
        if len(factors) == 1:
            return factors[0].but(last_dim=None, squash=None)  # a permutation, not a product
        return product(interp, "einsum", factors, node, ctx) if factors else Tensor()
    if name in MUL_OPS and other_tensors:
        return product(interp, "mul", [x, other_tensors[0]], node, ctx, last_dim=broadcast_dim(x.last_dim, other_tensors[0].last_dim))
    if name in MUL_OPS and others:
        return scale(x, const_number(others[0]), "mul")
    if name in SQUARE_OPS:
        return product(interp, "square", [x, x], node, ctx, last_dim=x.last_dim)
    if name in ("pow", "float_power"):
        exponent = const_number(others[0]) if others else None
        if exponent is not None and exponent >= 2:
            return product(interp, "pow", [x, x], node, ctx, last_dim=x.last_dim)
        return x.but(squash=None)
    if name in DISTANCE_OPS:
        if name in ("norm", "vector_norm"):
            if not x.difference:
                # A norm used to normalise (`x / x.norm()`) is not a distance: the
                # numerator still carries the gradient.
                return x.but(squash=None, last_dim=None, difference=False)
            return product(interp, name, [x, x], node, ctx)
        return product(interp, name, [x] + other_tensors, node, ctx)
    if name in ("add", "sub", "subtract", "add_", "sub_", "bias_add") and others:
        if other_tensors:
            first_value = UNKNOWN if is_method or not args else args[0]
            return add(x, other_tensors[0], subtract=name.startswith("sub"), operands=(first_value, others[0]))
        n = const_number(others[0])
        return shift(x, n if not name.startswith("sub") or n is None else -n)
    if name in ("div", "divide", "true_divide", "div_") and others:
        if other_tensors:
            return binary(interp, "Divide", x, other_tensors[0], node, ctx)
        n = const_number(others[0])
        return scale(x, 1.0 / n if n else None, "div")
    if name in ("cat", "concat", "concatenate", "stack", "hstack", "vstack"):
        items = iterate(interp, args[0]) if args and not is_method else None
        parts = [as_tensor(v) for v in items] if items is not None else None
        if parts is None or any(p is None for p in parts) or not parts:
            return Tensor()
        pieces: list[Tensor] = [p for p in parts if p is not None]
        params = merge_params(*pieces)
        if all(t.state == ZERO for t in pieces):
            return Tensor(state=ZERO, params=params, zero_sites=merge_sites(*pieces))
        if all(t.is_indep for t in pieces):
            return Tensor(state=INDEP, key=("cat",) + tuple(repr(t.key) for t in pieces), params=params)
        if any(t.state == UNKNOWN_STATE for t in pieces):
            return Tensor(params=params)
        return Tensor(state=LIVE, params=params, chain=_longest_chain(pieces))
    if name in ("chunk", "split", "unbind", "tensor_split"):
        return Pieces(x.but(last_dim=None))
    if name == "astype" or name in DATASET_OPS and x.origin is not None and not x.params:
        return x  # a dtype cast, or a tf.data step that keeps the data
    if name in SHAPE_OPS or name in ("squeeze", "unsqueeze"):
        last_dim = x.last_dim if name in ("unsqueeze", "float", "to", "cuda", "cpu", "detach", "contiguous", "clone", "double", "half", "type_as") else None
        if name == "detach":
            return x.but(params=frozenset(), last_dim=last_dim)
        return x.but(last_dim=last_dim)
    if name in REDUCE_OPS:
        return x.but(squash=None, last_dim=None, origin=None, zero_layer=None)
    if name in PASS_OPS:
        return x.but(squash=None if name not in ("dropout", "identity") else x.squash, zero_layer=x.zero_layer if name in ("dropout", "identity") else None)
    if name in ("clamp", "clip", "maximum", "minimum", "abs", "exp", "log", "sqrt", "rsqrt", "neg", "sign", "round", "floor", "ceil", "reciprocal", "log1p", "expm1", "sin", "cos", "erf", "clip_by_value", "where"):
        if x.state == LIVE:
            return x.but(squash=None, zero_layer=None, creation=None, origin=None)
        return Tensor(params=x.params | merge_params(*other_tensors), last_dim=x.last_dim)
    act = ACT_NAMES.get(name)
    if act is not None:
        return activation(interp, act, x, node, ctx, dim=_dim_arg([x] + list(others), kwargs))
    return Tensor(params=x.params | merge_params(*other_tensors))


@dataclass(eq=False)
class Pieces(Value):
    """`a, b = x.chunk(2)`: every piece has x's state."""

    piece: Tensor


_STR_METHODS = {"startswith", "endswith", "lower", "upper", "strip", "split", "replace", "format", "join", "rsplit", "isdigit", "count", "find"}


def _python_value(value: Value) -> Any:
    if isinstance(value, Const):
        return value.value
    if isinstance(value, Seq) and value.complete:
        items = [_python_value(v) for v in value.items]
        return tuple(items) if value.is_tuple else items
    raise ValueError("not a constant")


def str_method(target: Const, name: str, args: list[Value]) -> Value:
    """`name.startswith("bias")` and friends on known strings (name filters in init loops)."""
    try:
        result = getattr(target.value, name)(*[_python_value(a) for a in args])
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        return UNKNOWN
    if isinstance(result, list):
        return Seq([Const(r) for r in result])
    return Const(result) if isinstance(result, (str, int, bool)) else UNKNOWN


def call_method(interp: "Interpreter", target: Value, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> Value:
    if isinstance(target, Const) and isinstance(target.value, str) and name in _STR_METHODS and not kwargs:
        return str_method(target, name, args)
    if isinstance(target, Seq):
        if name == "append" and args:
            target.items.append(args[0])
        elif name == "extend" and args:
            more = iterate(interp, args[0])
            if more is None:
                target.complete = False
            else:
                target.items.extend(more)
        elif name == "insert" and len(args) == 2 and const_int(args[0]) is not None:
            target.items.insert(const_int(args[0]) or 0, args[1])
        elif name in ("pop", "remove", "clear"):
            target.complete = False
        elif name in ("index", "count"):
            return UNKNOWN
        return Const(None)
    if isinstance(target, Mapping):
        if name in ("items",):
            return Seq([Seq([Const(k), v], is_tuple=True) for k, v in target.items.items()], complete=target.complete)
        if name == "keys":
            return Seq([Const(k) for k in target.items], complete=target.complete)
        if name == "values":
            return Seq(list(target.items.values()), complete=target.complete)
        if name in ("get", "pop") and args and isinstance(args[0], Const):
            return target.items.get(args[0].value, args[1] if len(args) > 1 else Const(None) if target.complete else UNKNOWN)
        if name in ("update", "setdefault"):
            target.complete = False
        return UNKNOWN
    if isinstance(target, Param):
        return param_method(interp, target, name, args, kwargs, node, ctx)
    if isinstance(target, Obj):
        return object_method(interp, target, name, args, kwargs, node, ctx)
    if isinstance(target, Tensor):
        if name in INIT_FUNCTIONS or name in ("zero_", "fill_", "normal_", "uniform_", "copy_"):
            if name == "copy_":
                return args[0] if args else UNKNOWN
            return apply_init(interp, name, [target] + args, kwargs, node, ctx)
        if name.endswith("_") and not name.startswith("_") and isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            # Another in-place op (`masked_fill_`, `scatter_`, `add_`): the variable's value is no longer known.
            changed = Tensor(params=target.params, last_dim=target.last_dim)
            interp.rebind(node.func.value, changed)
            return changed
        return tensor_op(interp, name, target, args, kwargs, node, ctx, "torch", is_method=True)
    if isinstance(target, Loss):
        return UNKNOWN
    return UNKNOWN


def param_method(interp: "Interpreter", p: Param, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> Value:
    if name in ("zero_", "fill_", "normal_", "uniform_", "constant_") or name in INIT_FUNCTIONS:
        fname = name
        apply_init(interp, fname, [p] + args, kwargs, node, ctx)
        return p
    if name == "copy_":
        init_from_tensor(p, args[0] if args else UNKNOWN, node, ctx)
        return p
    if name in ("requires_grad_",):
        flag = args[0] if args else kwargs.get("requires_grad", Const(True))
        p.trainable = not (isinstance(flag, Const) and flag.value is False)
        return p
    if name in ("detach", "clone", "data", "to", "cuda", "float"):
        return p if name not in ("detach",) else p
    if name in ("assign",):  # tf.Variable.assign
        init_from_tensor(p, args[0] if args else UNKNOWN, node, ctx)
        return p
    if name in ("mul_", "div_", "add_", "sub_", "clamp_", "masked_fill_", "index_fill_", "scatter_", "exp_", "log_"):
        n = const_number(args[0]) if args else None
        if name in ("mul_", "div_") and n is not None and p.init.kind == "random" and p.init.std is not None:
            factor = n if name == "mul_" else 1 / n if n else None
            if factor is not None:
                p.set_init(InitEvent("random", node, p.init.description + " scaled", distribution=p.init.distribution, std=p.init.std * abs(factor)))
                return p
        if name == "mul_" and n == 0:
            p.set_init(InitEvent("zero", node, "`mul_(0)`"))
            return p
        if p.init.kind in ("zero", "const") and name in ("mul_", "div_") and n is not None:
            if p.init.kind == "const" and p.init.value is not None:
                value = p.init.value * n if name == "mul_" else p.init.value / n if n else None
                p.set_init(InitEvent("const", node, p.init.description, value=value))
            return p
        p.set_init(InitEvent("unknown", node, f"`{name}`"))
        return p
    return tensor_op(interp, name, param_tensor(p), args, kwargs, node, ctx, "torch", is_method=True)


def object_method(interp: "Interpreter", obj: Obj, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: "Ctx") -> Value:
    if name in ("add", "add_module", "append", "register_module"):
        child = args[-1] if args else kwargs.get("module", kwargs.get("layer", UNKNOWN))
        label = str(args[0].value) if name in ("add_module", "register_module") and args and isinstance(args[0], Const) else str(len(obj.children))
        if isinstance(child, Obj):
            obj.children.append((label, child))
            if not child.name:
                child.name = label
        elif isinstance(child, Param) and obj.kind.endswith("ParameterList"):
            obj.params[str(len(obj.params))] = child
        else:
            obj.config["incomplete"] = Const(True)
        return Const(None)
    if name == "extend":
        items = iterate(interp, args[0]) if args else None
        for item in items or []:
            if isinstance(item, Obj):
                obj.children.append((str(len(obj.children)), item))
        if items is None:
            obj.config["incomplete"] = Const(True)
        return Const(None)
    if name == "load_state_dict":
        interp.rec.weights_loaded(obj)
        return Const(None)
    if name == "apply" and args:
        fn = args[0]
        for module in obj.iter_modules()[::-1]:  # children first, like nn.Module.apply
            interp.call(fn, [module], {}, node, interp.current_env or interp.globals, ctx)
        return obj
    if name in ("modules", "children", "named_modules", "named_children"):
        mods = obj.iter_modules() if name.endswith("modules") else [c for _, c in obj.children]
        if name.startswith("named"):
            return Seq([Seq([Const(m.name), m], is_tuple=True) for m in mods], complete=not obj.config.get("incomplete"))
        return Seq(list(mods), complete=not obj.config.get("incomplete"))
    if name in ("parameters", "named_parameters"):
        pairs = _named_params(obj)
        if name == "parameters":
            return Seq([p for _, p in pairs], complete=not obj.config.get("incomplete"))
        return Seq([Seq([Const(n), p], is_tuple=True) for n, p in pairs], complete=not obj.config.get("incomplete"))
    if name in ("register_buffer", "register_parameter") and args and isinstance(args[0], Const):
        label = str(args[0].value)
        value = args[1] if len(args) > 1 else kwargs.get("tensor", kwargs.get("param", UNKNOWN))
        if name == "register_buffer":
            t = as_tensor(value)
            buf = new_param(label, "buffer", t.shape if t else None, event_from_value(value, node), obj, node, trainable=False)
            obj.params[label] = buf
        elif isinstance(value, Param):
            obj.params[label] = value
            value.owner, value.name = (value.owner or obj), (value.name or label)
        else:
            obj.params.pop(label, None)
            obj.attrs[label] = Const(None)
        return Const(None)
    if name == "add_weight":
        # Keras `self.add_weight(shape=..., initializer=...)`, usually in build().
        label_value = kwargs.get("name", args[0] if args and isinstance(args[0], Const) else Const(""))
        shape = kwargs.get("shape", args[1] if len(args) > 1 else UNKNOWN)
        init_value = kwargs.get("initializer", args[3] if len(args) > 3 else Const("glorot_uniform"))
        event = keras_initializer(init_value, node) or InitEvent("random", node, "glorot_uniform", distribution="xavier")
        trainable = _truthy(kwargs.get("trainable", Const(True))) is not False
        return new_param(str(label_value.value) if isinstance(label_value, Const) else "", "raw", shape_of([shape]) if isinstance(shape, Seq) else None, event, None, node, trainable=trainable)
    if name == "reset_parameters" and obj.cls is None:
        return Const(None)
    if name == "requires_grad_":
        flag = args[0] if args else Const(True)
        for _, p in obj.all_params():
            p.trainable = not (isinstance(flag, Const) and flag.value is False)
        return obj
    if name in ("to", "cuda", "cpu", "train", "eval", "float", "double", "half", "type", "bfloat16"):
        return obj
    if name == "compile":
        interp.rec.keras_compile(obj, args, kwargs, node, ctx)
        return Const(None)
    if name in ("fit", "train_on_batch"):
        interp.rec.keras_fit(obj, args, kwargs, node, ctx)
        return Const(None)
    if name in ("forward", "call", "__call__", "predict"):
        return interp.call_object(obj, args, kwargs, node, ctx)
    if obj.cls is not None:
        found = lookup_attribute(interp, obj, name)
        if found is not None:
            return interp.call(found, args, kwargs, node, interp.current_env or interp.globals, ctx)
    taint_arguments(args, kwargs, node)
    return UNKNOWN


def _named_params(obj: Obj) -> list[tuple[str, Param]]:
    out: list[tuple[str, Param]] = []
    seen: set[int] = set()

    def walk(module: Obj, prefix: str, visited: set[int]) -> None:
        if module.uid in visited:
            return
        visited.add(module.uid)
        for n, p in module.params.items():
            if p.uid not in seen and p.role != "buffer":
                seen.add(p.uid)
                out.append((prefix + n, p))
        for n, child in module.children:
            walk(child, f"{prefix}{n}.", visited)

    walk(obj, "", set())
    return out
