"""Tensor algebra on abstract values: products, sums, scaling, matmul fan-in
layouts, activations, and the parameters and init events they act on.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from initlint.facts.context import CallContext, Machine
from initlint.facts.values import (
    CHAIN_LIMIT,
    INDEP,
    LIVE,
    SCALED_SIGMOID,
    SIGMOID_COMPLEMENT,
    UNKNOWN,
    UNKNOWN_STATE,
    ZERO,
    ChainItem,
    Const,
    InitEvent,
    Loss,
    Obj,
    OutputActivation,
    Param,
    Seq,
    Tensor,
    Unknown,
    Value,
    const_int,
    const_number,
)
from initlint.frameworks.tables import SQUASH_ACTS, ZERO_PRESERVING_ACTS


def param_tensor(p: Param) -> Tensor:
    params = frozenset([p]) if p.trainable else frozenset()
    last_dim = p.shape[-1] if p.shape and isinstance(p.shape[-1], int) else None
    if p.is_zero:
        return Tensor(state=ZERO, params=params, zero_sites=((p.init.node, p),) if p.init.node is not None else ((p.site, p),), last_dim=last_dim)
    if p.init.kind in ("const", "random", "default"):
        return Tensor(state=INDEP, key=("param", p.uid), params=params, last_dim=last_dim)
    return Tensor(state=UNKNOWN_STATE, params=params, last_dim=last_dim)


# What an unknown value is as a tensor. Tensors are immutable and compared by identity only where
# one value flows on (a chain, a join), so one instance serves: building a 16-field frozen
# dataclass for every unknown operand was a tenth of the analysis.
UNKNOWN_TENSOR = Tensor()


def as_tensor(value: Value) -> Optional[Tensor]:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, Param):
        return param_tensor(value)
    if isinstance(value, Unknown):
        return UNKNOWN_TENSOR
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


# Structural hashes of keys, memoized by identity. A key of an iterative expression (`x = x - lr
# * 2 * x` in a 30-step loop) is a DAG that shares its sub-keys; a plain hash or repr walks it as a
# tree, which doubles with every step (a 13-line gradient-descent script took 24 GB).
_KEY_HASHES: dict[int, tuple[Any, int]] = {}


def key_hash(key: Any) -> int:
    """A hash of a key's structure that visits each shared sub-key once."""
    found = _KEY_HASHES.get(id(key))
    if found is not None and found[0] is key:
        return found[1]
    try:
        value = hash(tuple(key_hash(k) for k in key)) if isinstance(key, tuple) else hash(key)
    except (TypeError, RecursionError):
        value = id(key)  # an unhashable or absurdly deep part: an order of its own
    if len(_KEY_HASHES) > 100_000:
        _KEY_HASHES.clear()
    _KEY_HASHES[id(key)] = (key, value)
    return value


def join_tensors(a: Tensor, b: Tensor) -> Tensor:
    params = a.params | b.params
    if a.state == b.state and a.key == b.key and a.state != UNKNOWN_STATE:
        return a.replaced(params=params, zero_sites=merge_sites(a, b), squash=a.squash if a.squash == b.squash else None)
    # Both branches end in the same output activation (or the same imported model): keep it.
    return Tensor(state=UNKNOWN_STATE, params=params, last_dim=a.last_dim if a.last_dim == b.last_dim else None,
                  squash=a.squash if a.squash == b.squash else None, ext_output=a.ext_output if a.ext_output == b.ext_output else None)


def _keyed(op: str, *tensors: Tensor) -> Any:
    return (op,) + tuple(t.key if t.state == INDEP else ("zero",) for t in tensors)


def product(interp: Machine, op: str, factors: list[Tensor], node: Any, ctx: CallContext, last_dim: Optional[int] = None) -> Tensor:
    """A multiplicative op: every factor's gradient is the product of the others."""
    if not ctx.no_grad:
        interp.facts.product(op, node, factors, ctx)
        squared = factors[0].difference_of if op in ("pow", "square") and factors else None
        if squared is not None:
            # `(sigmoid(z) - y) ** 2`: a squared error written by hand, on an activated output.
            interp.facts.loss(Loss(kind="mse", node=node), node, Tensor(state=factors[0].state, squash=squared), Tensor(), ctx)
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
    return result.replaced(difference=True, difference_of=a.squash or b.squash) if subtract else result


def _input_free(t: Tensor, value: Value) -> bool:
    """A term that does not depend on the input: a parameter (a bias), or an input-independent value."""
    return isinstance(value, Param) or t.is_indep


def _add(a: Tensor, b: Tensor, subtract: bool, operands: tuple[Value, Value]) -> Tensor:
    params = a.params | b.params
    last_dim = broadcast_dim(a.last_dim, b.last_dim)
    if subtract and a.is_indep and b.is_indep and a.key == b.key:
        # Equal input-independent values cancel (seed 000's triplet homework).
        return Tensor(state=ZERO, params=params, zero_sites=merge_sites(a, b), last_dim=last_dim)
    # Adding a bias is not a residual connection: the path keeps its layer chain (a zero or constant
    # layer output too); a sum of two paths, `x + f(x)`, is one and restarts it.
    path = a if _input_free(b, operands[1]) else b if _input_free(a, operands[0]) else None
    chain = path.chain if path is not None else ()
    if a.state == ZERO and b.state == ZERO:
        return Tensor(state=ZERO, params=params, zero_sites=merge_sites(a, b), last_dim=last_dim, zero_layer=a.zero_layer or b.zero_layer,
                      chain=chain)
    if a.state == ZERO:
        return b.replaced(params=params, squash=None, zero_layer=None)
    if b.state == ZERO:
        return a.replaced(params=params, squash=None, zero_layer=None)
    if a.state == INDEP and b.state == INDEP:
        key = ("sub", a.key, b.key) if subtract else ("add",) + tuple(sorted((a.key, b.key), key=key_hash))
        return Tensor(state=INDEP, key=key, params=params, last_dim=last_dim, chain=chain)
    if UNKNOWN_STATE in (a.state, b.state):
        return Tensor(params=params, last_dim=last_dim, chain=chain)
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
    if origin is not None:
        # The data's range scales with it; by an unknown factor it is no longer known.
        origin = (origin[0], origin[1] * factor, origin[2] * factor, origin[3]) if factor is not None else None
    if t.state == ZERO:
        return t.replaced(creation=creation, squash=None)
    if factor == 0:
        return Tensor(state=ZERO, params=t.params, creation=creation)
    if t.state == INDEP:
        return t.replaced(key=(op, t.key, factor), creation=creation, squash=None, origin=origin)
    return t.replaced(creation=creation, squash=_affine_sigmoid(t.squash, factor), origin=origin,
                      zero_layer=None if t.state != ZERO else t.zero_layer)


def _affine_sigmoid(squash: Optional[OutputActivation], factor: Optional[float]) -> Optional[OutputActivation]:
    """The squash of a sigmoid output scaled or shifted by a known number (`factor` None: unknown)."""
    if squash is None or squash.kind not in ("sigmoid", SCALED_SIGMOID) or factor is None or factor == 0:
        return None
    return OutputActivation(SCALED_SIGMOID, squash.node, squash.path)


def shift(t: Tensor, amount: Optional[float]) -> Tensor:
    """Add a Python number."""
    if amount == 0:
        return t
    origin = t.origin
    if origin is not None:
        origin = (origin[0], origin[1] + amount, origin[2] + amount, origin[3]) if amount is not None else None
    creation = None if t.creation is None else InitEvent("unknown", t.creation.node, "shifted")
    # `1 - sigmoid(z) + 1e-8` is still exactly 1e-8 at saturation: its log has no gradient.
    squash = t.squash if t.squash is not None and t.squash.kind == SIGMOID_COMPLEMENT else _affine_sigmoid(t.squash, amount)
    if t.state in (ZERO, INDEP):
        # A shifted constant (the sigmoid of a zero-initialized layer, 0.5) still went through the layers.
        return Tensor(state=INDEP, key=("shift", t.key, amount), params=t.params, last_dim=t.last_dim, creation=creation,
                      chain=t.chain, squash=squash)
    return t.replaced(squash=squash, origin=origin, creation=creation, zero_layer=None)


def is_number(value: Value) -> bool:
    return isinstance(value, Const)


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


def matmul(interp: Machine, a: Tensor, b: Tensor, b_value: Value, node: Any, ctx: CallContext, layout: Optional[str] = IN_OUT) -> Tensor:
    """`a @ b`: a product; with a parameter operand it is also a weight layer, applied as `layout`
    says (None: an orientation the analysis does not know)."""
    if a.zero_layer is not None and isinstance(b_value, Param) and not ctx.no_grad:
        interp.facts.zero_feed(a.zero_layer, node, ctx)
    out = product(interp, "matmul", [a, b], node, ctx, last_dim=b.last_dim)
    if isinstance(b_value, Param):
        interp.facts.layer_call(None, b_value, a, node, ctx, weight_fan_in(b_value.shape, layout))
        item = ChainItem("weight", node, ctx.anchor or node, None)
        chain = (a.chain + (item,))[-CHAIN_LIMIT:]
        zero_layer = b_value if b_value.is_zero and b_value.role in ("raw", "weight") else None
        return out.replaced(chain=chain, zero_layer=zero_layer if out.state == ZERO else None, origin=None)
    return out.replaced(origin=None)


def activation(interp: Machine, kind: str, x: Tensor, node: Any, ctx: CallContext, dim: Optional[Value] = None, layer: Optional[Obj] = None,
               caches_logits: bool = False) -> Tensor:
    if not ctx.no_grad:
        interp.facts.activation(kind, node, x, ctx, dim)
    if kind == "identity":
        return x
    step = "sigmoid" if kind in ("sigmoid", "hardsigmoid") else "tanh" if kind == "tanh" else "act"
    chain = (x.chain + (ChainItem(step, node, ctx.anchor or node, layer),))[-CHAIN_LIMIT:]
    squash = OutputActivation(kind, node, caches_logits=caches_logits) if kind in SQUASH_ACTS else None
    if x.state == ZERO:
        if kind in ZERO_PRESERVING_ACTS:
            return x.replaced(chain=chain, squash=squash)
        # Still the output of the zero layer: every unit gives the same value (IL201 zero feeds).
        return Tensor(state=INDEP, key=(kind, "zero"), params=x.params, last_dim=x.last_dim, chain=chain, squash=squash, zero_layer=x.zero_layer)
    if x.state == INDEP:
        return x.replaced(key=(kind, x.key), chain=chain, squash=squash, zero_layer=None)
    return x.replaced(chain=chain, squash=squash, creation=None, origin=None, zero_layer=x.zero_layer if kind in ZERO_PRESERVING_ACTS else None)


def new_param(name: str, role: str, shape: Optional[tuple[Any, ...]], event: InitEvent, owner: Optional[Obj], site: Any, trainable: bool = True) -> Param:
    p = Param(name=name, role=role, shape=shape, owner=owner, site=site, trainable=trainable)
    p.init = event
    p.history.append(event)
    return p


def default_random(description: str, std: Optional[float] = None, distribution: str = "default") -> InitEvent:
    return InitEvent("default", None, description, distribution=distribution, std=std)


def init_from_tensor(p: Param, value: Value, node: Any, ctx: CallContext) -> None:
    event = event_from_value(value, node)
    event.conditional = ctx.uncertain_for(p)
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


def argument(args: list[Value], kwargs: dict[str, Value], i: int, name: str, default: Value = UNKNOWN) -> Value:
    if name in kwargs:
        return kwargs[name]
    if i < len(args):
        return args[i]
    if "**" in kwargs:
        return UNKNOWN
    return default


def truthy(value: Value, default: bool = True) -> Optional[bool]:
    if isinstance(value, Const):
        return bool(value.value)
    if isinstance(value, Unknown):
        return None
    return default


def literal_shape(value: Value) -> Optional[tuple[Any, ...]]:
    if isinstance(value, Seq) and value.complete:
        inner = literal_shape(value.items[0]) if value.items else ()
        return (len(value.items),) + (inner or ())
    return ()


def _last(shape: Optional[tuple[Any, ...]]) -> Optional[int]:
    return shape[-1] if shape else None
