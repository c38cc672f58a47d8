"""Python semantics for the interpreter: builtins, attributes, subscripts,
comparisons, operators on constants, and str / list / dict methods.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any, Optional

import libcst as cst

from initlint.facts.context import CallContext, Machine
from initlint.facts.tensors import (
    add,
    as_tensor,
    broadcast_dim,
    init_from_tensor,
    is_number,
    join_tensors,
    matmul,
    param_tensor,
    product,
    scale,
    shift,
)
from initlint.facts.values import (
    INDEP,
    LIVE,
    SIGMOID_COMPLEMENT,
    UNKNOWN,
    UNKNOWN_STATE,
    ZERO,
    BoundMethod,
    Builtin,
    ChunkedTensor,
    ClassInfo,
    Const,
    Ext,
    Func,
    InitEvent,
    Loss,
    Mapping,
    Obj,
    OutputActivation,
    Param,
    Property,
    Seq,
    SliceValue,
    SuperRef,
    Tensor,
    ThisModule,
    Unknown,
    Value,
    const_int,
    const_number,
)
from initlint.frameworks.tables import BASE_GROUPS, framework_of, last


def taint_arguments(args: list[Value], kwargs: dict[str, Value], node: Any) -> None:
    """An unknown callee may change any parameter it receives: forget their init."""
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, Param):
            value.set_init(InitEvent("unknown", node, "passed to an unknown function"))
        elif isinstance(value, Obj):
            for _, p in value.all_params():
                p.set_init(InitEvent("unknown", node, "passed to an unknown function"))
            value.config["tainted"] = Const(True)


_BUILTIN_NAMES = {
    "range", "len", "zip", "enumerate", "isinstance", "hasattr", "getattr", "setattr", "list", "tuple", "dict",
    "int", "float", "min", "max", "sum", "print", "reversed", "sorted", "any", "all", "abs", "round", "iter",
    "next", "str", "bool", "type", "issubclass", "map", "filter", "set", "frozenset", "divmod", "pow", "callable",
    "super", "object", "staticmethod", "classmethod", "property", "vars",
}


def is_builtin(name: str) -> bool:
    """A name Python itself binds (`range`, `Exception`): a star import does not shadow it."""
    return name in _BUILTIN_NAMES or hasattr(builtins, name)


def builtin(name: str) -> Value:
    if name in _BUILTIN_NAMES:
        return Builtin(name)
    return UNKNOWN


def iterate(interp: Machine, value: Value) -> Optional[list[Value]]:
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
    if isinstance(value, ChunkedTensor):
        return value.piece  # `q, k, v = qkv.chunk(3)`
    return UNKNOWN


def call_builtin(interp: Machine, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
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
            if wanted in BASE_GROUPS:
                group = BASE_GROUPS[wanted]
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


def lookup_attribute(interp: Machine, owner: Value, name: str) -> Optional[Value]:
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
                return interp.call_function(found.func, [owner], {}, found.func.node, blank_context())
            if isinstance(found, Value):
                return found
        if name in owner.config:
            return owner.config[name]
        return None
    return None


def blank_context() -> CallContext:
    return CallContext()


_OBJ_METHODS = {
    "add", "add_module", "apply", "modules", "named_modules", "children", "named_children", "parameters",
    "named_parameters", "register_buffer", "register_parameter", "reset_parameters", "compile", "fit", "to", "cuda",
    "cpu", "train", "eval", "requires_grad_", "append", "extend", "insert", "zero_grad", "build", "summary",
    "float", "double", "half", "state_dict", "load_state_dict", "get_layer", "init_weights", "keys", "values", "items",
    "forward", "predict", "evaluate", "train_on_batch", "type", "bfloat16", "register_module", "_init_weights", "add_weight",
}


def get_attribute(interp: Machine, owner: Value, name: str, node: Any, ctx: CallContext) -> Value:
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
    if isinstance(owner, ThisModule):
        # Looked up when evaluated, as Python does: a global defined later is found once it exists.
        return interp.globals.vars.get(name, UNKNOWN)
    if isinstance(owner, Const) and isinstance(owner.value, str):
        return BoundMethod(owner, name)
    return UNKNOWN


def set_attribute(interp: Machine, owner: Value, name: str, value: Value, node: Any, ctx: CallContext) -> None:
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
            owner.attrs[name] = join(owner.attrs[name], value)
            return
        if name in owner.params and isinstance(value, Tensor):
            # `self.weight = ...` replacing a parameter by a tensor: forget what we knew.
            owner.params[name].set_init(InitEvent("unknown", node, "reassigned"))
            return
        owner.attrs[name] = value
        return
    if isinstance(owner, ThisModule):
        interp.globals.vars[name] = value
        return
    if isinstance(owner, Ext) and isinstance(value, Obj):
        # `tf.model = tf.keras.Sequential()`: an object stored on an imported module.
        interp.ext_attrs[f"{owner.qualname}.{name}"] = value
        return
    if isinstance(owner, Param):
        if name == "data":
            init_from_tensor(owner, value, node, ctx)
        elif name == "requires_grad":
            owner.trainable = not (isinstance(value, Const) and value.value is False)


def subscript_assign(interp: Machine, owner: Value, value: Value, target: Any, ctx: CallContext) -> None:
    if isinstance(owner, Tensor) and owner.state in (ZERO, INDEP):
        # `ret[i, j] = 1` on a local tensor: it is no longer all zeros.
        interp.rebind(target.value, Tensor(params=owner.params, last_dim=owner.last_dim, shape=owner.shape))
        return
    if isinstance(owner, Param):
        number = const_number(value)
        if number is not None and _whole(target):
            # `w[:] = 1.0`, `state_dict()['fc.weight'][:] = 0`: the whole tensor set to one constant.
            init_param(interp, owner, InitEvent("zero" if number == 0 else "const", target, "assigned", value=float(number)), ctx)
        elif owner.init.kind in ("zero", "const"):
            # `w[0] = ...` / `emb.weight[padding_idx] = 0`: a partial write; the whole is no longer known.
            owner.set_init(InitEvent("unknown", target, "partially assigned"))
    elif isinstance(owner, Seq):
        owner.complete = False


def init_param(interp: Machine, param: Param, event: InitEvent, ctx: CallContext) -> None:
    """An initialization of `param` (`nn.init.zeros_(w)`, `w[:] = 0`): conditional when the parameter
    predates an undecided branch it happens in, and noted when the script, not a constructor, does it
    (analysis runs such an instance as the script's model)."""
    event.conditional = ctx.uncertain_for(param)
    param.set_init(event)
    if ctx.root_kind == "script" and not ctx.in_init:
        interp.script_inits.add(param.uid)


def _whole(target: Any) -> bool:
    """A subscript that takes every element: `[:]`, `[...]`."""
    if not isinstance(target, cst.Subscript) or len(target.slice) != 1:
        return False
    inner = target.slice[0].slice
    if isinstance(inner, cst.Slice):
        return inner.lower is None and inner.upper is None and inner.step is None
    return isinstance(inner, cst.Index) and isinstance(inner.value, cst.Ellipsis)


def subscript(interp: Machine, owner: Value, keys: list[Value], node: Any, ctx: CallContext) -> Value:
    key = keys[0] if len(keys) == 1 else None
    if isinstance(owner, ChunkedTensor):
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
        return tensor.replaced(squash=tensor.squash, last_dim=None if any(isinstance(k, SliceValue) for k in keys) else tensor.last_dim, zero_layer=tensor.zero_layer)
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
            elif isinstance(left, (Obj, Param, Tensor, Func, Seq, Mapping, ClassInfo)):
                result = False
            elif isinstance(left, Ext) and framework_of(left.qualname) in ("torch", "keras", "tf", "np"):
                result = False  # a framework's function or class (`ac=tf.nn.tanh`), never None
            else:
                return None
            return result if op == "Is" else not result
        if not (isinstance(left, (Ext, ClassInfo)) and isinstance(right, (Ext, ClassInfo))):
            return None  # `type(m) is nn.Linear` is decided below, as `==` is
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


def binary(interp: Machine, op: str, left: Value, right: Value, node: Any, ctx: CallContext) -> Value:
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
        if lt is not None and rt is not None and not is_number(left) and not is_number(right):
            # `(h - y) * (h - y)` is a square (a squared error written by hand).
            squared = isinstance(node, cst.BinaryOperation) and node.left.deep_equals(node.right)
            return product(interp, "square" if squared else "mul", [lt, rt], node, ctx, last_dim=broadcast_dim(lt.last_dim, rt.last_dim))
        t, n = (lt, rn) if lt is not None and not is_number(left) else (rt, ln)
        return scale(t, n, "mul") if t is not None else UNKNOWN
    if op == "Divide":
        if lt is not None and not is_number(left):
            if rt is not None and not is_number(right):
                if lt.state == ZERO:
                    return lt.replaced(params=lt.params | rt.params)
                return Tensor(state=LIVE if LIVE in (lt.state, rt.state) else lt.state if lt.state == rt.state else UNKNOWN_STATE, params=lt.params | rt.params, last_dim=lt.last_dim, chain=lt.chain)
            return scale(lt, 1.0 / rn if rn else None, "div")
        return Tensor(params=rt.params if rt else frozenset())
    if op == "Power":
        if lt is not None and rn is not None and not is_number(left):
            if rn >= 2:
                return product(interp, "pow", [lt] * int(min(rn, 2)), node, ctx, last_dim=lt.last_dim)
            return lt.replaced(squash=None, creation=None) if lt.state != INDEP else lt.replaced(key=("pow", lt.key, rn))
        return UNKNOWN
    if op in ("Add", "Subtract"):
        if lt is not None and rt is not None and not is_number(left) and not is_number(right):
            return add(lt, rt, subtract=op == "Subtract", operands=(left, right))
        if lt is not None and not is_number(left):
            return shift(lt, rn if op == "Add" else (-rn if rn is not None else None))
        if rt is not None:
            shifted = shift(rt, ln)
            if op == "Subtract" and ln is not None and rt.squash is not None and rt.squash.kind == "sigmoid":
                return scale(shifted, -1.0, "neg").replaced(squash=OutputActivation(SIGMOID_COMPLEMENT, rt.squash.node))
            return shifted if op == "Add" else scale(shifted, -1.0, "neg")
    return UNKNOWN


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


def join(a: Value, b: Value) -> Value:
    """What a variable holds after two branches that bound it differently."""
    if a is b:
        return a
    if isinstance(a, Const) and isinstance(b, Const) and type(a.value) is type(b.value) and a.value == b.value:
        return a
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return join_tensors(a, b)
    if isinstance(a, Loss) and isinstance(b, Loss) and (a.kind, a.from_logits, a.framework) == (b.kind, b.from_logits, b.framework):
        return a  # `nn.BCELoss().cuda()` on a GPU, `nn.BCELoss()` otherwise: the same loss either way
    return UNKNOWN


def container_method(interp: Machine, target: Value, name: str, args: list[Value], kwargs: dict[str, Value]) -> Value:
    """The methods of str, list and dict values."""
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
    return UNKNOWN
