"""PyTorch: `torch.nn` layer construction, `nn.init`, parameter methods,
torchvision transforms.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import libcst as cst

from initlint.facts.context import CallContext, Machine
from initlint.facts.python import init_param, iterate
from initlint.facts.tensors import argument, default_random, init_from_tensor, new_param, param_tensor, truthy
from initlint.facts.values import (
    INDEP,
    LIVE,
    UNKNOWN,
    UNKNOWN_STATE,
    ZERO,
    Const,
    Ext,
    Func,
    InitEvent,
    Mapping,
    Obj,
    Param,
    Seq,
    Tensor,
    Transform,
    Value,
    const_int,
    const_number,
)
from initlint.frameworks.ops import tensor_op
from initlint.frameworks.tables import (
    EMBEDDINGS,
    INIT_FUNCTIONS,
    LAZY_CONVS,
    NORM_LAYERS,
    RNN_LAYERS,
    TORCH_AFFINE,
    WELL_SCALED_INITS,
)


def apply_init(interp: Machine, fname: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
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
    if isinstance(target, Param):
        init_param(interp, target, event, ctx)
        return target
    event.conditional = ctx.conditional
    if isinstance(target, Tensor):
        call_arg = node.args[0].value if isinstance(node, cst.Call) and node.args else None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and fname.endswith("_") and not node.args:
            call_arg = node.func.value
        updated = Tensor(state=ZERO if event.kind == "zero" else INDEP if event.kind == "const" else LIVE if event.kind == "random" else UNKNOWN_STATE, key=("init", id(node)), creation=event, shape=target.shape, last_dim=target.last_dim)
        if call_arg is not None and event.kind != "unknown" and not ctx.conditional:
            interp.rebind(call_arg, updated)
        return updated
    return UNKNOWN


def _optional_param(obj: Obj, name: str, role: str, shape: Optional[tuple[Any, ...]], event: InitEvent, present: Optional[bool], node: Any) -> None:
    if present is False:
        return
    if present is None:
        event = InitEvent("unknown", node, "may be absent")
    obj.params[name] = new_param(name, role, shape, event, obj, node)


def construct(interp: Machine, obj: Obj, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> None:
    spec = TORCH_AFFINE.get(name)
    if spec is not None:
        ins = [const_int(argument(args, kwargs, i, key)) for i, key in enumerate(spec.inputs)]
        n_out = const_int(argument(args, kwargs, len(ins), spec.output))
        n_in = ins[0]
        obj.config.update(in_features=Const(n_in), out_features=Const(n_out), fan_in=Const(n_in))
        std = 1 / math.sqrt(3 * n_in) if n_in else None
        obj.params["weight"] = new_param("weight", "weight", (n_out, *ins), default_random(f"nn.{name} default ({spec.default})", std, "scaled"), obj, node)
        _optional_param(obj, "bias", "bias", (n_out,), default_random(f"nn.{name} default bias", std), truthy(argument(args, kwargs, len(ins) + 1, "bias", Const(True))), node)
    elif name == "LazyLinear":  # in_features is known only at the first call: the init's scale is unknown
        n_out = const_int(argument(args, kwargs, 0, "out_features"))
        obj.config.update(in_features=Const(None), out_features=Const(n_out), fan_in=Const(None))
        obj.params["weight"] = new_param("weight", "weight", (n_out, None), default_random("nn.Linear default (kaiming_uniform)", None, "scaled"), obj, node)
        _optional_param(obj, "bias", "bias", (n_out,), default_random("nn.Linear default bias", None), truthy(argument(args, kwargs, 1, "bias", Const(True))), node)
    elif name in LAZY_CONVS:  # in_channels is known only at the first call: the init's scale is unknown
        dims = int(name[-2])
        c_out = const_int(argument(args, kwargs, 0, "out_channels"))
        k = argument(args, kwargs, 1, "kernel_size")
        ks = [const_int(k)] * dims if const_int(k) is not None else ([const_int(v) for v in k.items] if isinstance(k, Seq) else [None] * dims)
        obj.config.update(in_features=Const(None), out_features=Const(c_out), fan_in=Const(None))
        obj.params["weight"] = new_param("weight", "weight", (c_out, None, *ks), default_random(f"nn.{name[4:]} default (kaiming_uniform)", None, "scaled"), obj, node)
        # (out_channels, kernel_size, stride, padding, dilation | output_padding, groups, bias)
        _optional_param(obj, "bias", "bias", (c_out,), default_random(f"nn.{name[4:]} default bias", None), truthy(argument(args, kwargs, 6, "bias", Const(True))), node)
    elif name in ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"):
        dims = int(name[-2])
        c_in = const_int(argument(args, kwargs, 0, "in_channels"))
        c_out = const_int(argument(args, kwargs, 1, "out_channels"))
        k = argument(args, kwargs, 2, "kernel_size")
        ks = [const_int(k)] * dims if const_int(k) is not None else ([const_int(v) for v in k.items] if isinstance(k, Seq) else [None] * dims)
        groups = const_int(argument(args, kwargs, 7 if "Transpose" in name else 6, "groups", Const(1))) or 1
        fan_in = c_in // groups * math.prod(ks) if c_in and all(ks) else None  # type: ignore[arg-type]
        init_fan = fan_in
        if "Transpose" in name:
            # What one output of a transposed conv sums over depends on the input's size and the
            # stride: at least in_channels (a 1x1 input, DCGAN's first layer), the fan-in that makes
            # an unscaled-init finding least likely. PyTorch's default init reads dim 1 of the
            # weight (out_channels) as its fan-in.
            init_fan = c_out // groups * math.prod(ks) if c_out and all(ks) else None  # type: ignore[arg-type]
            fan_in = c_in // groups if c_in else None
        obj.config.update(in_features=Const(c_in), out_features=Const(c_out), fan_in=Const(fan_in), groups=Const(groups))
        std = 1 / math.sqrt(3 * init_fan) if init_fan else None
        obj.params["weight"] = new_param("weight", "weight", (c_out, c_in, *ks), default_random(f"nn.{name} default (kaiming_uniform)", std, "scaled"), obj, node)
        bias_index = 7 if "Transpose" not in name else 8
        _optional_param(obj, "bias", "bias", (c_out,), default_random(f"nn.{name} default bias", std), truthy(argument(args, kwargs, bias_index, "bias", Const(True))), node)
    elif name in EMBEDDINGS:
        num = const_int(argument(args, kwargs, 0, "num_embeddings"))
        dim = const_int(argument(args, kwargs, 1, "embedding_dim"))
        obj.config.update(num_embeddings=Const(num), embedding_dim=Const(dim), padding_idx=argument(args, kwargs, 2, "padding_idx", Const(None)))
        obj.params["weight"] = new_param("weight", "embedding", (num, dim), default_random("nn.Embedding default (normal, std 1)", 1.0, "normal"), obj, node)
    elif name in NORM_LAYERS:
        affine_key = "elementwise_affine" if name in ("LayerNorm", "RMSNorm") else "affine"
        affine_default = Const(False) if name.startswith("InstanceNorm") else Const(True)
        affine_index = {"LayerNorm": 2, "RMSNorm": 2, "GroupNorm": 3}.get(name, 3 if not name.startswith("InstanceNorm") else 3)
        affine = truthy(argument(args, kwargs, affine_index, affine_key, affine_default))
        size = const_int(argument(args, kwargs, 1 if name == "GroupNorm" else 0, "num_channels" if name == "GroupNorm" else "num_features"))
        _optional_param(obj, "weight", "norm_weight", (size,), InitEvent("const", None, f"nn.{name} default weight (ones)", value=1.0), affine, node)
        if name != "RMSNorm":
            has_bias = affine if name != "LayerNorm" else (affine and truthy(kwargs.get("bias", Const(True))))
            _optional_param(obj, "bias", "norm_bias", (size,), InitEvent("zero", None, f"nn.{name} default bias (zeros)"), has_bias, node)
    elif name in ("Softmax", "LogSoftmax", "Softmin"):
        obj.config["dim"] = argument(args, kwargs, 0, "dim", Const(None))
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
        size = const_int(argument(args, kwargs, 1, "hidden_size"))
        obj.config.update(hidden_size=Const(size), input_size=argument(args, kwargs, 0, "input_size"))
        std = 1 / math.sqrt(size) if size else None
        obj.params["weight_ih_l0"] = new_param("weight_ih_l0", "weight", None, default_random(f"nn.{name} default", std), obj, node)
        obj.params["weight_hh_l0"] = new_param("weight_hh_l0", "weight", None, default_random(f"nn.{name} default", std), obj, node)
    elif name == "MultiheadAttention":
        obj.params["in_proj_weight"] = new_param("in_proj_weight", "weight", None, default_random("xavier_uniform", None, "scaled"), obj, node)


def transform_step(interp: Machine, name: str, args: list[Value], node: Any) -> Value:
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
    if name == "Lambda" and args and (isinstance(args[0], Func) and _only_reshapes(args[0].node)
                                      or isinstance(args[0], Ext) and args[0].qualname in ("torch.flatten", "torch.squeeze", "torch.ravel")):
        return Transform(("Reshape",), node)  # `Lambda(lambda x: x.view(-1))`: the range stays [0, 1]
    return Transform((name,), node)


# Tensor methods that move or copy values without changing them.
SHAPE_METHODS = frozenset({"view", "reshape", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "contiguous",
                           "repeat", "expand", "float", "view_as", "reshape_as"})


def _only_reshapes(fn: Any) -> bool:
    """A one-parameter lambda whose body only reshapes its argument (`lambda x: x.view(-1)`, `torch.flatten(x)`)."""
    if not isinstance(fn, cst.Lambda) or len(fn.params.params) != 1:
        return False
    name = fn.params.params[0].name.value
    expr: Any = fn.body
    while isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in SHAPE_METHODS:
        target = expr.func.value
        if isinstance(target, cst.Name) and target.value == "torch" and expr.args:
            expr = expr.args[0].value  # `torch.flatten(x)`
        else:
            expr = target
    return isinstance(expr, cst.Name) and expr.value == name


def _steps_from_itself(call: Any) -> bool:
    """`w.assign(w - lr * grad)`, `w.assign(w + step)`: the variable plus or minus a step."""
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.args):
        return False
    expr, receiver = call.args[0].value, call.func.value
    if not (isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Subtract, cst.Add))):
        return False
    return expr.left.deep_equals(receiver) or (isinstance(expr.operator, cst.Add) and expr.right.deep_equals(receiver))


def param_method(interp: Machine, p: Param, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
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
        return p
    if name in ("assign_sub", "assign_add"):  # a training update (`w.assign_sub(lr * g)`), not an init
        return p
    if name in ("assign",):  # tf.Variable.assign
        if _steps_from_itself(node):  # `w.assign(w - lr * grad)`: a training update, not an init
            return p
        init_from_tensor(p, args[0] if args else UNKNOWN, node, ctx)  # `w.assign(w * 0.03)` rescales it
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
