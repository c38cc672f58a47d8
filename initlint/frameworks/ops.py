"""Tensor functions and methods shared by torch, tf, numpy and keras.ops
(`torch.cat`, `x.view`, `tf.reduce_sum`, `F.relu`, ...).
"""

from __future__ import annotations

import math
from typing import Any

from initlint.facts.context import CallContext, Machine
from initlint.facts.python import binary, iterate
from initlint.facts.tensors import (
    CONV_TF,
    CONV_TORCH,
    IN_OUT,
    OUT_IN,
    _last,
    _longest_chain,
    activation,
    add,
    argument,
    as_tensor,
    broadcast_dim,
    event_from_value,
    literal_shape,
    matmul,
    merge_params,
    merge_sites,
    product,
    scale,
    shape_of,
    shift,
    truthy,
)
from initlint.facts.values import (
    INDEP,
    LIVE,
    SIGMOID_COMPLEMENT,
    UNKNOWN,
    UNKNOWN_STATE,
    ZERO,
    ChunkedTensor,
    Const,
    InitEvent,
    Loss,
    OutputActivation,
    Param,
    Seq,
    Tensor,
    Value,
    const_number,
)
from initlint.frameworks.tables import ACT_NAMES, framework_of

MATMUL_OPS = {"matmul", "mm", "bmm", "einsum", "dot", "inner", "tensordot", "baddbmm", "addmm", "linear", "bilinear", "conv1d", "conv2d", "conv3d", "outer", "ger", "mv", "matvec"}


MUL_OPS = {"mul", "multiply", "mul_"}


SQUARE_OPS = {"square"}


DISTANCE_OPS = {"norm", "cdist", "dist", "cosine_similarity", "vector_norm"}


SHAPE_OPS = {
    "view", "reshape", "squeeze", "unsqueeze", "flatten", "transpose", "permute", "contiguous", "clone",
    "expand", "expand_as", "repeat", "t", "T", "mT", "float", "double", "half", "to", "cuda", "cpu", "type_as",
    "detach", "view_as", "squeeze_", "unsqueeze_", "expand_dims", "movedim", "swapaxes", "tile",
}


DATASET_OPS = {"cache", "shuffle", "batch", "prefetch", "repeat"}


REDUCE_OPS = {"sum", "mean", "reduce_sum", "reduce_mean", "amax", "max", "min", "amin", "logsumexp", "prod", "nansum", "nanmean"}


PASS_OPS = {"dropout", "dropout1d", "dropout2d", "identity", "pad", "interpolate", "avg_pool2d", "max_pool2d", "adaptive_avg_pool2d", "adaptive_avg_pool1d", "avg_pool1d", "max_pool1d", "roll", "flip", "gather", "index_select", "masked_fill", "where", "narrow", "select", "unfold", "fold", "pixel_shuffle", "upsample", "scaled_dot_product_attention", "layer_norm", "group_norm", "batch_norm", "normalize", "rms_norm"}

NORMALIZING_OPS = {"layer_norm", "group_norm", "batch_norm", "normalize", "rms_norm"}

_TENSOR_CREATORS_ZERO = {"zeros", "zeros_like", "new_zeros"}


_TENSOR_CREATORS_ONE = {"ones", "ones_like", "new_ones"}


_TENSOR_CREATORS_RANDOM = {"randn": ("normal", 1.0), "randn_like": ("normal", 1.0), "rand": ("uniform01", 1 / math.sqrt(12)), "rand_like": ("uniform01", 1 / math.sqrt(12)), "normal": ("normal", None), "random_normal": ("normal", None), "truncated_normal": ("normal", None), "random_uniform": ("uniform", None), "uniform": ("uniform", None), "standard_normal": ("normal", 1.0), "randint": ("int", None)}


def _dim_arg(args: list[Value], kwargs: dict[str, Value], index: int = 1) -> Value:
    for key in ("dim", "axis"):
        if key in kwargs:
            return kwargs[key]
    return args[index] if len(args) > index else Const(None)


def tensor_function(interp: Machine, qual: str, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
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
        value = const_number(argument(args, kwargs, 1, "fill_value"))
        kind = "unknown" if value is None else "zero" if value == 0 else "const"
        return Tensor(state=ZERO if kind == "zero" else INDEP if kind == "const" else UNKNOWN_STATE, key=("const", value), creation=InitEvent(kind, node, f"`{name}`", value=value), shape=shape_of(size_args))
    if name in ("empty", "empty_like", "Tensor", "FloatTensor"):
        return Tensor(state=UNKNOWN_STATE, creation=InitEvent("unknown", node, f"`{name}` (uninitialised)"), shape=shape_of(args))
    if name in _TENSOR_CREATORS_RANDOM and (fw in ("torch", "np") or qual.startswith(("tf.random.", "np.random.", "tf.random_")) or qual == "tf.truncated_normal"):
        dist, std = _TENSOR_CREATORS_RANDOM[name]
        if name in ("normal", "random_normal", "truncated_normal"):
            std = const_number(kwargs.get("std", kwargs.get("stddev", kwargs.get("scale", args[1] if len(args) > 1 and fw != "tf" else Const(1.0)))))
        shape = shape_of(args) if name in ("randn", "rand", "standard_normal") else shape_of([args[0]]) if args and fw == "tf" else None
        mean = 0.5 if dist == "uniform01" else 0.0
        if name == "uniform" and qual.startswith("np.random."):
            # `np.random.uniform(low, high, size)`: mean (low + high) / 2, std (high - low) / sqrt(12).
            low = const_number(argument(args, kwargs, 0, "low", Const(0.0)))
            high = const_number(argument(args, kwargs, 1, "high", Const(1.0)))
            size = argument(args, kwargs, 2, "size", Const(None))
            shape = shape_of([size]) if not isinstance(size, Const) or size.value is not None else None
            if low is not None and high is not None:
                mean, std = (low + high) / 2, abs(high - low) / math.sqrt(12)
        elif fw == "tf" and name in ("random_uniform", "uniform"):
            # `tf.random.uniform(shape, minval=0, maxval=None)`: U(0, 1) for floats unless told otherwise.
            low = const_number(argument(args, kwargs, 1, "minval", Const(0.0)))
            high_value = argument(args, kwargs, 2, "maxval", Const(None))
            high = 1.0 if isinstance(high_value, Const) and high_value.value is None else const_number(high_value)
            if low is not None and high is not None:
                dist, mean, std = "uniform", (low + high) / 2, abs(high - low) / math.sqrt(12)
        return Tensor(state=LIVE, creation=InitEvent("random", node, f"`{name}`", distribution=dist, std=std, value=mean), shape=shape, last_dim=_last(shape))
    if name in ("tensor", "as_tensor", "from_numpy", "array", "asarray", "constant", "convert_to_tensor", "FloatTensor", "LongTensor"):
        data = args[0] if args else UNKNOWN
        if isinstance(data, (Tensor, Param)):
            return as_tensor(data) or Tensor()
        event = event_from_value(data, node)
        state = ZERO if event.kind == "zero" else INDEP if event.kind in ("const", "random") else UNKNOWN_STATE
        return Tensor(state=state, key=("literal", id(node)), creation=event, shape=literal_shape(data) if isinstance(data, Seq) else None)
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
            return table.replaced(last_dim=table.last_dim, zero_layer=None)
        return Tensor(state=LIVE, params=table.params, last_dim=table.last_dim)
    # Activations.
    act = ACT_NAMES.get(name) if not (name == "linear" and fw == "torch") else None  # F.linear is a layer, not Keras' identity
    if act is not None and (qual.startswith(("torch.nn.functional.", "tf.nn.", "tf.math.", "keras.activations.", "keras.ops.")) or qual in ("torch." + name, "tf." + name)):
        x = first or Tensor()
        return activation(interp, act, x, node, ctx, dim=_dim_arg(args, kwargs))
    if qual == "keras.backend.sigmoid":  # Keras 2 only (Keras 3 has no backend.sigmoid): caches its logits
        return activation(interp, "sigmoid", first or Tensor(), node, ctx, caches_logits=True)
    return tensor_op(interp, name, first or Tensor(), args, kwargs, node, ctx, fw)


def tensor_op(interp: Machine, name: str, x: Tensor, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext, fw: str, is_method: bool = False) -> Value:
    """A function or method on a tensor `x` (args exclude x for methods)."""
    others = args if is_method else args[1:]
    other_tensors: list[Tensor] = [t for t in (as_tensor(a) for a in others if not isinstance(a, Const)) if t is not None]
    if name in ("matmul", "mm", "bmm", "dot", "inner", "mv", "outer", "tensordot", "matvec") and other_tensors:
        transposed = truthy(kwargs.get("transpose_b", kwargs.get("adjoint_b", Const(False))))
        layout = IN_OUT if name in ("matmul", "mm", "bmm", "dot") else OUT_IN if name == "inner" else None
        if transposed is not False:
            layout = OUT_IN if transposed and layout == IN_OUT else None
        if truthy(kwargs.get("transpose_a", kwargs.get("adjoint_a", Const(False)))) is not False:
            layout = None  # the input is transposed: its last axis is not what the weight sums over
        return matmul(interp, x, other_tensors[0], others[0] if others else UNKNOWN, node, ctx, layout)
    if name in ("linear", "conv1d", "conv2d", "conv3d") and other_tensors and others and not isinstance(others[0], Const):
        # F.linear(x, W, b), F.conv2d(x, W, b), tf.nn.conv2d(x, W, strides, padding)
        layout = OUT_IN if name == "linear" else CONV_TF if fw == "tf" else CONV_TORCH
        out = matmul(interp, x, other_tensors[0], others[0], node, ctx, layout)
        bias = argument(others, kwargs, 1, "bias", Const(None)) if fw == "torch" else Const(None)
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
            return factors[0].replaced(last_dim=None, squash=None)  # a permutation, not a product
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
        return x.replaced(squash=None)
    if name in DISTANCE_OPS:
        if name in ("norm", "vector_norm"):
            if not x.difference:
                # A norm used to normalise (`x / x.norm()`) is not a distance: the
                # numerator still carries the gradient.
                return x.replaced(squash=None, last_dim=None, difference=False)
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
            return Tensor(state=INDEP, key=("cat",) + tuple(t.key for t in pieces), params=params)
        # Outputs of one kind of squash joined (`torch.cat((D(real), D(fake)))` into a BCELoss) are
        # still that squash's output; outputs of one imported model, still that model's.
        first = pieces[0]
        same_squash = first.squash is not None and all(t.squash is not None and t.squash.kind == first.squash.kind for t in pieces)
        squash = first.squash if same_squash else None
        ext_output = first.ext_output if all(t.ext_output == first.ext_output for t in pieces) else None
        if any(t.state == UNKNOWN_STATE for t in pieces):
            return Tensor(params=params, squash=squash, ext_output=ext_output)
        return Tensor(state=LIVE, params=params, chain=_longest_chain(pieces), squash=squash, ext_output=ext_output)
    if name in ("chunk", "split", "unbind", "tensor_split"):
        return ChunkedTensor(x.replaced(last_dim=None))
    if name == "astype" or name in DATASET_OPS and x.origin is not None and not x.params:
        return x  # a dtype cast, or a tf.data step that keeps the data
    if name in SHAPE_OPS or name in ("squeeze", "unsqueeze"):
        last_dim = x.last_dim if name in ("unsqueeze", "float", "to", "cuda", "cpu", "detach", "contiguous", "clone", "double", "half", "type_as") else None
        if name == "detach":
            return x.replaced(params=frozenset(), last_dim=last_dim)
        return x.replaced(last_dim=last_dim)
    if name in REDUCE_OPS:
        return x.replaced(squash=None, last_dim=None, origin=None, zero_layer=None)
    if name in PASS_OPS:
        # A normalization keeps the value's shape and liveness, not the data's range.
        origin = None if name in NORMALIZING_OPS else x.origin
        unit_norm = name == "normalize" or (x.unit_norm and name in ("dropout", "identity"))
        return x.replaced(squash=None if name not in ("dropout", "identity") else x.squash, zero_layer=x.zero_layer if name in ("dropout", "identity") else None, origin=origin, unit_norm=unit_norm)
    if name in ("clamp", "clip", "maximum", "minimum", "abs", "exp", "log", "sqrt", "rsqrt", "neg", "sign", "round", "floor", "ceil", "reciprocal", "log1p", "expm1", "sin", "cos", "erf", "clip_by_value", "where"):
        complement = x.squash if x.squash is not None and x.squash.kind == SIGMOID_COMPLEMENT else None
        if name == "log" and complement is not None and not ctx.no_grad and any(c.kind == "weight" for c in x.chain):
            # `log(1 - sigmoid(z))` on a model's output: a hand-written binary cross-entropy on its
            # sigmoid. (A loss that takes logits and applies the sigmoid itself, as the asymmetric
            # loss does with its probability clip, chose probability space on purpose.)
            sigmoid_output = x.replaced(squash=OutputActivation("sigmoid", complement.node))
            interp.facts.loss(Loss("bce", node, framework=fw), node, sigmoid_output, Tensor(), ctx)
        # A clip keeps a sigmoid a sigmoid: `clip(sigmoid(z), eps, 1 - eps)` is flat, gradient 0, at saturation.
        sigmoid = x.squash if x.squash is not None and x.squash.kind == "sigmoid" else complement
        kept = sigmoid if name in ("clamp", "clip", "clip_by_value", "maximum") else None
        if x.state == LIVE:
            return x.replaced(squash=kept, zero_layer=None, creation=None, origin=None)
        return Tensor(params=x.params | merge_params(*other_tensors), last_dim=x.last_dim, squash=kept, chain=x.chain if kept else ())
    act = ACT_NAMES.get(name)
    if act is not None:
        return activation(interp, act, x, node, ctx, dim=_dim_arg([x] + list(others), kwargs))
    return Tensor(params=x.params | merge_params(*other_tensors))
