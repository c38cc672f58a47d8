"""Assemble a buildable module from a flagged file without running the file.

The confirmation stage never executes the user's script. From the syntax
tree it keeps only what building one model needs: the flagged class (or the
module-level statements that build a model bound to a name), the top-level
definitions those reach (helper classes and functions, constants, the
imports they use), transitively, and nothing else: training loops, `fit`,
data loading and `if __name__ == "__main__":` blocks are left out. Dropped
statements become blank lines, so line numbers in the assembled source are
the file's own (tracebacks and the per-line checks rely on it).

This module is pure Python (ast + symtable): it runs in the main process and
never imports torch.
"""

from __future__ import annotations

import ast
import os
import symtable
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from initlint.confirm.inputs import forward_def, input_hints
from initlint.confirm.recipe import find_recipe, model_variable
from initlint.confirm.recipe import is_main_guard as _is_main_guard
from initlint.confirm.slices import (
    BUILD_METHODS,
    Hole,
    block_slice,
    call_site_inputs,
    factory_at,
    factory_call,
    fit_inputs,
    graph_call_in_function,
    graph_calls,
    graph_downstream,
    literal_arguments,
    no_holes,
    render_block,
)
from initlint.diagnostics import Diagnostic

PROJECT_SCAN_LIMIT = 300
LOW_LEVEL_TF = "low-level TensorFlow code: TensorFlow graphs are not built by the confirmation stage"
# The origin of constructor arguments the project does not give (see `guessed_arguments`).
GUESSED = "small values inferred from parameter names"
SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist",
                       "site-packages", ".tox", ".nox"})


class Unbuildable(Exception):
    """The module cannot be assembled; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Target:
    """What to build: a class (`kind="class"`), a module-level binding (`kind="script"`)
    or what a factory function returns (`kind="factory"`)."""

    kind: str
    name: str
    line: int = 0  # a "block" target: the flagged line in the script block


@dataclass
class Assembly:
    """Everything the worker needs to build one target."""

    path: str
    source: str
    target: Target
    framework: str  # "torch" | "keras"
    ctor: Optional[str] = None  # constructor call expression (class targets)
    ctor_origin: str = ""
    inputs: Optional[list[Any]] = None  # from configuration
    input_hints: dict[str, dict[str, Any]] = field(default_factory=dict)
    forward_args: Optional[list[str]] = None  # None: no `forward` in the class body
    # The backend a Keras file targets ("tensorflow" for tf.keras and, by Keras' own default, plain
    # keras): the loss-pairing checks run there; "tensorflow" for TF graphs.
    backend: str = "torch"
    tf_ops: bool = False  # a Keras model class written with tf ops: every check runs on TensorFlow
    recipe: Optional[dict[str, Any]] = None  # statements replayed on the built model (recipe.py)
    recipe_origin: str = ""

    def guessed_arguments(self) -> Optional[dict[str, str]]:
        """The class and arguments when the constructor arguments are guesses, not the project's own."""
        if self.target.kind != "class" or not self.ctor_origin.startswith(GUESSED):
            return None
        rest = self.ctor_origin[len(GUESSED):]
        return {"class": self.target.name, "arguments": rest[rest.find("(") + 1 : rest.rfind(")")]}


Stmt = ast.stmt
Def = Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef]


def _stmt_start(node: Stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno] + [d.lineno for d in decorators])


def _bound_names(node: Stmt) -> set[str]:
    """Names a top-level statement binds (for dependency lookup)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Import):
        return {(a.asname or a.name.split(".")[0]) for a in node.names}
    if isinstance(node, ast.ImportFrom):
        return {(a.asname or a.name) for a in node.names if a.name != "*"}
    names: set[str] = set()
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            for sub in ast.walk(t):
                if isinstance(sub, ast.Name):
                    names.add(sub.id)
    elif isinstance(node, (ast.If, ast.Try)) and not _is_main_guard(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                names |= _bound_names(child)
            elif isinstance(child, ast.ExceptHandler):
                for s in child.body:
                    names |= _bound_names(s)
    return names


def _load_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _def_globals(table: symtable.SymbolTable) -> set[str]:
    out = {s.get_name() for s in table.get_symbols() if s.is_global() and s.is_referenced()}
    for child in table.get_children():
        out |= _def_globals(child)
    return out


def _self_aliases(body: list[Stmt]) -> set[str]:
    """Top-level names bound to the module itself (`d2l = sys.modules[__name__]`)."""
    return {
        t.id
        for node in body
        if isinstance(node, ast.Assign) and ast.unparse(node.value).replace(" ", "") == "sys.modules[__name__]"
        for t in node.targets
        if isinstance(t, ast.Name)
    }


class FileModel:
    """The top-level statements of one file with their bindings and free names."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        try:
            self.tree = ast.parse(text, filename=path)
            top = symtable.symtable(text, path, "exec")
        except (SyntaxError, ValueError) as exc:
            raise Unbuildable(f"the file does not parse: {exc}") from None
        self.body: list[Stmt] = list(self.tree.body)
        tables = {(c.get_name(), c.get_lineno()): c for c in top.get_children()}
        self.uses: list[set[str]] = []
        for node in self.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                table = tables.get((node.name, node.lineno))
                names = _def_globals(table) if table is not None else _load_names(node)
                for extra in getattr(node, "decorator_list", []):
                    names |= _load_names(extra)
                if isinstance(node, ast.ClassDef):
                    for base in list(node.bases) + [k.value for k in node.keywords]:
                        names |= _load_names(base)
                else:
                    for default in node.args.defaults + [d for d in node.args.kw_defaults if d]:
                        names |= _load_names(default)
                self.uses.append(names)
            else:
                self.uses.append(_load_names(node))
        aliases = _self_aliases(self.body)
        if aliases:
            # `d2l = sys.modules[__name__]` (d2l's library files): `d2l.Classifier` uses `Classifier`.
            for node, names in zip(self.body, self.uses):
                names |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in aliases}
        self.binders: dict[str, list[int]] = {}
        self.configures: dict[str, list[int]] = {}  # name -> statements that configure it in place
        for i, node in enumerate(self.body):
            for name in _bound_names(node):
                self.binders.setdefault(name, []).append(i)
            configured = _configured_name(node)
            if configured is not None:
                self.configures.setdefault(configured, []).append(i)

    def class_def(self, name: str) -> Optional[ast.ClassDef]:
        for node in self.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                return node
        return None

    def top_index_at(self, line: int) -> Optional[int]:
        for i, node in enumerate(self.body):
            end = getattr(node, "end_lineno", node.lineno) or node.lineno
            if _stmt_start(node) <= line <= end:
                return i
        return None

    def closure(self, roots: list[int], extra_names: set[str] = frozenset()) -> list[int]:  # type: ignore[assignment]
        """Indices of `roots` plus every top-level binding they need, in file order."""
        keep: set[int] = set()
        todo = list(roots)
        pending_names = set(extra_names)
        while todo or pending_names:
            if todo:
                i = todo.pop()
                if i in keep:
                    continue
                keep.add(i)
                pending_names |= self.uses[i]
                for name in _bound_names(self.body[i]):  # `parser = ...` brings its `add_argument` calls
                    todo.extend(self.configures.get(name, []))
            names, pending_names = pending_names, set()
            for name in names:
                for j in self.binders.get(name, []):
                    if j not in keep and not _is_side_effect(self.body[j]):
                        todo.append(j)
        # `from __future__` imports must stay first and are harmless.
        for i, node in enumerate(self.body):
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                keep.add(i)
        return sorted(keep)

    def render(self, indices: list[int], extra: str = "") -> str:
        """The kept statements at their own lines; everything else blank."""
        lines = self.text.splitlines()
        out = [""] * len(lines)
        for i in indices:
            node = self.body[i]
            start = _stmt_start(node)
            end = getattr(node, "end_lineno", node.lineno) or node.lineno
            segment = lines[start - 1 : end]
            if node.col_offset and start == node.lineno:
                # Shares its first line with a dropped statement (`a; b`): keep only this one.
                segment = [lines[start - 1][node.col_offset :]] + segment[1:]
            for k, text in enumerate(segment):
                slot = start - 1 + k
                out[slot] = text if not out[slot] else out[slot] + "; " + text.lstrip()
        text = "\n".join(out) + "\n"
        return text + extra


# Calls that only configure the object they are made on: an argument parser the model's code reads
# (`opt = parser.parse_args()`) needs its `add_argument` calls for the defaults to be there.
CONFIGURING_METHODS = frozenset({"add_argument", "add_argument_group", "add_mutually_exclusive_group", "set_defaults"})


def _configured_name(node: Stmt) -> Optional[str]:
    """`parser.add_argument(...)` or `group = parser.add_argument_group(...)` -> "parser"."""
    call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
        if call.func.attr in CONFIGURING_METHODS:
            return call.func.value.id
    return None


def _is_side_effect(node: Stmt) -> bool:
    """Statements that never enter an assembly through a dependency."""
    return isinstance(node, (ast.Expr, ast.For, ast.While, ast.With, ast.AsyncFor, ast.AsyncWith)) or _is_main_guard(node)


def _call_on(node: ast.AST, name: str) -> Optional[str]:
    """`name.method(...)` -> method."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == name
    ):
        return node.func.attr
    return None


def _script_statements(fm: FileModel, name: str) -> list[int]:
    """Top-level statements that bind `name` or build it (`name.add(...)`, loops of those)."""
    out: list[int] = []
    for i, node in enumerate(fm.body):
        if _is_main_guard(node):
            continue
        if name in _bound_names(node) and isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) or isinstance(node, ast.Expr) and _call_on(node.value, name) in BUILD_METHODS:
            out.append(i)
        elif isinstance(node, (ast.For, ast.While)):
            calls = [c for c in ast.walk(node) if _call_on(c, name) is not None]
            if calls and all(_call_on(c, name) in BUILD_METHODS for c in calls):
                out.append(i)
    return out


def _enclosing_class(fm: FileModel, line: int) -> Optional[str]:
    i = fm.top_index_at(line)
    node = fm.body[i] if i is not None else None
    return node.name if isinstance(node, ast.ClassDef) else None


def _class_initialized_by(fm: FileModel, line: int) -> Optional[str]:
    """The class whose construction recipe calls the top-level function on `line` (`net.apply(init)`)."""
    index = fm.top_index_at(line)
    node = fm.body[index] if index is not None else None
    if not isinstance(node, ast.FunctionDef):
        return None
    for other in fm.body:
        if isinstance(other, ast.ClassDef):
            recipe = find_recipe(fm.tree, other.name)
            if recipe is not None and node.name in recipe.names:
                return other.name
    return None


def _bound_target(fm: FileModel, index: int) -> Optional[str]:
    node = fm.body[index]
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    if isinstance(node, ast.Expr):
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
            return call.func.value.id
    if isinstance(node, (ast.For, ast.While)):
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and isinstance(sub.func.value, ast.Name):
                if sub.func.attr in BUILD_METHODS:
                    return sub.func.value.id
    return None


def _users_of(fm: FileModel, cls: str) -> tuple[Optional[str], Optional[str]]:
    """The class or module-level model that uses `cls` (class first)."""
    for i, node in enumerate(fm.body):
        if isinstance(node, ast.ClassDef) and node.name != cls and cls in fm.uses[i]:
            return ("class", node.name)
    for i, node in enumerate(fm.body):
        if _is_main_guard(node) or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if cls in _load_names(node):
            name = _bound_target(fm, i)
            if name is not None and _script_statements(fm, name):
                return ("script", name)
    return (None, None)


def _keras_model_over(fm: FileModel, index: int) -> Optional[str]:
    """The Keras functional model (`m = Model(inp, out)`) built over a layer application
    (`h = Dense(8)(x)`) at `index`: a symbolic tensor is not a model, the model that uses it is."""
    node = fm.body[index]
    if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Call)):
        return None
    for j in range(index + 1, len(fm.body)):
        later = fm.body[j]
        if not (isinstance(later, ast.Assign) and isinstance(later.value, ast.Call)):
            continue
        func = later.value.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if called == "Model" and index in fm.closure([j]):
            return _bound_target(fm, j)
    return None


def resolve_target(fm: FileModel, diag: Diagnostic, outward: bool = False) -> Target:
    """The model to build for one finding: its subject, else what encloses its line."""
    subject = diag.subject
    if subject is not None and subject.kind == "class" and fm.class_def(subject.name) is not None:
        target = Target("class", subject.name)
    elif subject is not None and subject.kind in ("keras-script", "script") and _script_statements(fm, subject.name):
        target = Target("script", subject.name)
    else:
        cls = _enclosing_class(fm, diag.line) or _class_initialized_by(fm, diag.line)
        factory = factory_at(fm.tree, diag.line) if cls is None else None
        if cls is not None:
            target = Target("class", cls)
        elif factory is not None:
            target = Target("factory", factory.name)
        else:
            index = fm.top_index_at(diag.line)
            name = _bound_target(fm, index) if index is not None else None
            if name is not None:
                assert index is not None
                target = Target("script", _keras_model_over(fm, index) or name)
            else:
                try:
                    found = block_slice(fm.tree, diag.line)
                except Hole as exc:
                    raise Unbuildable(str(exc)) from None
                if found is None:
                    raise Unbuildable(f"no model class or model variable encloses line {diag.line}")
                target = Target("block", found.var, diag.line)
    # A verdict that depends on what follows the flagged layer (rule.Confirm.outward) is
    # judged on the outermost model that uses the flagged class.
    if outward and target.kind == "class":
        seen = {target.name}
        while True:
            kind, name = _users_of(fm, target.name)
            if kind is None or name is None or name in seen:
                break
            seen.add(name)
            target = Target(kind, name)
            if kind == "script":
                break
    return target


def _imports_tensorflow(fm: FileModel, indices: list[int]) -> tuple[bool, bool]:
    """(uses tensorflow, uses only tf.keras) for the kept statements."""
    tf_aliases = set()
    for node in fm.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "tensorflow" or a.name.startswith("tensorflow."):
                    tf_aliases.add(a.asname or a.name.split(".")[0])
    uses_tf = False
    only_keras = True
    for sub in _kept_code(fm, indices):
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id in tf_aliases:
            uses_tf = True
            if sub.attr != "keras":
                only_keras = False
    return uses_tf, only_keras


def _kept_code(fm: FileModel, indices: list[int]) -> Iterator[ast.AST]:
    """Every node of the kept statements but their imports."""
    for i in indices:
        if not isinstance(fm.body[i], (ast.Import, ast.ImportFrom)):
            yield from ast.walk(fm.body[i])


def _framework(fm: FileModel, indices: list[int]) -> str:
    uses_tf, only_keras = _imports_tensorflow(fm, indices)
    if uses_tf and not only_keras:
        return "tf"
    text = "\n".join(ast.unparse(fm.body[i]) for i in indices if isinstance(fm.body[i], (ast.Import, ast.ImportFrom)))
    if uses_tf or "keras" in text:
        return "keras"
    return "torch"


def _uses_keras(fm: FileModel, indices: list[int]) -> bool:
    """Do the kept statements build with Keras (`tf.keras.Sequential`, a `Dense` imported from
    tensorflow.keras), even when they also call tf ops (`activation=tf.nn.softmax`)?"""
    names = {"keras"} | {
        a.asname or a.name
        for node in fm.body
        if isinstance(node, ast.ImportFrom) and "keras" in (node.module or "")
        for a in node.names
    }
    keras = False
    for sub in _kept_code(fm, indices):
        if isinstance(sub, ast.Attribute) and sub.attr in TF1_GRAPH_NAMES:
            return False  # Keras layers inside a TF1 graph: the graph is what gets built
        keras = keras or isinstance(sub, ast.Attribute) and sub.attr == "keras" or isinstance(sub, ast.Name) and sub.id in names
    return keras


TF1_GRAPH_NAMES = frozenset({"placeholder", "Session", "InteractiveSession", "get_variable", "variable_scope"})


def keras_backend(fm: FileModel) -> str:
    """The Keras backend the file targets: the KERAS_BACKEND it sets, else TensorFlow (Keras' default)."""
    for node in ast.walk(fm.tree):
        if isinstance(node, (ast.Assign, ast.Call)):
            consts = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            if "KERAS_BACKEND" in consts:
                for value in consts:
                    if value in ("torch", "jax", "tensorflow", "numpy", "openvino"):
                        return value
    return "tensorflow"


def _ctor_from_literal_call(fm: FileModel, cls: str, cls_index: int) -> Optional[tuple[str, set[str], str, int]]:
    """A literal instantiation of `cls` in this file: (expression, names it needs, origin, line)."""
    for node in ast.walk(fm.tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name != cls or (not node.args and not node.keywords):
            continue
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            continue
        inside_cls = _stmt_start(fm.body[cls_index]) <= node.lineno <= (fm.body[cls_index].end_lineno or 0)
        if inside_cls:
            continue
        names = _load_names(node) - {cls}
        if isinstance(func, ast.Attribute):
            continue
        ok = True
        for n in names:
            binders = fm.binders.get(n, [])
            if not binders or any(_is_side_effect(fm.body[j]) for j in binders) or any(
                isinstance(fm.body[j], (ast.For, ast.While, ast.With)) for j in binders
            ):
                ok = False
        if ok:
            return ast.unparse(node), names, f"the instantiation on line {node.lineno}", node.lineno
    return None


def _literal_call_in_project(project_root: str, path: str, cls: str) -> Optional[tuple[str, str]]:
    """A call `cls(<literals>)` in another file of the project."""
    scanned = 0
    here = os.path.abspath(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    for dirpath, dirnames, filenames in os.walk(project_root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for fn in sorted(filenames):
            if not fn.endswith(".py"):
                continue
            full = os.path.join(dirpath, fn)
            if os.path.abspath(full) == here:
                continue
            scanned += 1
            if scanned > PROJECT_SCAN_LIMIT:
                return None
            try:
                with open(full, encoding="utf-8") as fh:
                    text = fh.read()
            except (OSError, UnicodeDecodeError):
                continue
            if cls + "(" not in text:
                continue
            try:
                tree = ast.parse(text)
            except SyntaxError:
                continue
            if not _imports_class_from(tree, cls, stem):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == cls:
                    literal = literal_arguments(node)
                    if literal is None:
                        continue
                    args, kwargs = literal
                    rel = os.path.relpath(full, project_root)
                    return _call_text(cls, args, kwargs), f"the instantiation at {rel}:{node.lineno}"
    return None


def _imports_class_from(tree: ast.Module, cls: str, stem: str) -> bool:
    """`from <...>.stem import cls` (the same name, from a module named like our file)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == stem:
            if any(a.name == cls and a.asname is None for a in node.names):
                return True
    return False


def _call_text(cls: str, args: list[Any], kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{cls}({', '.join(parts)})"


_SMALL_INTS = (
    ({"layer", "layers", "depth", "block", "blocks", "stack"}, 2),
    ({"head", "heads"}, 2),
    ({"kernel"}, 3),
    ({"stride", "group", "groups", "dilation"}, 1),
    ({"padding"}, 1),
)
_SIZE_TOKENS = {"dim", "size", "feature", "features", "channel", "channels", "hidden", "width", "unit",
                "units", "emb", "embd", "embed", "vocab", "num", "class", "classes", "token", "tokens",
                "len", "length", "in", "out", "input", "output", "hid", "inp", "d", "n", "model", "ids", "nz", "ngf", "ndf", "nc"}
_FLOAT_WORDS = {"dropout": 0.0, "drop": 0.0, "p": 0.0, "eps": 1e-5, "epsilon": 1e-5, "momentum": 0.1}


def _tokens(name: str) -> set[str]:
    """`n_hid` -> {n, hid}; `nhid` -> {nhid, hid}: a leading `n` abbreviates "number of"."""
    out = set()
    for tok in name.split("_"):
        out.add(tok)
        if len(tok) > 2 and tok[0] == "n" and tok[1:] in _SIZE_TOKENS | {"layers", "layer", "head", "heads"}:
            out.add(tok[1:])
        for suffix in ("dim", "size"):  # `zdim`, `hsize`: a one- or two-letter name of the sized thing
            if tok.endswith(suffix) and 0 < len(tok) - len(suffix) <= 2:
                out.add(suffix)
    return out


def _infer_value(arg: ast.arg, channels_last: bool = False) -> tuple[bool, Any]:
    name = arg.arg.lower()
    tokens = _tokens(name)
    if "shape" in tokens and not tokens & {"out", "output"}:  # `input_shape`: an image, in the framework's layout
        return True, (32, 32, 3) if channels_last else (3, 32, 32)
    ann = ast.unparse(arg.annotation) if arg.annotation is not None else ""
    if ann == "bool" or tokens & {"use", "is", "with"} and name.startswith(("use_", "is_", "with_")):
        return True, "bias" in name
    if name == "bias":
        return True, True
    for word, value in _FLOAT_WORDS.items():
        if word in tokens:
            return True, value
    if ann == "float":
        return True, 1.0
    for words, value in _SMALL_INTS:
        if tokens & words:
            return True, value
    if ann == "int" or tokens & _SIZE_TOKENS:
        return True, 16
    return False, None


def _config_object(fm: FileModel, arg: ast.arg) -> Optional[tuple[str, set[str], str]]:
    """`config: GPTConfig` -> a literal instantiation of GPTConfig in the file, else `GPTConfig()`
    when it is a dataclass whose fields all have defaults: (expression, names it needs, origin)."""
    ann = arg.annotation
    name: Optional[str] = None
    if isinstance(ann, ast.Name):
        name = ann.id
    elif isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        name = ann.value  # a string annotation: `config: "GPTConfig"`
    node = fm.class_def(name) if name is not None else None
    if node is None or name is None:
        return None
    index = fm.body.index(node)
    found = _ctor_from_literal_call(fm, name, index)
    if found is not None:
        expr, names, where, _ = found
        return expr, names | {name}, f"{where} for `{arg.arg}`"
    decorated = any("dataclass" in ast.unparse(d) for d in node.decorator_list)
    fields = [s for s in node.body if isinstance(s, ast.AnnAssign)]
    if decorated and all(f.value is not None for f in fields):
        return f"{name}()", {name}, f"the defaults of {name} for `{arg.arg}`"
    return None


def _ctor_from_signature(fm: FileModel, cls_node: ast.ClassDef) -> tuple[str, str, set[str]]:
    """(constructor call, origin, names the call needs) from `__init__`'s parameters."""
    init = next(
        (n for n in cls_node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None
    )
    if init is None:
        return f"{cls_node.name}()", "no constructor arguments (inherited __init__)", set()
    args = init.args
    positional = args.posonlyargs + args.args
    required = positional[1 : len(positional) - len(args.defaults)] if positional else []
    kw_required = [a for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    if not required and not kw_required:
        return f"{cls_node.name}()", "the constructor defaults", set()
    values: dict[str, Any] = {}
    objects: dict[str, str] = {}
    origins: list[str] = []
    names: set[str] = set()
    for a in required + kw_required:
        config = _config_object(fm, a)
        if config is not None:
            objects[a.arg], needs, where = config
            names |= needs
            origins.append(where)
            continue
        ok, value = _infer_value(a, channels_last="keras" in fm.text or "tensorflow" in fm.text)
        if not ok:
            raise Unbuildable(
                f"cannot choose a value for `{a.arg}` of {cls_node.name}.__init__; set it under "
                f"[tool.initlint.confirm.modules.{cls_node.name}] kwargs"
            )
        values[a.arg] = value
    parts = [f"{k}={v!r}" for k, v in values.items()] + [f"{k}={v}" for k, v in objects.items()]
    call = f"{cls_node.name}({', '.join(parts)})"
    if not values:
        return call, ", ".join(origins), names
    inferred = ", ".join(f"{k}={v!r}" for k, v in values.items())
    return call, f"{GUESSED} ({inferred})" + "".join(f", {o}" for o in origins), names


def assemble(fm: FileModel, target: Target, settings_modules: dict[str, dict[str, Any]], project_root: str) -> Assembly:
    """The assembled source and build recipe for `target`, or Unbuildable."""
    block_statements: list[Stmt] = []
    recipe_var: Optional[str] = None  # the script's name for the built model, whose call sites give inputs
    graph: Optional[list[int]] = None  # a TF1 function's graph: the statements that call it
    if target.kind == "class":
        roots = [i for i, n in enumerate(fm.body) if isinstance(n, ast.ClassDef) and n.name == target.name]
        if not roots:
            raise Unbuildable(f"class {target.name} is not defined at the top level of {fm.path}")
        cls_node = fm.body[roots[0]]
        assert isinstance(cls_node, ast.ClassDef)
        config = settings_modules.get(target.name, {})
        extra_names: set[str] = set()
        literal_line: Optional[int] = None
        if "args" in config or "kwargs" in config:
            ctor = _call_text(target.name, list(config.get("args", [])), dict(config.get("kwargs", {})))
            origin = "[tool.initlint.confirm] modules"
        else:
            found = _ctor_from_literal_call(fm, target.name, roots[0])
            if found is not None:
                ctor, extra_names, origin, literal_line = found
            else:
                elsewhere = _literal_call_in_project(project_root, fm.path, target.name)
                if elsewhere is not None:
                    ctor, origin = elsewhere
                else:
                    ctor, origin, needs = _ctor_from_signature(fm, cls_node)
                    extra_names |= needs
        recipe = find_recipe(fm.tree, target.name, literal_line)
        if recipe is not None and recipe.from_file:
            raise Unbuildable(
                f"the weights come from a file ({recipe.from_file}), not from {target.name}'s construction")
        recipe_var = model_variable(fm.tree, target.name, literal_line)
        if recipe is not None:
            extra_names |= recipe.names
        indices = fm.closure(roots, extra_names)
        forward_of: Optional[ast.ClassDef] = cls_node
    elif target.kind == "factory":
        roots = [i for i, n in enumerate(fm.body) if isinstance(n, ast.FunctionDef) and n.name == target.name]
        fn = fm.body[roots[0]] if roots else None
        assert isinstance(fn, ast.FunctionDef)
        config = settings_modules.get(target.name, {})
        graph = graph_calls(fm, target.name) if _framework(fm, fm.closure(roots)) == "tf" else None
        if graph == []:
            inner = graph_call_in_function(fm, target.name)
            if inner is None:
                raise Unbuildable(LOW_LEVEL_TF + f" (no top-level assignment calls {target.name})")
            block_statements = [inner[0]]
            graph = sorted(set(inner[1]) | set(roots))
            origin = f"its call on line {inner[0].lineno}, built on the script's own tensors"
            indices, ctor, forward_of, recipe = graph, None, None, None
        elif graph:  # a TF1 function builds layers where the script calls it: the graph is built there
            indices, ctor, origin, forward_of, recipe = graph, None, "the module-level statements that call it", None, None
        elif "args" in config or "kwargs" in config:
            ctor = _call_text(target.name, list(config.get("args", [])), dict(config.get("kwargs", {})))
            origin, literal_line = "[tool.initlint.confirm] modules", None
        else:
            call = factory_call(fm.tree, fn)
            if call is None:
                raise Unbuildable(f"no call of {target.name} with literal arguments and no defaults; set them under "
                                  f"[tool.initlint.confirm.modules.{target.name}] args")
            ctor, origin, literal_line = call
        if not graph:
            recipe = find_recipe(fm.tree, target.name, literal_line)
            if recipe is not None and recipe.from_file:
                raise Unbuildable(f"the weights come from a file ({recipe.from_file}), not from {target.name}()")
            indices = fm.closure(roots, recipe.names if recipe is not None else set())
            forward_of = None
    elif target.kind == "block":
        try:
            sliced = block_slice(fm.tree, target.line)
        except Hole as exc:
            raise Unbuildable(str(exc)) from None
        if sliced is None:
            raise Unbuildable(f"no statement of the script builds `{target.name}`")
        indices = fm.closure([], sliced.needs)
        block_statements = sliced.statements
        config = settings_modules.get(target.name, {})
        lines = ", ".join(str(s.lineno) for s in sliced.statements)
        ctor, origin, forward_of, recipe = None, f"the script's statements on lines {lines}", None, None
    else:
        statements = _script_statements(fm, target.name)
        if not statements:
            raise Unbuildable(f"no module-level statement builds `{target.name}`")
        config = settings_modules.get(target.name, {})
        ctor, origin, forward_of = None, "the module-level statements that build it", None
        recipe = find_recipe(fm.tree, target.name, var=target.name, top_level=True)
        if recipe is not None and recipe.from_file:
            raise Unbuildable(f"the weights come from a file ({recipe.from_file})")
        if recipe is not None:
            kept = {fm.body[i].lineno for i in statements}
            recipe.statements = [(ln, src) for ln, src in recipe.statements if ln not in kept]
            recipe = recipe if recipe.statements else None
        indices = fm.closure(statements, recipe.names if recipe is not None else set())
        if _framework(fm, indices) == "tf":  # the graph's layers are where the script uses its variables
            indices = graph_downstream(fm, indices)
    if target.kind in ("block", "script") or graph:
        try:
            no_holes([fm.body[i] for i in indices])
        except Hole as exc:
            raise Unbuildable(str(exc)) from None
    framework = _framework(fm, indices)
    backend, tf_ops = "torch", False
    if framework == "tf" and (target.kind == "class" or _uses_keras(fm, indices)):
        framework, backend, tf_ops = "keras", "tensorflow", True  # a Keras model written with tf ops runs only on TensorFlow
    elif framework == "tf":
        backend = "tensorflow"
    elif framework == "keras":
        backend = keras_backend(fm)
    forward = forward_def(forward_of, framework) if forward_of is not None else None
    args, hints = input_hints(forward) if forward is not None else ([], {})
    inputs = config.get("inputs")
    if inputs is None and recipe_var is not None and not origin.startswith(GUESSED):
        inputs = call_site_inputs(fm.tree, recipe_var)
    if inputs is None and target.kind == "script" and framework == "keras":
        inputs = fit_inputs(fm.tree, target.name)
    return Assembly(
        path=fm.path,
        source=render_block(fm.text, fm.render(indices), block_statements),
        target=target,
        framework=framework,
        ctor=ctor,
        ctor_origin=origin,
        inputs=list(inputs) if inputs is not None else None,
        input_hints=hints,
        forward_args=args if forward is not None else None,
        backend=backend,
        tf_ops=tf_ops,
        recipe=recipe.job() if recipe is not None else None,
        recipe_origin=recipe.describe() if recipe is not None else "",
    )
