"""Dispatch: which framework module gives an imported name its meaning.

Names arrive canonical (names.canonical): `torch.*`, `keras.*`, `tf.*`, `np.*`.
A construction of a framework this analysis does not know is left unknown.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Optional

import libcst as cst

from initlint.exports import ARGUMENT_PREFIX
from initlint.facts import python
from initlint.facts.context import CallContext, Machine
from initlint.facts.names import canonical, strip_tf1
from initlint.facts.python import container_method, taint_arguments
from initlint.facts.tensors import as_tensor, event_from_value, new_param, product, truthy
from initlint.facts.values import (
    UNKNOWN,
    BoundMethod,
    Builtin,
    ClassInfo,
    Const,
    Ext,
    Func,
    Initializer,
    Loss,
    Mapping,
    Obj,
    Param,
    Partial,
    Seq,
    Tensor,
    Value,
    const_number,
)
from initlint.frameworks import argparse_values, keras, torch
from initlint.frameworks.keras import keras_initializer_call, keras_input, tf1_always, tf1_never
from initlint.frameworks.layers import MOVES_MODULE, object_method, weight_layer
from initlint.frameworks.losses import apply_loss, make_loss
from initlint.frameworks.ops import tensor_function, tensor_op
from initlint.frameworks.tables import (
    DATASETS_SPLIT_SECOND,
    DATASETS_TRAIN_SECOND,
    HELD_OUT_SPLITS,
    INIT_FUNCTIONS,
    KERAS_ALIASES,
    OTHER_FRAMEWORKS,
    TORCH_MODEL_WRAPPERS,
    framework_of,
    last,
)
from initlint.frameworks.tensorflow import TF_ROOTS, make_variable, note_tf_generation, tf1_defaults
from initlint.frameworks.torch import apply_init, param_method, transform_step


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
            # `class M(d2l.Module)`, `class M(pl.LightningModule)`: torch by name, unless the
            # name comes from another framework (`flax.linen.Module`).
            if last(base.qualname) in ("Module", "LightningModule") and fw not in OTHER_FRAMEWORKS:
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


def super_method(interp: Machine, ctx: CallContext, name: str) -> Value:
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


# The module that builds each framework's layers, by the first part of a canonical name
# (`tf.layers.dense` is built as `keras.layers.Dense`, see call_ext).
CONSTRUCTORS: dict[str, Callable[..., None]] = {"torch": torch.construct, "keras": keras.construct}


def construct_into(interp: Machine, obj: Obj, qual: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Obj:
    """Fill `obj` as the framework layer `qual` built with these arguments; a framework
    without a constructor here leaves it an opaque object (no parameters known)."""
    obj.kind = qual
    construct = CONSTRUCTORS.get(framework_of(qual))
    if construct is not None:
        construct(interp, obj, last(qual), args, kwargs, node, ctx)
    return obj


def call_ext(
    interp: Machine, qual: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext, site: Any = None
) -> Value:
    """A call of an imported name; `site` is where the name was written when that is not this call
    (a loss function bound to a name or handed to a trainer)."""
    qual, tf1 = strip_tf1(qual)  # `tf.compat.v1.X` means `tf.X`, with TF1's defaults
    name = last(qual)
    fw = framework_of(qual)
    if qual == argparse_values.PARSER:
        return argparse_values.make_parser(kwargs)
    if fw in ("tf", "keras") and (name.endswith("_regularizer") or ".regularizers." in qual):
        # `regularizer = tf.contrib.layers.l2_regularizer(0.02)`: applied to a weight, it only reads it
        # (a penalty term), unlike an unknown function, which may have set the weight.
        return Builtin("__noop__")
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
    if qual == "einops.einsum" and len(args) >= 3 and isinstance(args[-1], Const):
        # einops takes the operands first and the pattern last: a product of the operands.
        factors = [t for t in (as_tensor(a) for a in args[:-1]) if t is not None]
        return product(interp, "einsum", factors, node, ctx) if len(factors) == len(args) - 1 else Tensor()
    if qual in TORCH_MODEL_WRAPPERS and args and isinstance(args[0], Obj):
        return args[0]
    if qual == "torch.nn.parallel.data_parallel" and args and isinstance(args[0], Obj):
        return interp.call_object(args[0], args[1:2], {}, node, ctx)  # module(input), replicated
    if qual.startswith("torchvision.transforms"):
        return transform_step(interp, name, args, node)
    if qual.startswith("torchvision.datasets") and name[:1].isupper():
        # `train` is the second positional argument of the MNIST and CIFAR families, `split` of SVHN's.
        train = kwargs.get("train", args[1] if len(args) > 1 and name in DATASETS_TRAIN_SECOND else None)
        split = kwargs.get("split", args[1] if len(args) > 1 and name in DATASETS_SPLIT_SECOND else None)
        held_out = isinstance(train, Const) and train.value is False or isinstance(split, Const) and split.value in HELD_OUT_SPLITS
        if name != "FakeData":  # random images for smoke tests: no one trains a model on their range
            interp.facts.dataset(node, kwargs.get("transform", Const(None) if "**" not in kwargs else UNKNOWN), ctx, held_out)
        return UNKNOWN
    if qual == "sklearn.model_selection.train_test_split" and args and "**" not in kwargs:
        # (a_train, a_test, b_train, b_test, ...): each split holds the values of its array.
        return Seq([array for array in args for _ in range(2)], is_tuple=False)
    if fw not in ("torch", "keras", "tf", "np"):
        if name in INIT_FUNCTIONS:
            return apply_init(interp, name, args, kwargs, node, ctx)
        taint_arguments(args, kwargs, node)
        if name[:1].isupper() and fw not in ("math", "collections", "typing", "functools", "dataclasses", "enum", "pathlib"):
            # An instance of a class imported from another module (maybe a model of this
            # project): calling it yields a tensor the project index can link (facts/project.py).
            note_model_arguments(interp, qual, args, kwargs, node)
            return imported_instance(qual, node)
        return UNKNOWN
    if fw == "keras" and ".optimizers." in qual and name[:1].isupper():
        return Ext(qual)  # an optimizer instance, known by its class (IL403 reads `compile(optimizer=...)`)
    # Initializers.
    if qual.startswith("torch.nn.init.") or (fw == "torch" and name in INIT_FUNCTIONS):
        return apply_init(interp, name, args, kwargs, node, ctx)
    if fw in ("keras", "tf") and (".initializers." in qual or name.endswith("_initializer") or qual.startswith("keras.initializers")):
        legacy: Callable[[], Optional[bool]] = tf1_never if fw == "keras" else tf1_always if tf1 else lambda: tf1_defaults(interp)
        return Initializer(keras_initializer_call(name, args, kwargs, node, legacy))
    if fw == "keras" and ".datasets." in qual and name == "load_data":
        return keras.load_data(qual, node)
    # Losses.
    loss = make_loss(qual, args, kwargs, node if site is None or name[:1].isupper() else site)
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
        if name == "Input":
            return keras_input(args, kwargs)
        alias = KERAS_ALIASES.get(name)
        canonical_kind = "keras." + name if name in ("Sequential", "Model") else qual if alias is None else qual[: -len(name)] + alias
        obj = construct_into(interp, Obj(kind=canonical_kind, site=node), canonical_kind, args, kwargs, node, ctx)
        if name == "Sequential":
            obj.config["branches"] = Const(ctx.branches)  # a layer added in more branches may be missing
            if ctx.root_kind != "class":
                # Built in a function or method, compiled there or not: run like a module-level model.
                interp.built_models.append(obj)
        return obj
    if fw == "keras" and name == "Input":
        return keras_input(args, kwargs)
    if fw == "tf" and qual.startswith("tf.layers.") and name in ("dense", "conv2d", "conv1d"):
        obj = construct_into(interp, Obj(kind="keras.layers.Dense", site=node), "keras.layers.Dense", args[1:], kwargs, node, ctx)
        label = kwargs.get("name")
        obj.name = str(label.value) if isinstance(label, Const) else name
        return weight_layer(interp, obj, as_tensor(args[0] if args else kwargs.get("inputs", UNKNOWN)) or Tensor(), node, ctx)
    result = tensor_function(interp, qual, name, args, kwargs, node, ctx)
    if isinstance(result, Tensor) and fw == "torch" and truthy(kwargs.get("requires_grad", Const(False))):
        # `torch.zeros(10, 4, requires_grad=True)`: a plain tensor the optimizer trains.
        return new_param("", "raw", result.shape, event_from_value(result, node), None, node)
    return result


def note_model_arguments(interp: Machine, qual: str, args: list[Value], kwargs: dict[str, Value], node: Any) -> None:
    """The models handed to an imported class's constructor (`NFQAgent(NFQNetwork(), opt)`): the
    class's own file may compute a loss on them (facts/project.py links the three files)."""
    given = [(i, None, v) for i, v in enumerate(args)] + [(None, k, v) for k, v in kwargs.items() if k != "**"]
    for position, keyword, value in given:
        if not isinstance(value, Obj):
            continue
        read = interp.imported_qualname(value.cls)
        if value.kind.startswith("ext:") and not value.kind.startswith("ext:" + ARGUMENT_PREFIX):
            model, local = value.kind[4:], False
        elif read is not None:
            model, local = read, False  # an imported class this file's analysis read
        elif isinstance(value.cls, ClassInfo) and value.cls.framework in ("torch", "keras") and interp.globals.vars.get(value.cls.name) is value.cls:
            model, local = value.cls.name, True
        else:
            continue
        interp.facts.model_argument(qual, position, keyword, model, local, node)


def imported_instance(qual: str, node: Any) -> Obj:
    """An opaque instance of an imported class; calling it gives `Tensor(ext_output=qual)`."""
    return Obj(kind="ext:" + qual, site=node, config={"incomplete": Const(True), "tainted": Const(True)})


def call_method(interp: Machine, target: Value, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
    """`target.name(...)` on a value that is not a user object's own method."""
    if isinstance(target, argparse_values.ArgParser):
        return argparse_values.parser_method(target, name, args, kwargs)
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
        return target if name in MOVES_MODULE else UNKNOWN
    return container_method(interp, target, name, args, kwargs)


def get_attribute(interp: Machine, owner: Value, name: str, node: Any, ctx: CallContext) -> Value:
    """`owner.name`: an attribute of an imported name (`nn.Linear`, `tf.placeholder`) is a
    longer imported name; any other owner follows Python's rules (python.get_attribute)."""
    if isinstance(owner, Ext):
        if name == "__name__":
            return Const(last(owner.qualname))
        if owner.qualname in TF_ROOTS:
            note_tf_generation(interp, owner.qualname, name)
        qual = f"{owner.qualname}.{name}"
        if interp.ext_attrs:
            stored = interp.ext_attrs.get(qual)
            if stored is not None:
                return stored
        # `tf.keras.X` is keras.X, `tf.compat.v2.X` is tf.X (names.canonical)
        return Ext(canonical(qual), site=node)
    if isinstance(owner, argparse_values.ArgParser):
        return BoundMethod(owner, name)
    if isinstance(owner, argparse_values.Namespace):
        return owner.attribute(name)
    return python.get_attribute(interp, owner, name, node, ctx)
