"""The script's own literal data and training set-up, for replaying a regression raw against
standardized (probe `raw_input`).

From the place where the data is fed to the model (the finding's related location: a loss call
`loss_fn(model(x), y)` or `model.fit(x, y, ...)`), this finds the model, the features and targets
expressions, the top-level statements that build the data, the optimizer class with its literal
arguments, and the batch size. Data the script does not build from literals (a file, a download,
a dataset pipeline) is a reason, never a guess.

Pure Python (ast): runs in the main process.
"""

from __future__ import annotations

import ast
from typing import Any, Optional

from initlint.confirm.assemble import Target
from initlint.confirm.filemodel import FileModel, Unbuildable
from initlint.confirm.slices import Hole, literal_arguments, no_holes, skipped_call
from initlint.diagnostics import Diagnostic

# Keras optimizers as the torch optimizer with Keras's own defaults and argument names.
KERAS_OPTIMIZERS: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "sgd": ("SGD", {"lr": 0.01}, {"learning_rate": "lr", "lr": "lr", "momentum": "momentum", "nesterov": "nesterov"}),
    "adam": ("Adam", {"lr": 0.001, "eps": 1e-7}, {"learning_rate": "lr", "lr": "lr", "epsilon": "eps"}),
    "rmsprop": ("RMSprop", {"lr": 0.001, "alpha": 0.9, "eps": 1e-7},
                {"learning_rate": "lr", "lr": "lr", "rho": "alpha", "epsilon": "eps", "momentum": "momentum"}),
    "adagrad": ("Adagrad", {"lr": 0.001, "initial_accumulator_value": 0.1, "eps": 1e-7},
                {"learning_rate": "lr", "lr": "lr", "epsilon": "eps"}),
}
KERAS_BATCH = 32  # fit's default batch_size
NOT_LITERAL = "only data the script builds from literals is replayed, never guessed"


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _calls_on(fm: FileModel, line: int) -> list[ast.Call]:
    return sorted((n for n in ast.walk(fm.tree) if isinstance(n, ast.Call) and n.lineno == line),
                  key=lambda n: n.col_offset)


def _prediction(fm: FileModel, arg: ast.expr, line: int) -> Optional[ast.Call]:
    """`model(x)` given as the loss's prediction, directly or through a name assigned before `line`."""
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name) and len(arg.args) == 1:
        return arg
    if isinstance(arg, ast.Name):
        found: Optional[ast.Call] = None
        for node in ast.walk(fm.tree):
            if (isinstance(node, ast.Assign) and node.lineno <= line and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name) and node.targets[0].id == arg.id):
                found = _prediction(fm, node.value, line) if isinstance(node.value, ast.Call) else None
        return found
    return None


def _literal(call: ast.Call, what: str) -> tuple[list[Any], dict[str, Any]]:
    literal = literal_arguments(ast.Call(func=call.func, args=call.args[1:] if what == "torch" else call.args,
                                         keywords=call.keywords))
    if literal is None:
        raise Unbuildable(f"the optimizer on line {call.lineno} has arguments that are not literals")
    return literal


def _torch_optimizer(fm: FileModel, model: str) -> dict[str, Any]:
    """`torch.optim.SGD(model.parameters(), lr=0.01)`: its class and literal arguments."""
    for node in ast.walk(fm.tree):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Call)):
            continue
        params = node.args[0].func
        if (isinstance(params, ast.Attribute) and params.attr == "parameters"
                and isinstance(params.value, ast.Name) and params.value.id == model):
            args, kwargs = _literal(node, "torch")
            if args:
                kwargs["lr"] = args[0]
            return {"class": _name(node.func), "kwargs": kwargs, "line": node.lineno}
    raise Unbuildable(f"no optimizer over `{model}.parameters()` is built in the script")


def _keras_optimizer(fm: FileModel, model: str) -> dict[str, Any]:
    """The optimizer of `model.compile(optimizer=...)` as the torch optimizer with Keras's defaults."""
    for node in ast.walk(fm.tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "compile"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == model):
            continue
        given = next((k.value for k in node.keywords if k.arg == "optimizer"), node.args[0] if node.args else None)
        if given is None:
            given = ast.Constant("rmsprop")  # compile's default
        if isinstance(given, ast.Constant) and isinstance(given.value, str):
            name, kwargs = given.value.lower(), dict[str, Any]()
        elif isinstance(given, ast.Call):
            name = _name(given.func).lower()
            args, kwargs = _literal(given, "keras")
            if args:
                kwargs["learning_rate"] = args[0]
        else:
            raise Unbuildable(f"the optimizer given to `{model}.compile` on line {node.lineno} is not a literal")
        if name not in KERAS_OPTIMIZERS:
            raise Unbuildable(f"the Keras optimizer `{name}` is not one the replay knows "
                              f"({', '.join(sorted(KERAS_OPTIMIZERS))})")
        cls, defaults, names = KERAS_OPTIMIZERS[name]
        out = dict(defaults)
        for key, value in kwargs.items():
            if key in names:
                out[names[key]] = value
        return {"class": cls, "kwargs": out, "line": node.lineno, "keras": name}
    raise Unbuildable(f"`{model}` is not compiled in the script, so its optimizer is unknown")


def _use_site(fm: FileModel, line: int) -> tuple[str, ast.expr, ast.expr, Optional[int], bool]:
    """(model, features, targets, batch size or None for the whole data, keras) at the feeding line."""
    for call in _calls_on(fm, line):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "fit" and isinstance(func.value, ast.Name):
            kw = {k.arg: k.value for k in call.keywords if k.arg}
            x = call.args[0] if call.args else kw.get("x")
            y = call.args[1] if len(call.args) > 1 else kw.get("y")
            if x is None:
                break
            if y is None and isinstance(x, ast.Name):
                pipeline = _tf_data(fm, x.id, line)
                if pipeline is not None:
                    return func.value.id, pipeline[0], pipeline[1], pipeline[2], True
            if y is None:
                raise Unbuildable(f"the data reaches `fit` on line {line} as a dataset pipeline, which a "
                                  "confirmation does not replay; " + NOT_LITERAL)
            batch = KERAS_BATCH
            if "batch_size" in kw:
                try:
                    batch = int(ast.literal_eval(kw["batch_size"]))
                except (ValueError, TypeError):
                    raise Unbuildable(f"the batch size on line {line} is not a literal") from None
            return func.value.id, x, y, batch, True
        if len(call.args) >= 2:
            pred = _prediction(fm, call.args[0], line)
            if pred is not None and isinstance(pred.func, ast.Name):
                return pred.func.id, pred.args[0], call.args[1], None, False
    raise Unbuildable(f"the call on line {line} that feeds the data to the model is not one the replay "
                      "reads (`loss(model(x), y)` or `model.fit(x, y)`)")


def _int_value(fm: FileModel, node: ast.expr) -> Optional[int]:
    """A literal int, or a name bound once at the top level to one (`BATCH_SIZE = 20`)."""
    if isinstance(node, ast.Name):
        binders = fm.binders.get(node.id, [])
        bound = fm.body[binders[0]] if len(binders) == 1 else None
        node = bound.value if isinstance(bound, ast.Assign) else node
    return node.value if isinstance(node, ast.Constant) and type(node.value) is int else None


def _tf_data(fm: FileModel, name: str, line: int) -> Optional[tuple[ast.expr, ast.expr, Optional[int]]]:
    """(features, targets, batch) of a `tf.data.Dataset.from_tensor_slices((x, y))` pipeline bound to
    `name` at the top level, through reassignments (`ds = ds.shuffle(100)`, `ds = ds.batch(20)`) that
    only cache, shuffle, batch, repeat or prefetch. None for any other pipeline."""
    batch: Optional[int] = None
    for node in reversed([n for n in fm.body if n.lineno < line]):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == name):
            continue
        value = node.value
        while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
            method = value.func.attr
            if method == "from_tensor_slices":
                pair = value.args[0] if len(value.args) == 1 else None
                if isinstance(pair, ast.Tuple) and len(pair.elts) == 2:
                    return pair.elts[0], pair.elts[1], batch
                return None
            if method == "batch":
                size = _int_value(fm, value.args[0]) if value.args else None
                if size is None or batch is not None:
                    return None
                batch = size
            elif method not in ("cache", "shuffle", "repeat", "prefetch"):
                return None
            value = value.func.value
        if not isinstance(value, ast.Name):
            return None
        name = value.id
    return None


def _data_statements(fm: FileModel, exprs: list[ast.expr], line: int) -> list[int]:
    """The top-level statements that build the data, or Unbuildable with the hole."""
    names: set[str] = set()
    for e in exprs:
        names |= {n.id for n in ast.walk(e) if isinstance(n, ast.Name)}
    for n in sorted(names):
        if any(isinstance(fm.body[j], (ast.For, ast.While, ast.With, ast.AsyncFor, ast.AsyncWith))
               for j in fm.binders.get(n, [])):
            raise Unbuildable(f"`{n}`, fed to the model on line {line}, is bound by a loop or `with` "
                              "statement, which a confirmation never runs; " + NOT_LITERAL)
        if n not in fm.binders:
            raise Unbuildable(f"`{n}`, fed to the model on line {line}, is not bound at the top level of the "
                              "script (a loop or function variable); " + NOT_LITERAL)
    indices = fm.closure([], names)
    for i in indices:
        node = fm.body[i]
        if isinstance(node, (ast.For, ast.While, ast.With, ast.Try, ast.If)) or (
                not isinstance(node, (ast.Import, ast.ImportFrom)) and skipped_call(node) is not None
                and not isinstance(node, (ast.FunctionDef, ast.ClassDef))):
            bound = sorted(set(names) & {b for b, js in fm.binders.items() if i in js}) or ["the data"]
            why = skipped_call(node) or type(node).__name__.lower()
            raise Unbuildable(f"`{bound[0]}` comes from {why}, line {node.lineno}, which a confirmation never "
                              "runs; " + NOT_LITERAL)
    try:
        no_holes([fm.body[i] for i in indices])
    except Hole as exc:
        raise Unbuildable(f"{exc}; {NOT_LITERAL}") from None
    return indices


def plan(fm: FileModel, diag: Diagnostic) -> tuple[Target, dict[str, Any]]:
    """The model to build and what the worker replays: the data's source, the features and targets
    expressions, the optimizer and the batch size. Unbuildable says why there is nothing to replay."""
    index = fm.top_index_at(diag.line)
    if index is not None and skipped_call(fm.body[index]) is not None:
        raise Unbuildable(f"the data comes from {skipped_call(fm.body[index])}, line {fm.body[index].lineno}, "
                          "which a confirmation never runs; " + NOT_LITERAL)
    if not diag.related:
        raise Unbuildable("the data is read at run time (a dataset with a `ToTensor()`-style pipeline), not "
                          "built in the file; " + NOT_LITERAL)
    line = diag.related[0].span.line
    model, x, y, batch, keras = _use_site(fm, line)
    indices = _data_statements(fm, [x, y], line)
    optimizer = _keras_optimizer(fm, model) if keras else _torch_optimizer(fm, model)
    data = {
        "source": fm.render(indices),
        "features": ast.unparse(x),
        "targets": ast.unparse(y),
        "batch_size": batch,
        "optimizer": optimizer,
        "keras": keras,
        "fed_line": line,
    }
    return Target("script", model), data
