"""Expressions without side effects on the interpreter's state: literals, operators,
comparisons, subscripts, lambdas; the interpreter's `eval` dispatches here by node type.
"""

from __future__ import annotations

from typing import Any, Optional

import libcst as cst

from initlint.facts import python
from initlint.facts.context import CallContext, Env, Machine
from initlint.facts.values import UNKNOWN, Const, Ext, Func, Mapping, Seq, SliceValue, Tensor, ThisModule, Value

# Turns of a loop that are run; later ones are left out.
MAX_UNROLL = 64
# Items of a comprehension that are built; with more, the list is incomplete. A list built at
# once is kept whole up to here: a depth demo's `ModuleList([nn.Linear(n, n) for _ in range(100)])`
# is 100 layers, not an unknown list.
MAX_COMPREHENSION = 256


def eval_number(interp: Machine, node: Any, env: Env, ctx: CallContext) -> Value:
    # libcst's evaluated_value calls ast.literal_eval; parsing the token directly is ~10x cheaper.
    text = node.value.replace("_", "")
    try:
        if type(node) is cst.Integer:
            return Const(int(text, 0) if not (len(text) > 1 and text[0] == "0" and text[1].isdigit()) else int(text))
        if type(node) is cst.Float:
            return Const(float(text))
    except ValueError:
        pass
    return UNKNOWN


def eval_string(interp: Machine, node: Any, env: Env, ctx: CallContext) -> Value:
    text = node.value
    quote = text[-1]
    # Plain 'abc' / """abc""" without escapes or prefixes: no need for literal_eval.
    if text[0] == quote and "\\" not in text:
        return Const(text[3:-3] if text.startswith(quote * 3) and len(text) >= 6 else text[1:-1])
    try:
        value = node.evaluated_value
    except Exception:  # noqa: BLE001 - byte strings and malformed literals we do not evaluate
        return UNKNOWN
    return Const(value) if isinstance(value, str) else UNKNOWN


def eval_sequence(interp: Machine, node: Any, env: Env, ctx: CallContext) -> Value:
    items: list[Value] = []
    complete = True
    for element in node.elements:
        value = interp.eval(element.value, env, ctx)
        if type(element) is cst.StarredElement:
            expanded = interp.iterate(value)
            if expanded is None:
                complete = False
            else:
                items.extend(expanded)
        else:
            items.append(value)
    return Seq(items, is_tuple=type(node) is cst.Tuple, complete=complete)


def eval_dict(interp: Machine, node: cst.Dict, env: Env, ctx: CallContext) -> Value:
    items: dict[Any, Value] = {}
    complete = True
    for element in node.elements:
        if type(element) is cst.DictElement:
            key = interp.eval(element.key, env, ctx)
            if isinstance(key, Const):
                items[key.value] = interp.eval(element.value, env, ctx)
            else:
                complete = False
        else:
            other = interp.eval(element.value, env, ctx)
            if isinstance(other, Mapping):
                items.update(other.items)
                complete = complete and other.complete
            else:
                complete = False
    return Mapping(items, complete=complete)


def eval_binary(interp: Machine, node: cst.BinaryOperation, env: Env, ctx: CallContext) -> Value:
    left = interp.eval(node.left, env, ctx)
    right = interp.eval(node.right, env, ctx)
    return python.binary(interp, type(node.operator).__name__, left, right, node, ctx)


def eval_unary(interp: Machine, node: cst.UnaryOperation, env: Env, ctx: CallContext) -> Value:
    value = interp.eval(node.expression, env, ctx)
    op = type(node.operator).__name__
    if op == "Not":
        truth = interp.truth(value)
        return UNKNOWN if truth is None else Const(not truth)
    if isinstance(value, Const) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
        return Const(-value.value if op == "Minus" else value.value)
    if isinstance(value, Tensor):
        return value.replaced(squash=None)
    return UNKNOWN


def eval_boolean(interp: Machine, node: cst.BooleanOperation, env: Env, ctx: CallContext) -> Value:
    left = interp.eval(node.left, env, ctx)
    truth = interp.truth(left)
    is_and = type(node.operator) is cst.And
    if truth is None:
        interp.eval(node.right, env, ctx)
        return UNKNOWN
    if is_and:
        return interp.eval(node.right, env, ctx) if truth else left
    return left if truth else interp.eval(node.right, env, ctx)


def eval_comparison(interp: Machine, node: cst.Comparison, env: Env, ctx: CallContext) -> Value:
    left = interp.eval(node.left, env, ctx)
    result: Optional[bool] = True
    for target in node.comparisons:
        right = interp.eval(target.comparator, env, ctx)
        outcome = python.compare(type(target.operator).__name__, left, right)
        if outcome is False:
            return Const(False)
        if outcome is None:
            result = None
        left = right
    return UNKNOWN if result is None else Const(True)


def eval_subscript(interp: Machine, node: cst.Subscript, env: Env, ctx: CallContext) -> Value:
    owner = interp.eval(node.value, env, ctx)
    if _is_this_module(owner, node, env):
        return ThisModule()
    keys: list[Value] = []
    for element in node.slice:
        if type(element.slice) is cst.Index:
            keys.append(interp.eval(element.slice.value, env, ctx))
        elif type(element.slice) is cst.Slice:
            sl = element.slice
            parts = [interp.eval(p, env, ctx) if p is not None else Const(None) for p in (sl.lower, sl.upper, sl.step)]
            keys.append(SliceValue(*parts))
    return python.subscript(interp, owner, keys, node, ctx)


def _is_this_module(owner: Value, node: cst.Subscript, env: Env) -> bool:
    """`sys.modules[__name__]` (d2l's `d2l = sys.modules[__name__]`), `__name__` not rebound."""
    if not (isinstance(owner, Ext) and owner.qualname == "sys.modules" and len(node.slice) == 1):
        return False
    index = node.slice[0].slice
    return isinstance(index, cst.Index) and isinstance(index.value, cst.Name) and index.value.value == "__name__" and env.lookup("__name__") is None


def eval_ifexp(interp: Machine, node: cst.IfExp, env: Env, ctx: CallContext) -> Value:
    truth = interp.truth(interp.eval(node.test, env, ctx))
    if truth is True:
        return interp.eval(node.body, env, ctx)
    if truth is False:
        return interp.eval(node.orelse, env, ctx)
    return python.join(interp.eval(node.body, env, ctx), interp.eval(node.orelse, env, ctx))


def eval_lambda(interp: Machine, node: cst.Lambda, env: Env, ctx: CallContext) -> Value:
    interp.closures.append(env)
    return Func(node=node, closure=env)


def eval_paren_passthrough(interp: Machine, node: Any, env: Env, ctx: CallContext) -> Value:
    return interp.eval(node.value, env, ctx)


def eval_named_expr(interp: Machine, node: cst.NamedExpr, env: Env, ctx: CallContext) -> Value:
    value = interp.eval(node.value, env, ctx)
    interp.assign(node.target, value, env, ctx)
    return value


def eval_fstring(interp: Machine, node: Any, env: Env, ctx: CallContext) -> Value:
    return UNKNOWN


def eval_concat(interp: Machine, node: cst.ConcatenatedString, env: Env, ctx: CallContext) -> Value:
    left = interp.eval(node.left, env, ctx)
    right = interp.eval(node.right, env, ctx)
    if isinstance(left, Const) and isinstance(right, Const) and isinstance(left.value, str) and isinstance(right.value, str):
        return Const(left.value + right.value)
    return UNKNOWN


def _run_comprehension(interp: Machine, node: Any, for_in: cst.CompFor, env: Env, ctx: CallContext, results: list[Value]) -> bool:
    """One `for ... in ... if ...` clause of a comprehension and the clauses inside it; False when
    some turn was skipped or unknown. (A function, not a recursive closure: a closure that calls
    itself is a reference cycle that would keep every file's tree alive until the collector runs.)"""
    complete = True
    items = interp.iterate(interp.eval(for_in.iter, env, ctx))
    if items is None:
        complete = False
        items = [UNKNOWN]
    if len(items) > MAX_COMPREHENSION:
        complete = False
        items = items[:MAX_COMPREHENSION]
    for item in items:
        interp.assign(for_in.target, item, env, ctx)
        keep: Optional[bool] = True
        for cond in for_in.ifs:
            truth = interp.truth(interp.eval(cond.test, env, ctx))
            if truth is False:
                keep = False
                break
            if truth is None:
                keep = None
        if keep is False:
            continue
        if keep is None:
            complete = False
        if for_in.inner_for_in is not None:
            complete = _run_comprehension(interp, node, for_in.inner_for_in, env, ctx, results) and complete
        elif isinstance(node, cst.DictComp):
            results.append(Seq([interp.eval(node.key, env, ctx), interp.eval(node.value, env, ctx)], is_tuple=True))
        else:
            results.append(interp.eval(node.elt, env, ctx))
    return complete

def eval_comprehension(interp: Machine, node: Any, env: Env, ctx: CallContext) -> Value:
    results: list[Value] = []
    complete = _run_comprehension(interp, node, node.for_in, Env(env), ctx, results)
    if isinstance(node, cst.DictComp):
        items: dict[Any, Value] = {}
        for pair in results:
            assert isinstance(pair, Seq)
            key = pair.items[0]
            if isinstance(key, Const):
                items[key.value] = pair.items[1]
            else:
                complete = False
        return Mapping(items, complete=complete)
    return Seq(results, complete=complete)
