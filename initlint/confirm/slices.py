"""Module-level code that builds a model: factory functions and the script's own statements.

A finding outside any model class is confirmed on what the script builds
there. A factory (`def make_mlp(): return nn.Sequential(...)`) is built by
calling it, with the arguments of a literal call in the file or its own
defaults, never with guessed ones.

Pure Python (ast): runs in the main process.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Optional

from initlint.confirm.recipe import script_blocks
from initlint.confirm.tf_feeds import GRAPH_INPUT

# Functions with these words build or train, not construct: never called to get a model.
NOT_FACTORIES = ("train", "fit", "loss", "eval", "test", "predict", "main", "load", "plot", "save", "step")



def literal_arguments(call: ast.Call) -> Optional[tuple[list[Any], dict[str, Any]]]:
    """A call's arguments when every one is a literal (`Net(8, act="relu")`), else None."""
    try:
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    except ValueError:
        return None
    if len(kwargs) != len(call.keywords):  # `**options`: not literal
        return None
    return args, kwargs


def _returns_value(fn: ast.FunctionDef) -> bool:
    returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
    return bool(returns) and all(r.value is not None and not isinstance(r.value, ast.Constant) for r in returns)


def factory_at(tree: ast.Module, line: int) -> Optional[ast.FunctionDef]:
    """The top-level function on `line` when it returns a built model."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.lineno <= line <= (node.end_lineno or node.lineno):
            if any(word in node.name.lower() for word in NOT_FACTORIES) or not _returns_value(node):
                return None
            return node
    return None


def factory_call(tree: ast.Module, fn: ast.FunctionDef) -> Optional[tuple[str, str, int]]:
    """How to call the factory: (expression, origin, line of the call or 0)."""
    for block in script_blocks(tree):
        for stmt in block:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == fn.name:
                    literal = literal_arguments(node)
                    if literal is None:
                        continue
                    args, kwargs = literal
                    text = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
                    return f"{fn.name}({text})", f"the call on line {node.lineno}", node.lineno
    positional = fn.args.posonlyargs + fn.args.args
    required = len(positional) - len(fn.args.defaults)
    if required == 0 and all(d is not None for d in fn.args.kw_defaults):
        return f"{fn.name}()", "the factory's defaults", 0
    return None


# Calls a slice never keeps: file I/O, data loading, training, sessions, printing, plotting.
SKIP_CALLS = frozenset({
    "open", "read_csv", "read_excel", "read_json", "read_parquet", "loadtxt", "genfromtxt", "load", "load_data",
    "read_data_sets",
    "imread", "read", "urlopen", "download", "DataLoader", "ImageFolder", "MNIST", "CIFAR10", "fit", "step",
    "backward", "minimize", "run", "Session", "InteractiveSession", "print", "show", "plot", "savefig",
    "imshow", "scatter", "subplot", "figure", "input", "train", "evaluate", "predict", "save", "load_state_dict",
})
# Method calls that build (not train or use) a model bound to a name.
BUILD_METHODS = frozenset(
    {"add", "add_module", "append", "extend", "insert", "build", "register_module",
     "register_parameter", "register_buffer", "apply", "requires_grad_", "to", "float",
     "double", "train"}
)


def hole_reason(name: str, source: str, line: int) -> str:
    return f"`{name}` comes from {source}, line {line}, which a confirmation never runs"


class Hole(Exception):
    """A name the slice needs is bound only by a statement a slice never keeps; the message says which."""


@dataclass
class BlockSlice:
    """The statements of a `__main__` (or `main()`) block that build `var`, and the names they need."""

    var: str
    statements: list[ast.stmt]
    needs: set[str]


def skipped_call(stmt: ast.AST) -> Optional[str]:
    for node in ast.walk(stmt):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in SKIP_CALLS:
                return name
    return None


def _stores(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name.split(".")[0]) for a in stmt.names}
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _loads(stmt: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _constant_loop(stmt: ast.stmt) -> bool:
    """`for i in range(3)` / `for w in (64, 32)`: a build loop over constants."""
    if not isinstance(stmt, ast.For):
        return False
    it = stmt.iter
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range":
        return all(isinstance(a, ast.Constant) for a in it.args)
    return isinstance(it, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Constant) for e in it.elts)


def _builds(stmt: ast.stmt, var: str) -> bool:
    calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and isinstance(n.func.value, ast.Name) and n.func.value.id == var]
    return bool(calls) and all(c.func.attr in BUILD_METHODS for c in calls if isinstance(c.func, ast.Attribute))


def block_slice(tree: ast.Module, line: int) -> Optional[BlockSlice]:
    """The slice of the script block whose statement on `line` builds or initializes a model variable."""
    from initlint.confirm.recipe import _Finder  # the recipe's notion of "re-initializes var"

    for block in script_blocks(tree):
        for k, stmt in enumerate(block):
            if not stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
                continue
            bindings = [(j, s) for j, s in enumerate(block[:k + 1]) if isinstance(s, (ast.Assign, ast.AnnAssign))]
            var, first = None, None
            for name in _candidates(stmt):
                found = [j for j, s in bindings if name in _stores(s)]
                if found:
                    var, first = name, found[-1]
                    break
            if var is None or first is None:
                return None
            kept = [block[first]]
            finder = _Finder(tree, var)
            for s in block[first + 1:]:
                if skipped_call(s) is None and (_builds(s, var) or (_constant_loop(s) and _builds(s, var))):
                    kept.append(s)
                    continue
                verdict = finder.mutation(s)
                if verdict is None:
                    if finder.unreplayed:
                        raise Hole(f"the script changes `{var}` in a way the confirmation does not replay "
                                   f"({finder.unreplayed})")
                    break
                if verdict:
                    kept.append(s)
            if all(s is not stmt for s in kept):
                # What the flagged statement does to the model would not be in what is built.
                raise Hole(f"the statement on line {stmt.lineno} changes `{var}` in a way the confirmation does not replay")
            return _with_dependencies(block[:first], kept, var, finder.helpers)
    return None


def _candidates(stmt: ast.stmt) -> list[str]:
    """Names the statement may build: its assignment target, then the roots of `x.a[0].b` it touches."""
    out = []
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        out.append(stmt.targets[0].id)
    for node in ast.walk(stmt):
        root: ast.AST = node
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        if root is not node and isinstance(root, ast.Name) and root.id not in out:
            out.append(root.id)
    return out


def _with_dependencies(before: list[ast.stmt], kept: list[ast.stmt], var: str, helpers: set[str]) -> BlockSlice:
    """Add the earlier statements of the block that the kept ones need; a skipped one leaves a hole."""
    needs = set(helpers)
    for s in kept:
        needs |= _loads(s)
    needs -= {var}
    chosen: list[ast.stmt] = []
    for s in reversed(before):
        bound = _stores(s) & needs
        if not bound:
            continue
        skipped = skipped_call(s)
        if skipped is not None or (isinstance(s, (ast.For, ast.While, ast.With, ast.Try)) and not _constant_loop(s)):
            name = sorted(bound)[0]
            why = skipped or type(s).__name__.lower()
            raise Hole(hole_reason(name, why, s.lineno))
        chosen.insert(0, s)
        needs = (needs - bound) | _loads(s)
    return BlockSlice(var, chosen + kept, needs)


def render_block(text: str, base: str, statements: list[ast.stmt]) -> str:
    """`base` (the top-level slice) with the block statements dedented onto their own lines."""
    if not statements:
        return base
    lines = text.splitlines()
    out = base.splitlines()
    out += [""] * (len(lines) - len(out))
    for s in statements:
        start, end = s.lineno, s.end_lineno or s.lineno
        indent = s.col_offset
        for n in range(start, end + 1):
            src = lines[n - 1]
            out[n - 1] = src[indent:] if src[:indent].strip() == "" else src.lstrip()
    return "\n".join(out) + "\n"


_FLOAT_MAKERS = frozenset({"randn", "rand", "zeros", "ones", "empty"})


def _example(node: ast.expr) -> Optional[dict[str, Any]]:
    """`torch.randn(4, 8)` -> {"shape": [4, 8]}; `torch.randint(0, 10, (4, 5))` -> long ids below 10."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"):
        return None
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg in ("size", "high", "low")}
    except ValueError:
        return None
    name = node.func.attr
    if name in _FLOAT_MAKERS:
        shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args or kwargs.get("size")
        if shape and all(isinstance(d, int) and d > 0 for d in shape):
            return {"shape": list(shape)}
    if name == "randint":
        ints = [a for a in args if isinstance(a, int)]
        shape = next((a for a in args if isinstance(a, (tuple, list))), kwargs.get("size"))
        high = kwargs.get("high", ints[-1] if ints else None)
        if shape and isinstance(high, int) and all(isinstance(d, int) and d > 0 for d in shape):
            return {"shape": list(shape), "dtype": "int64", "high": high}
    return None


def call_site_inputs(tree: ast.Module, var: str) -> Optional[list[dict[str, Any]]]:
    """The example inputs of the script's own call `var(torch.randn(...), ...)`, when all are literal."""
    for block in script_blocks(tree):
        for stmt in block:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == var \
                        and node.args and not node.keywords:
                    examples = [_example(a) for a in node.args]
                    if all(e is not None for e in examples):
                        return [e for e in examples if e is not None]
    return None


def no_holes(statements: list[ast.stmt]) -> None:
    """A top-level assignment the slice needs that loads data, reads a file or trains is a hole."""
    for node in statements:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            skipped = skipped_call(node)
            if skipped is not None:
                name = sorted(_stores(node))[0] if _stores(node) else "a value"
                raise Hole(hole_reason(name, skipped, node.lineno))


def _model_output(value: ast.expr) -> Optional[int]:
    """-1 for a call's whole result (`model(x)`), k for its element `model(x)[k]`, else None."""
    if isinstance(value, ast.Call):
        return -1
    if (isinstance(value, ast.Subscript) and isinstance(value.value, ast.Call)
            and isinstance(value.slice, ast.Constant) and type(value.slice.value) is int):
        return int(value.slice.value)
    return None


def loss_output(tree: ast.Module, line: int) -> Optional[int]:
    """Which element of the model's output the loss called on `line` receives as its prediction:
    -1 for the whole output, k for element k (`model(x)[k]`, `a, b = model(x)`), None when unknown."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.lineno == line and n.args]
    if not calls:
        return None
    pred = min(calls, key=lambda n: n.col_offset).args[0]
    if not isinstance(pred, ast.Name):
        return _model_output(pred)
    found: Optional[int] = None
    last = 0
    for node in ast.walk(tree):  # the last assignment to the name before the loss
        if not isinstance(node, ast.Assign) or not last < node.lineno <= line or len(node.targets) != 1:
            continue
        target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == pred.id:
            last, found = node.lineno, _model_output(node.value)
        elif isinstance(target, (ast.Tuple, ast.List)) and any(
                isinstance(e, ast.Name) and e.id == pred.id for e in target.elts):
            names = [e.id if isinstance(e, ast.Name) else None for e in target.elts]
            plain = not any(isinstance(e, ast.Starred) for e in target.elts)
            last = node.lineno
            found = names.index(pred.id) if plain and isinstance(node.value, ast.Call) else None
    return found


# Modules whose functions are tensor ops, not the model (`tf.reshape(model(x), ...)`).
OP_MODULES = frozenset({"tf", "tensorflow", "keras", "K", "ops", "np", "numpy", "layers"})


def keras_loss_takes_model_output(tree: ast.Module, line: int) -> Optional[bool]:
    """Whether the Keras loss called on `line` (`loss_fn(y_true, y_pred)`) receives a model's own
    output (`model(x)`, or a name bound to it), where Keras on TensorFlow finds the logits behind its
    softmax; False when an op comes between (`tf.reshape(model(x), ...)` drops them); None when unknown."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.lineno == line]
    if not calls:
        return None
    call = min(calls, key=lambda n: n.col_offset)
    pred = next((k.value for k in call.keywords if k.arg == "y_pred"), call.args[1] if len(call.args) > 1 else None)
    if isinstance(pred, ast.Name):
        bound = [n for n in ast.walk(tree) if isinstance(n, ast.Assign) and n.lineno <= line and len(n.targets) == 1
                 and isinstance(n.targets[0], ast.Name) and n.targets[0].id == pred.id]
        pred = max(bound, key=lambda n: n.lineno).value if bound else None
    if not isinstance(pred, ast.Call):
        return None
    root = pred.func
    while isinstance(root, ast.Attribute):
        root = root.value
    return not (isinstance(root, ast.Name) and root.id in OP_MODULES)


def graph_downstream(fm: Any, indices: list[int]) -> list[int]:
    """`indices` plus the later top-level assignments that compute from what they bind, with their
    own dependencies: a TF1 graph's layers are built where the script uses its variables
    (`logits = net(X)`). An assignment that loads data, trains or runs a session, or needs a
    statement that does, is left out."""
    kept = list(indices)

    def assigned(ks: list[int]) -> set[str]:  # not imports: every statement naming `tf` would qualify
        return {n for k in ks if isinstance(fm.body[k], (ast.Assign, ast.AnnAssign)) for n in _stores(fm.body[k])}

    bound = assigned(kept)
    for j, node in enumerate(fm.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and fm.uses[j] & bound:
            bound.add(node.name)  # `def net(x)` reading the weights: calling it builds layers
            continue
        if j in kept or j < min(kept, default=0) or not isinstance(node, (ast.Assign, ast.AnnAssign)):
            continue
        if not (_loads(node) & bound) or skipped_call(node) is not None:
            continue
        grown = fm.closure(sorted(set(kept) | {j}))
        if any(skipped_call(fm.body[k]) is not None for k in grown if k not in kept):
            continue
        kept = grown
        bound |= assigned(grown)
    return sorted(kept)


def graph_calls(fm: Any, name: str) -> list[int]:
    """The graph a TF1 function builds layers into: the top-level assignments that call it
    (`l1 = add_layer(xs, 1, 10)`) and what is computed from them, without data, training or sessions."""
    calls = [i for i, node in enumerate(fm.body) if isinstance(node, (ast.Assign, ast.AnnAssign))
             and node.value is not None and skipped_call(node) is None
             and any(isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == name
                     for c in ast.walk(node.value))]
    if not calls:
        return []
    closure = fm.closure(calls)
    if any(skipped_call(fm.body[k]) is not None for k in closure):
        return []
    return graph_downstream(fm, closure)


def graph_call_in_function(fm: Any, name: str) -> Optional[tuple[ast.stmt, list[int]]]:
    """A TF1 graph function called only inside another function (`prediction = net(x)` in
    `train(x)`): that assignment, built at the top level, on the script's own tensors. Every name
    it reads must be bound by a top-level assignment that builds no data, training or session
    (`x = tf.placeholder(...)`), so the graph gets the script's own inputs. (assignment, the
    top-level statements it needs) or None."""
    for node in fm.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name == name:
            continue
        for stmt in ast.walk(node):
            if not isinstance(stmt, ast.Assign) or skipped_call(stmt) is not None:
                continue
            calls = [c for c in ast.walk(stmt.value) if isinstance(c, ast.Call)
                     and isinstance(c.func, ast.Name) and c.func.id == name]
            if not calls or not _on_function_level(node, stmt):
                continue
            needs = _loads(stmt)
            binders = [j for n in needs for j in fm.binders.get(n, [])]
            if any(n not in fm.binders for n in needs) or any(
                    skipped_call(fm.body[j]) is not None or isinstance(fm.body[j], (ast.For, ast.While, ast.With))
                    for j in binders):
                continue
            closure = fm.closure(sorted(set(binders)))
            if any(skipped_call(fm.body[k]) is not None for k in closure):
                continue
            return stmt, closure
    return None


def graph_function_call(fn: ast.FunctionDef) -> Optional[tuple[str, list[str]]]:
    """A call of the TF1 graph function `fn` on one placeholder per required parameter, appended to
    the slice (tf_feeds shapes them), and those parameters; None when `fn` also needs keyword-only or
    variadic arguments."""
    args = fn.args
    if args.vararg is not None or any(d is None for d in args.kw_defaults):
        return None
    positional = args.posonlyargs + args.args
    required = [a.arg for a in positional[: len(positional) - len(args.defaults)]]
    if not required:
        return None
    flags = _tested_flags(fn)
    call = ", ".join("False" if name in flags else f"{GRAPH_INPUT}({name!r})" for name in required)
    return f"\n_initlint_graph = {fn.name}({call})\n", [name for name in required if name not in flags]


def _tested_flags(fn: ast.FunctionDef) -> set[str]:
    """Parameters the function tests as conditions (`if norm:`, `if not training`): flags, not
    tensors (a placeholder there raises OperatorNotAllowedInGraphError). They are given False, the
    plain path (`built_net(xs, ys, norm)` without its batch normalization)."""
    params = {a.arg for a in fn.args.posonlyargs + fn.args.args}
    tested: set[str] = set()
    for node in ast.walk(fn):
        test = node.test if isinstance(node, (ast.If, ast.IfExp, ast.While)) else None
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test = test.operand
        if isinstance(test, ast.Name) and test.id in params:
            tested.add(test.id)
    return tested


def _on_function_level(fn: ast.AST, stmt: ast.stmt) -> bool:
    """`stmt` is a statement of `fn`'s own body (not inside a loop, `with` or branch of it)."""
    return stmt in getattr(fn, "body", [])


_NUMPY_MAKERS = {"rand", "randn", "random", "zeros", "ones", "random_sample", "normal", "uniform"}


def _int(node: ast.expr) -> Optional[int]:
    """A small integer expression of literals (`10 ** 4`, `2 * 64`)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return int(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Pow, ast.Mult, ast.Add)):
        a, b = _int(node.left), _int(node.right)
        if a is None or b is None or (isinstance(node.op, ast.Pow) and b > 12):
            return None
        return int(a ** b if isinstance(node.op, ast.Pow) else a * b if isinstance(node.op, ast.Mult) else a + b)
    return None


def _literal_shape(node: ast.expr) -> Optional[list[int]]:
    """The shape of literal data: nested lists (`[[1] * 128] * 100`), `np.array(...)` of them, or
    `np.random.rand(100, 8)` / `np.zeros((100, 8))` with literal sizes."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
        return []
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        inner = _literal_shape(node.elts[0])
        return None if inner is None else [len(node.elts)] + inner
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_shape(node.left), _literal_shape(node.right)
        if left and right and left[1:] == right[1:]:
            return [left[0] + right[0]] + left[1:]
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for seq, k in ((node.left, node.right), (node.right, node.left)):
            shape = _literal_shape(seq) if isinstance(seq, (ast.List, ast.BinOp)) else None
            times = _int(k)
            if shape and times is not None and times > 0:
                return [shape[0] * times] + shape[1:]
        return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in ("array", "asarray") and node.args:
            return _literal_shape(node.args[0])
        if node.func.attr in _NUMPY_MAKERS:
            size = next((k.value for k in node.keywords if k.arg == "size"), None)
            args = [size] if size is not None else node.args
            try:
                dims = [ast.literal_eval(a) for a in args]
            except ValueError:
                return None
            if node.func.attr in ("normal", "uniform") and size is None:
                return None
            flat = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
            if flat and all(type(d) is int and d > 0 for d in flat):
                return list(flat)
    return None


def fit_inputs(tree: ast.Module, var: str) -> Optional[list[dict[str, Any]]]:
    """A two-sample example input shaped like the literal data the script passes to `var.fit(x, ...)`."""
    assigned: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            if (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "astype"
                    and isinstance(value.func.value, ast.Name) and value.func.value.id in assigned):
                continue  # `x = x.astype("float32")` keeps the shape
            if _literal_shape(value) is not None or node.targets[0].id in assigned:
                assigned[node.targets[0].id] = value
        for call in ast.walk(node):
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "fit"
                    and isinstance(call.func.value, ast.Name) and call.func.value.id == var and call.args):
                data = call.args[0]
                if isinstance(data, ast.Name):
                    data = assigned.get(data.id, data)
                shape = _literal_shape(data)
                if shape is not None and len(shape) >= 2:
                    return [{"shape": [2] + shape[1:], "dtype": "float32"}]
                return None
    return None
