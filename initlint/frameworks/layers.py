"""Applying a built layer or model to an input, and the methods of module / model
objects (`apply`, `parameters`, `compile`, `add_weight`, ...).
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from initlint.facts.context import CallContext, Machine
from initlint.facts.python import iterate, lookup_attribute, taint_arguments
from initlint.facts.tensors import (
    activation,
    as_tensor,
    event_from_value,
    merge_params,
    merge_sites,
    new_param,
    param_tensor,
    product,
    shape_of,
    truthy,
)
from initlint.facts.values import (
    CHAIN_LIMIT,
    INDEP,
    LIVE,
    UNKNOWN,
    UNKNOWN_STATE,
    ZERO,
    ChainItem,
    Const,
    Ext,
    Func,
    InitEvent,
    Mapping,
    Obj,
    Param,
    Seq,
    Tensor,
    Value,
    const_int,
)
from initlint.frameworks.keras import keras_initializer, known_tail, layer_activation, output_tensor, single_loss
from initlint.frameworks.tables import (
    ACT_NAMES,
    CONTAINERS,
    EMBEDDINGS,
    LAUNCHER_SETUP,
    NORM_LAYERS,
    PASS_LAYERS,
    POOL_LAYERS,
    RNN_LAYERS,
    WEIGHT_LAYERS,
    last,
)


def apply_layer(interp: Machine, obj: Obj, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
    if obj.kind.startswith("ext:"):
        return Tensor(ext_output=obj.kind[4:])
    kind = last(obj.kind)
    x_value = args[0] if args else kwargs.get("input", kwargs.get("inputs", UNKNOWN))
    if kind in CONTAINERS and kind == "Sequential" or obj.kind == "keras.Sequential":
        value: Value = x_value
        children = obj.children
        if obj.config.get("incomplete"):
            tail = known_tail(obj)
            if not tail:
                return Tensor()
            value, children = Tensor(), tail  # what the unknown layers give is unknown
        for _, child in children:
            value = Tensor() if child.config.get("uncertain") else interp.call_object(child, [value], {}, child.site or node, ctx)
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
                return x.replaced(params=all_params, chain=x.chain + (item,), squash=None)
            return Tensor(state=INDEP, key=("param", bias.uid), params=all_params, chain=x.chain + (item,))
        return x.replaced(params=all_params, chain=x.chain + (item,), squash=None, zero_layer=None, origin=None)
    act = layer_activation(obj) if kind in ACT_NAMES or kind == "Activation" else None
    if act is not None or kind == "Activation":
        if act is None or act == "unknown":
            return x if act is None else Tensor(params=x.params)
        return activation(interp, act, x, site, ctx, dim=obj.config.get("dim"), layer=obj)
    if kind in PASS_LAYERS:
        return x
    if kind in POOL_LAYERS:
        return x.replaced(squash=None, last_dim=None)
    if kind in RNN_LAYERS or kind == "MultiheadAttention":
        rnn_params = merge_params(x, *[param_tensor(p) for p in obj.params.values()])
        return Tensor(state=LIVE if x.state == LIVE else UNKNOWN_STATE, params=rnn_params)
    return Tensor(params=x.params)


def weight_layer(interp: Machine, obj: Obj, x: Tensor, node: Any, ctx: CallContext) -> Tensor:
    """Linear / Conv / Dense: `x W + b`, a product of the input and the weight."""
    site = obj.site if obj.site is not None else node
    w = obj.params.get("weight") or obj.params.get("kernel")
    b = obj.params.get("bias")
    out_dim = const_int(obj.config.get("out_features", UNKNOWN))
    if w is None:
        return Tensor(params=x.params, last_dim=out_dim)
    wt = param_tensor(w)
    if x.zero_layer is not None and not ctx.no_grad:
        interp.facts.zero_feed(x.zero_layer, node, ctx)
    out = product(interp, "layer", [x, wt], node, ctx, last_dim=out_dim)
    interp.facts.layer_call(obj, w, x, node, ctx)
    item = ChainItem("weight", site, ctx.anchor or site, obj)
    chain = (x.chain + (item,))[-CHAIN_LIMIT:]
    if b is not None:
        bt = param_tensor(b)
        if out.state == ZERO:
            if bt.state == ZERO:
                out = out.replaced(params=out.params | bt.params, zero_sites=merge_sites(out, bt))
            elif bt.state == INDEP:
                out = Tensor(state=INDEP, key=("param", b.uid), params=out.params | bt.params, last_dim=out_dim)
            else:
                out = Tensor(params=out.params | bt.params, last_dim=out_dim)
        elif out.state == INDEP:
            out = out.replaced(key=("affine", out.key, b.uid), params=out.params | bt.params)
        else:
            out = out.replaced(params=out.params | bt.params)
    elif out.state == ZERO:
        # No bias: the layer's output is zero; the site of `bias=False` explains it.
        out = out.replaced(zero_sites=merge_sites(out))
    zero_layer = w if w.is_zero and out.state == ZERO and (out_dim is None or out_dim != 1) else None
    out = out.replaced(chain=chain, zero_layer=zero_layer, squash=None, origin=None)
    act = layer_activation(obj)
    if act == "unknown":
        return Tensor(params=out.params, last_dim=out_dim, chain=chain)
    if act is not None:
        return activation(interp, act, out, site, ctx, dim=Const(-1), layer=obj)
    return out


# `nn.Module` methods that change where or how a module runs and return the module itself
# (`Net().to(device)`, `nn.BCELoss().cuda()`).
MOVES_MODULE = frozenset({"to", "cuda", "cpu", "train", "eval", "float", "double", "half", "type", "bfloat16"})


def object_method(interp: Machine, obj: Obj, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
    if obj.kind.startswith("ext:") and name in LAUNCHER_SETUP.get(last(obj.kind), ()) and args and not kwargs:
        # `model, opt = fabric.setup(model, opt)`: the same objects back, one alone unwrapped.
        return args[0] if len(args) == 1 else Seq(list(args), is_tuple=True)
    if name in ("add", "add_module", "append", "register_module"):
        child = args[-1] if args else kwargs.get("module", kwargs.get("layer", UNKNOWN))
        label = str(args[0].value) if name in ("add_module", "register_module") and args and isinstance(args[0], Const) else str(len(obj.children))
        if isinstance(child, Obj):
            obj.children.append((label, child))
            if not child.name:
                child.name = label
            if obj.kind == "keras.Sequential" and ctx.branches > (const_int(obj.config.get("branches", Const(0))) or 0):
                # Added in a loop over an unknown count or under an unknown condition: it
                # may be there zero times or many, so it ends any known stack (keras.py).
                child.config["uncertain"] = Const(True)
        elif isinstance(child, Param) and obj.kind.endswith("ParameterList"):
            obj.params[str(len(obj.params))] = child
        else:
            # Unknown layers (`for layer in base.layers: model.add(layer)`): the layers added
            # after them are still known, and they end the model.
            obj.config["incomplete"] = Const(True)
            obj.config["tail"] = Const(len(obj.children))
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
        interp.facts.weights_loaded(obj)
        return Const(None)
    if name == "state_dict" and obj.kind.startswith(("torch.", "user:")) and not obj.config.get("incomplete"):
        # The parameters by dotted name: the IBM course's `model.state_dict()['hidden.0.weight'][:] = 1.0`.
        return Mapping(dict(_named_params(obj)), complete=False)
    if name == "apply" and args:
        fn = args[0]
        if isinstance(fn, Ext):
            fn = interp.imported_function(fn) or fn  # `from .nn import init_weights`
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
        trainable = truthy(kwargs.get("trainable", Const(True))) is not False
        return new_param(str(label_value.value) if isinstance(label_value, Const) else "", "raw", shape_of([shape]) if isinstance(shape, Seq) else None, event, None, node, trainable=trainable)
    if name == "reset_parameters" and obj.cls is None:
        return Const(None)
    if name == "requires_grad_":
        flag = args[0] if args else Const(True)
        for _, p in obj.all_params():
            p.trainable = not (isinstance(flag, Const) and flag.value is False)
        return obj
    if name in MOVES_MODULE:
        return obj
    if name == "add_loss" and (args or "losses" in kwargs):
        term = args[0] if args else kwargs["losses"]
        if isinstance(term, Func):  # Keras calls a zero-argument callable each step
            term = interp.call(term, [], {}, node, interp.current_env or interp.globals, ctx)
        t = as_tensor(term)
        if t is not None and not t.chain:  # computed from the weights, not through the layers
            interp.facts.direct_gradient(t.params)
        return Const(None)
    if name == "compile":
        if "loss" in kwargs:
            kwargs = {**kwargs, "loss": single_loss(kwargs["loss"])}
        elif len(args) > 1:
            args = [args[0], single_loss(args[1]), *args[2:]]
        interp.facts.keras_compile(obj, args, kwargs, node, ctx)
        loss = kwargs.get("loss", args[1] if len(args) > 1 else None)
        prediction = output_tensor(obj) if isinstance(loss, Func) and isinstance(loss.node, cst.FunctionDef) else None
        if loss is not None and prediction is not None:
            # `compile(loss=my_loss)`: Keras calls it with (y_true, y_pred); the losses it applies
            # inside receive the model's output.
            interp.call(loss, [Tensor(), prediction], {}, node, interp.current_env or interp.globals, ctx)
        return Const(None)
    if name in ("fit", "train_on_batch"):
        interp.facts.keras_fit(obj, args, kwargs, node, ctx)
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
